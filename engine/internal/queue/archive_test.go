package queue

import (
	"context"
	"errors"
	"strings"
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

// Replay hands a rework the dead letter and enqueues what it returns; a
// rework error leaves the dead letter, and a plain replay sends the job as
// it was, forgetting an earlier rerender.
func TestReplayRework(t *testing.T) {
	cfg := testConfig(t.TempDir())
	q := openQueue(t, cfg)
	ctx := context.Background()
	healthy := make(chan struct{})
	r := newRecorder(func(j Job, _ int) Outcome {
		select {
		case <-healthy:
			return Delivered()
		default:
			return Dead("HTTP 404: not retried")
		}
	})
	runQueue(t, q, r)
	a, b := job("a", "p", "j1"), job("a", "p", "j2")
	a.OriginalConfigVersion, b.OriginalConfigVersion = "v0", "v0"
	if err := q.Enqueue(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	r.await(t, 2)
	waitDepth(t, q, 0, 2)
	close(healthy)
	res, err := q.Replay(ctx, ReplayFilter{IDs: []string{"j1", "j2"}}, func(_ context.Context, d DeadLetter) (Job, error) {
		if d.Job.ID == "j2" {
			return Job{}, errors.New("no longer rendered")
		}
		j := d.Job
		j.URL += "&fixed=1"
		j.OriginalConfigVersion = "v1"
		return j, nil
	})
	if err != nil || res.Replayed != 1 || len(res.Failed) != 1 || res.Failed[0].ID != "j2" || res.Failed[0].Error != "no longer rendered" {
		t.Fatalf("Replay = %+v, %v", res, err)
	}
	calls := r.await(t, 1)
	if got := calls[0].Job; got.ID != "j1" || !strings.HasSuffix(got.URL, "&fixed=1") || got.Replays != 1 || got.OriginalConfigVersion != "v1" {
		t.Errorf("replayed job %+v", got)
	}
	waitDepth(t, q, 0, 1)
	if res, err := q.Replay(ctx, ReplayFilter{IDs: []string{"j2"}}, nil); err != nil || res.Replayed != 1 {
		t.Fatalf("plain Replay = %+v, %v", res, err)
	}
	calls = r.await(t, 1)
	if got := calls[0].Job; got.ID != "j2" || got.OriginalConfigVersion != "" {
		t.Errorf("plain replay sent %+v", got)
	}
}
