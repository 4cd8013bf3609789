package queue

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Events rendered and gone from the event stream stay in the archive at
// the sequence their render saw, which is what a job records.
func TestArchiveKeepsRenderedEvents(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	seqs := make(chan Event, 8)
	h := newRenderRecorder(func(k Key, ev Event, _ int) ([]Job, error) {
		seqs <- ev
		return []Job{renderedJob(k, ev)}, nil
	})
	setTopology(t, q, Key{App: "a", Partner: "p"})
	runQueue(t, q, h)
	// An event of another app, which no partner renders, shifts the
	// sequences: the archive must keep them aligned anyway.
	publish(t, q, ev("other", "x0"), ev("a", "e1"), ev("a", "e2"))
	h.await(t, 2)
	got := map[string]Event{}
	for range 2 {
		e := <-seqs
		got[e.ID] = e
	}
	// Rendered by every consumer: the event stream lets them go.
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := q.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d.Events == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events still in the event stream: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx := context.Background()
	for _, id := range []string{"e1", "e2"} {
		want := got[id]
		var a Event
		var err error
		// The mirror copies asynchronously: poll.
		for end := time.Now().Add(20 * time.Second); ; {
			a, err = q.ArchivedEvent(ctx, "a", id, want.Seq)
			if err == nil || time.Now().After(end) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("ArchivedEvent(%s, %d): %v", id, want.Seq, err)
		}
		if string(a.Raw) != string(want.Raw) || !a.Received.Equal(want.Received) || a.Seq != want.Seq {
			t.Errorf("archived %+v, rendered %+v", a, want)
		}
	}
	tests := []struct {
		name string
		app  string
		id   string
		seq  uint64
	}{
		{"no sequence", "a", "e1", 0},
		{"another event at the sequence", "a", "e2", got["e1"].Seq},
		{"another app", "other", "e1", got["e1"].Seq},
		{"past the end", "a", "e9", 1 << 30},
	}
	for _, tc := range tests {
		if _, err := q.ArchivedEvent(ctx, tc.app, tc.id, tc.seq); !errors.Is(err, ErrNotArchived) {
			t.Errorf("%s: err %v, want ErrNotArchived", tc.name, err)
		}
	}
}
