package queue

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// renderRecorder renders one job per event and partner, and delivers by
// recording; render decides per (partner, event) what Render does.
type renderRecorder struct {
	*recorder
	mu      sync.Mutex
	renders map[string]int // partner/event -> calls
	render  func(k Key, ev Event, n int) ([]Job, error)
}

func (r *renderRecorder) Render(_ context.Context, k Key, ev Event) ([]Job, error) {
	r.mu.Lock()
	r.renders[k.Partner+"/"+ev.ID]++
	n := r.renders[k.Partner+"/"+ev.ID]
	r.mu.Unlock()
	if r.render != nil {
		return r.render(k, ev, n)
	}
	return []Job{renderedJob(k, ev)}, nil
}

func renderedJob(k Key, ev Event) Job {
	j := job(k.App, k.Partner, ev.ID+"-"+k.Partner)
	j.EventID, j.EnqueuedAt = ev.ID, ev.Received
	return j
}

func newRenderRecorder(render func(Key, Event, int) ([]Job, error)) *renderRecorder {
	return &renderRecorder{recorder: newRecorder(func(Job, int) Outcome { return Delivered() }), renders: map[string]int{}, render: render}
}

func setTopology(t *testing.T, q *Queue, keys ...Key) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.SetTopology(ctx, Topology{Partners: keys}); err != nil {
		t.Fatalf("SetTopology: %v", err)
	}
}

func publish(t *testing.T, q *Queue, evs ...Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Publish(ctx, evs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func ev(app, id string) Event {
	return Event{App: app, ID: id, Received: time.Unix(1767222000, 0).UTC(), Raw: []byte(`{"name":"INSTALL"}`)}
}

func ids(calls []call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Job.ID)
	}
	slices.Sort(out)
	return out
}

// An event stored once reaches every partner of its app, each partner's
// render holds back only its own postbacks, and the event leaves the
// stream once all of them rendered it.
func TestEventFanOutIsolatesPartners(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	release := make(chan struct{})
	h := newRenderRecorder(func(k Key, ev Event, _ int) ([]Job, error) {
		if k.Partner == "slow" {
			<-release
		}
		return []Job{renderedJob(k, ev)}, nil
	})
	setTopology(t, q, Key{"a", "fast"}, Key{"a", "slow"}, Key{"b", "fast"})
	runQueue(t, q, h)
	// Sent twice: stored and rendered once.
	publish(t, q, ev("a", "e1"), ev("b", "e2"), ev("a", "e1"))

	got := ids(h.await(t, 2))
	if want := []string{"e1-fast", "e2-fast"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v while slow renders, want %v", got, want)
	}
	waitDepth(t, q, 0, 0)
	// e2 goes once the archive's mirror has copied it too (its consumer
	// settles on the server's own schedule); e1 stays for slow.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := q.Depth(context.Background())
		if err == nil && d.Events == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events kept while one partner has not rendered: %+v (%v), want 1", d, err)
		}
	}
	close(release)
	h.await(t, 1)
	h.quiet(t, 300*time.Millisecond)
	h.recorder.mu.Lock()
	all := ids(h.calls)
	h.recorder.mu.Unlock()
	if got, want := all, []string{"e1-fast", "e1-slow", "e2-fast"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := q.Depth(context.Background())
		if err == nil && d.Events == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events still stored after every partner rendered them: %+v (%v)", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, n := range h.renders {
		if n != 1 {
			t.Errorf("%s rendered %d times, want 1", k, n)
		}
	}
}

// A render that fails is tried again; one that keeps failing is dropped
// after MaxDeliver deliveries and reported as a loss, and the partner's
// other events go on.
func TestRenderErrorRetriesThenDrops(t *testing.T) {
	cfg := testConfig(t.TempDir())
	var (
		mu     sync.Mutex
		losses []Loss
	)
	cfg.OnLoss = func(l Loss) {
		mu.Lock()
		losses = append(losses, l)
		mu.Unlock()
	}
	cfg.MaxDeliver = 2
	q := openQueue(t, cfg)
	h := newRenderRecorder(func(k Key, ev Event, n int) ([]Job, error) {
		switch {
		case ev.ID == "flaky" && n == 1:
			return nil, errors.New("not yet")
		case ev.ID == "broken":
			return nil, errors.New("never")
		}
		return []Job{renderedJob(k, ev)}, nil
	})
	setTopology(t, q, Key{"a", "p"})
	runQueue(t, q, h)
	publish(t, q, ev("a", "flaky"), ev("a", "broken"), ev("a", "ok"))
	got := ids(h.await(t, 2))
	if want := []string{"flaky-p", "ok-p"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(losses)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an event that never renders was not reported as lost")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if l := losses[0]; l.Reason != "unrenderable" || l.Stream != "ADGATE_EV" {
		t.Errorf("loss = %+v, want reason unrenderable on ADGATE_EV", l)
	}
}

// SetTopology removes the consumers of the pairs it is told to remove, and
// the workers of pairs it no longer lists stop rendering; a consumer it is
// not told about is kept.
func TestSetTopologyAddsAndRemovesPartners(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	h := newRenderRecorder(nil)
	setTopology(t, q, Key{"a", "p1"}, Key{"a", "p2"}, Key{"a", "other"})
	runQueue(t, q, h)
	publish(t, q, ev("a", "e1"))
	h.await(t, 3)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.SetTopology(ctx, Topology{Partners: []Key{{"a", "p1"}, {"a", "p3"}}, Remove: []Key{{"a", "p2"}}}); err != nil {
		t.Fatal(err)
	}
	var names []string
	lister := q.st().events.ConsumerNames(ctx)
	for n := range lister.Name() {
		// The archive's mirror reads the stream too.
		if strings.HasPrefix(n, eventConsumerPrefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	want := []string{renderConsumerName(Key{"a", "p1"}), renderConsumerName(Key{"a", "p3"}), renderConsumerName(Key{"a", "other"})}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("consumers %v, want %v", names, want)
	}
	publish(t, q, ev("a", "e2"))
	// Delivery is at least once: on a loaded machine an ack can be late
	// and a postback come twice, so the test compares the postbacks
	// delivered, not the number of calls.
	delivered := func() []string {
		h.recorder.mu.Lock()
		defer h.recorder.mu.Unlock()
		return slices.Compact(ids(h.calls))
	}
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Contains(delivered(), "e2-p1") || !slices.Contains(delivered(), "e2-p3") {
		if time.Now().After(deadline) {
			t.Fatalf("e2 not delivered to p1 and p3: %v", delivered())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Long enough for a removed or unlisted pair's worker to have
	// rendered e2 if it still ran.
	time.Sleep(300 * time.Millisecond)
	if got, want := delivered(), []string{"e1-other", "e1-p1", "e1-p2", "e2-p1", "e2-p3"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

func TestRenderConsumerNamesAreDistinct(t *testing.T) {
	seen := map[string]Key{}
	for _, k := range []Key{{"a", "b.c"}, {"a.b", "c"}, {"a", "b"}, {"A", "b"}, {"", "x"}, {"x", ""}} {
		n := renderConsumerName(k)
		if prev, ok := seen[n]; ok {
			t.Errorf("%v and %v share consumer %s", prev, k, n)
		}
		seen[n] = k
		if len(n) > 64 {
			t.Errorf("consumer name %s is longer than 64", n)
		}
	}
}
