package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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

// An event stored once reaches every partner of its app, and a partner
// whose render hangs holds back only its own postbacks: after renderStuck
// its app's worker goes on without it and stores the event for it in the
// work stream (a deferred render), where its delivery worker renders it.
// The event leaves the event stream once every partner's share of it is
// settled.
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
	// e1 waits for slow in the work stream, where its delivery worker
	// renders it (and hangs too); the event stream is empty once the
	// archive's mirror has copied both (its consumer settles on the
	// server's own schedule).
	waitDepth(t, q, 1, 0)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := q.Depth(context.Background())
		if err == nil && d.Events == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events kept after every partner's share was settled: %+v (%v), want 0", d, err)
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
	waitDepth(t, q, 0, 0)
	h.mu.Lock()
	defer h.mu.Unlock()
	// slow/e1: the render its app's worker gave up on, then its delivery
	// worker's.
	want := map[string]int{"fast/e1": 1, "fast/e2": 1, "slow/e1": 2}
	if !maps.Equal(h.renders, want) {
		t.Errorf("renders %v, want %v", h.renders, want)
	}
}

// A render that fails is tried again, by the pair's delivery worker; one
// that keeps failing is dropped after MaxDeliver deliveries and reported
// as a loss, and the partner's other events go on.
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
	// The render worker deferred it to the pair's delivery worker, whose
	// deliveries MaxDeliver counts.
	if l := losses[0]; l.Reason != "unrenderable" || l.Stream != "ADGATE_PB" {
		t.Errorf("loss = %+v, want reason unrenderable on ADGATE_PB", l)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.renders["p/broken"]; n != 1+cfg.MaxDeliver {
		t.Errorf("broken rendered %d times, want %d: once by the render worker, then once per delivery", n, 1+cfg.MaxDeliver)
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
		if strings.HasPrefix(n, eventConsumerPrefix) || strings.HasPrefix(n, appConsumerPrefix) {
			names = append(names, n)
		}
	}
	// One consumer for the app, whatever its partners.
	if want := []string{appConsumerName("a")}; !slices.Equal(names, want) {
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
	seen := map[string]string{}
	add := func(n, what string) {
		if prev, ok := seen[n]; ok {
			t.Errorf("%s and %s share consumer %s", prev, what, n)
		}
		seen[n] = what
		if len(n) > 64 {
			t.Errorf("consumer name %s is longer than 64", n)
		}
	}
	for _, k := range []Key{{"a", "b.c"}, {"a.b", "c"}, {"a", "b"}, {"A", "b"}, {"", "x"}, {"x", ""}} {
		add(renderConsumerName(k), fmt.Sprint("pair ", k))
	}
	for _, app := range []string{"a", "a.b", "a_b", "A", "", "x", strings.Repeat("long-app-", 10)} {
		add(appConsumerName(app), "app "+app)
	}
}

// A queue written by an earlier version has a render consumer per pair.
// SetTopology retires those: each renders what it had not rendered up to
// the last event stored then, once, and is deleted; the app's consumer
// renders what comes after. A partner that had no consumer of its own
// renders only the events that come after, as a new pair always did.
func TestPerPairRenderConsumersAreDrainedIntoTheApps(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.ensureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	old := Key{"a", "p"}
	makePerPairConsumer(ctx, t, q, old)
	publish(t, q, ev("a", "e1"), ev("a", "e2"))
	// The stream's last event is another app's: the old consumer never
	// sees it, and is done all the same once it rendered e2.
	other := Key{"b", "q"}
	if _, err := q.appConsumer(ctx, other.App); err != nil {
		t.Fatal(err)
	}
	publish(t, q, ev("b", "x"))

	h := newRenderRecorder(nil)
	setTopology(t, q, old, Key{"a", "new"}, other)
	c, err := q.st().events.Consumer(ctx, renderConsumerName(old))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.Metadata[mdUntil]; got != "3" {
		t.Errorf("retired consumer's %s = %q, want 3 (the last event stored)", mdUntil, got)
	}
	runQueue(t, q, h)
	got := ids(h.await(t, 3))
	if want := []string{"e1-p", "e2-p", "x-q"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	awaitPerPairGone(ctx, t, q, old)
	if d := q.drainsNow(); len(d) != 0 {
		t.Errorf("drains %v after the consumer was deleted", d)
	}
	publish(t, q, ev("a", "e3"))
	got = ids(h.await(t, 2))
	if want := []string{"e3-new", "e3-p"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v after the drain, want %v", got, want)
	}
	h.quiet(t, 300*time.Millisecond)
	// A second start finds nothing to retire.
	setTopology(t, q, old, Key{"a", "new"}, other)
	if d := q.drainsNow(); len(d) != 0 {
		t.Errorf("drains %v on a start after the migration", d)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, n := range h.renders {
		if n != 1 {
			t.Errorf("%s rendered %d times, want 1", k, n)
		}
	}
}

// burnCPU computes for d of the calling thread's CPU time, as a slow
// template does (a render that sleeps or waits for a CPU is not slow).
func burnCPU(d time.Duration) uint64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	x := uint64(1)
	for start := threadCPU(); threadCPU()-start < d; {
		for range 10000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

// makePerPairConsumer makes k's render consumer as the version before
// per-app consumers made it.
func makePerPairConsumer(ctx context.Context, t *testing.T, q *Queue, k Key) {
	t.Helper()
	if _, err := q.st().events.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: renderConsumerName(k), FilterSubject: q.eventSubject(k.App),
		AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy, MaxDeliver: -1,
	}); err != nil {
		t.Fatal(err)
	}
}

// awaitPerPairGone waits until k's per-pair render consumer is drained
// and deleted.
func awaitPerPairGone(ctx context.Context, t *testing.T, q *Queue, k Key) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := q.st().events.Consumer(ctx, renderConsumerName(k))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the per-pair consumer of %s/%s is still there (%v)", k.App, k.Partner, err)
		}
	}
}

// A partner whose templates are slow, in CPU time, has its events
// deferred to its delivery worker for slowFor, so the app's other partner
// keeps up; one whose renders only take long on the clock (waiting, as
// on a busy machine) is not.
func TestSlowPartnerIsDeferred(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow func()
		// stored is what the work stream holds in all at the end.
		stored uint64
	}{
		// After its first render, slow's nine other events go to the
		// work stream as deferred renders, and each queues its postback
		// there.
		{"cpu", func() { _ = burnCPU(slowRender + 5*time.Millisecond) }, 18},
		{"waits", func() { time.Sleep(slowRender + 5*time.Millisecond) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := openQueue(t, testConfig(t.TempDir()))
			h := newRenderRecorder(func(k Key, ev Event, _ int) ([]Job, error) {
				if k.Partner == "slow" {
					tc.slow()
				}
				return []Job{renderedJob(k, ev)}, nil
			})
			setTopology(t, q, Key{"a", "fast"}, Key{"a", "slow"})
			runQueue(t, q, h)
			var evs []Event
			for i := range 10 {
				evs = append(evs, ev("a", fmt.Sprint("e", i)))
			}
			publish(t, q, evs...)
			h.await(t, 20)
			h.quiet(t, 300*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			wi, err := q.st().work.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if wi.State.LastSeq != tc.stored {
				t.Errorf("work stream holds %d messages in all, want %d", wi.State.LastSeq, tc.stored)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			for i := range 10 {
				// Rendered once each: a deferred event is rendered only
				// by the delivery worker.
				for _, p := range []string{"fast", "slow"} {
					if n := h.renders[fmt.Sprint(p, "/e", i)]; n != 1 {
						t.Errorf("%s/e%d rendered %d times, want 1", p, i, n)
					}
				}
			}
		})
	}
}

// A per-pair consumer made again after its drain (an instance of the
// earlier version still running during a rolling upgrade) is retired
// again by the next SetTopology, and drained and deleted again: the
// worker of its first drain has ended, which must not stand for one of
// the second (nothing would ack its events, which interest retention
// then keeps until they expire).
func TestPerPairRenderConsumerMadeAgainIsDrainedAgain(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := q.ensureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	k := Key{"a", "p"}
	makeOld := func() { makePerPairConsumer(ctx, t, q, k) }
	waitGone := func() { awaitPerPairGone(ctx, t, q, k) }
	makeOld()
	publish(t, q, ev("a", "e1"))
	h := newRenderRecorder(nil)
	setTopology(t, q, k)
	runQueue(t, q, h)
	h.await(t, 1)
	waitGone()

	// Made again a while later, as the earlier version's worker does
	// after its backoff (nats-server removes a deleted consumer's files
	// in the background: one made again at once under the same name can
	// lose its own).
	time.Sleep(time.Second)
	makeOld()
	publish(t, q, ev("a", "e2"))
	h.await(t, 1)        // by the app's consumer
	setTopology(t, q, k) // a reload
	waitGone()
	// The server removes an event once every consumer acked it (the
	// app's ack, the archive mirror's copy) on its own schedule: without
	// the drain, e2 would stay until it expires.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d, err := q.Depth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Events == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events left in the event stream, want 0", d.Events)
		}
	}
}

// A rolling config change: instances sharing a queue run two configs for
// a while, and share each app's render consumer. The instance on the
// older config (v1) renders the events the newer one (v2) planned for its
// own partners and hands the share of a partner it does not have over to
// the instances that render it; a partner an event of an older config
// (v0) was planned for, which its own config disabled since, is dropped
// as a reload drops it; an event of a config it does not know hands its
// unknown partner over too, and the hand-over waits for an instance that
// renders that pair. The old instance leaves the partner's postbacks
// waiting for their next attempt to the new instances too.
func TestRollingChangeHandsPartnersOver(t *testing.T) {
	cfg := sharedConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oldQ, newQ := openQueue(t, cfg), openQueue(t, cfg)
	if err := oldQ.registerConfig(ctx, "v0", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := oldQ.SetTopology(ctx, Topology{Partners: []Key{{"a", "p1"}}, Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	if err := newQ.SetTopology(ctx, Topology{Partners: []Key{{"a", "p1"}, {"a", "p2"}}, Version: "v2"}); err != nil {
		t.Fatal(err)
	}
	hOld := newRenderRecorder(nil)
	runQueue(t, oldQ, hOld)
	planned := func(id, version string, partners ...string) Event {
		e := ev("a", id)
		e.ConfigVersion, e.Partners = version, partners
		return e
	}
	publish(t, newQ, planned("e1", "v2", "p1", "p2"), planned("e2", "v1", "p1"), planned("e3", "v0", "p1", "p3"), planned("e4", "v9", "p1", "p4"))
	// A postback of p2 waiting for its next attempt is not the old
	// instance's either: it would dead-letter it as not enabled.
	if err := newQ.Enqueue(ctx, job("a", "p2", "retry-p2")); err != nil {
		t.Fatal(err)
	}

	if got, want := ids(hOld.await(t, 4)), []string{"e1-p1", "e2-p1", "e3-p1", "e4-p1"}; !slices.Equal(got, want) {
		t.Fatalf("old instance delivered %v, want %v", got, want)
	}
	hOld.quiet(t, 300*time.Millisecond)
	hOld.mu.Lock()
	if want := map[string]int{"p1/e1": 1, "p1/e2": 1, "p1/e3": 1, "p1/e4": 1}; !maps.Equal(hOld.renders, want) {
		t.Errorf("old instance rendered %v, want %v", hOld.renders, want)
	}
	hOld.mu.Unlock()
	d := waitDepth(t, oldQ, 3, 0)
	if want := map[Key]uint64{{"a", "p2"}: 2, {"a", "p4"}: 1}; !maps.Equal(d.ByPartner, want) {
		t.Fatalf("handed over %v, want %v", d.ByPartner, want)
	}

	hNew := newRenderRecorder(nil)
	runQueue(t, newQ, hNew)
	if got, want := ids(hNew.await(t, 2)), []string{"e1-p2", "retry-p2"}; !slices.Equal(got, want) {
		t.Fatalf("new instance delivered %v, want %v", got, want)
	}
	hNew.quiet(t, 500*time.Millisecond)
	if d := waitDepth(t, newQ, 1, 0); d.ByPartner[Key{"a", "p4"}] != 1 {
		t.Fatalf("depth %+v: want e4's share for a/p4 waiting", d)
	}
	// An instance whose config renders a/p4 takes it.
	if err := newQ.SetTopology(ctx, Topology{Partners: []Key{{"a", "p1"}, {"a", "p2"}, {"a", "p4"}}, Version: "v3"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(hNew.await(t, 1)); !slices.Equal(got, []string{"e4-p4"}) {
		t.Fatalf("after the reload, delivered %v, want [e4-p4]", got)
	}
	waitDepth(t, newQ, 0, 0)
}

// Which config wins when an instance lacks a partner an event was planned
// for.
func TestLeaveToOthers(t *testing.T) {
	q := &Queue{ctl: newControls()}
	q.ctl.setVersion("old", 3)
	q.ctl.setVersion("mine", 5)
	q.ctl.setVersion("new", 8)
	// A later record of a version keeps its first revision.
	q.ctl.setVersion("old", 13)
	for _, tc := range []struct {
		ev, own string
		want    bool
	}{
		{"new", "mine", true},       // the change has not reached this instance yet
		{"old", "mine", false},      // this instance's config disabled the partner since
		{"mine", "mine", false},     // the same config: nothing to leave
		{"", "mine", false},         // an event stored by an earlier version
		{"unknown", "mine", true},   // not known here (yet): nothing is lost
		{"old", "", true},           // this instance's own version unknown
		{"old", "unrecorded", true}, // nor recorded
	} {
		if got := q.leaveToOthers(tc.ev, tc.own); got != tc.want {
			t.Errorf("leaveToOthers(%q, %q) = %v, want %v", tc.ev, tc.own, got, tc.want)
		}
	}
}

// The partners remembered for events given back are forgotten once the
// memory is full and they are old: an event another instance took is
// never settled here.
func TestSettledSharesAreBounded(t *testing.T) {
	var src renderSource
	src.setSettled(1, []string{"p"})
	old := time.Now().Add(-2 * settledAge)
	for seq := uint64(2); seq <= settledKeep; seq++ {
		src.settled[seq] = settledShare{[]string{"p"}, old}
	}
	src.setSettled(settledKeep+1, []string{"q"})
	if n := len(src.settled); n != 2 {
		t.Errorf("%d entries after pruning, want 2 (the recent ones)", n)
	}
	if got := src.settledFor(1); !slices.Equal(got, []string{"p"}) {
		t.Errorf("recent entry lost: %v", got)
	}
	if got := src.settledFor(settledKeep + 1); !slices.Equal(got, []string{"q"}) {
		t.Errorf("new entry: %v", got)
	}
	src.setSettled(1, nil)
	if got := src.settledFor(1); got != nil {
		t.Errorf("settled event still remembered: %v", got)
	}
}

// An instance whose reload leaves a pair to others (a rollback while
// another instance still runs the newer config that has the partner)
// stops taking that pair's queued postbacks and hand-overs, also from the
// workers it started before the reload: it would dead-letter the
// postbacks as not enabled and drop the hand-overs unrendered.
func TestReloadAwayLeavesRunningPairWorkers(t *testing.T) {
	cfg := sharedConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rolledBack, newer := openQueue(t, cfg), openQueue(t, cfg)
	if err := rolledBack.registerConfig(ctx, "v1", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	both := []Key{{"a", "p1"}, {"a", "p2"}}
	if err := rolledBack.SetTopology(ctx, Topology{Partners: both, Version: "v2"}); err != nil {
		t.Fatal(err)
	}
	handOver := func(q *Queue, id string, seq uint64) {
		t.Helper()
		e := ev("a", id)
		e.Seq, e.ConfigVersion, e.Partners = seq, "v2", []string{"p1", "p2"}
		if _, err := q.deferRender(ctx, []deferredRender{{k: Key{"a", "p2"}, ev: e, handover: true}}); err != nil {
			t.Fatal(err)
		}
	}
	// Its workers of a/p2 and of a/p2's hand-overs are running.
	h := newRenderRecorder(nil)
	runQueue(t, rolledBack, h)
	if err := rolledBack.Enqueue(ctx, job("a", "p2", "before-p2")); err != nil {
		t.Fatal(err)
	}
	handOver(rolledBack, "e0", 1000)
	if got, want := ids(h.await(t, 2)), []string{"before-p2", "e0-p2"}; !slices.Equal(got, want) {
		t.Fatalf("before the rollback, delivered %v, want %v", got, want)
	}

	// Rolled back to v1, which went live before v2 and lacks a/p2.
	if err := rolledBack.SetTopology(ctx, Topology{Partners: both[:1], Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	if err := rolledBack.Enqueue(ctx, job("a", "p2", "after-p2")); err != nil {
		t.Fatal(err)
	}
	handOver(rolledBack, "e1", 1001)
	h.quiet(t, 2*time.Second)
	h.mu.Lock()
	if n := h.renders["p2/e1"]; n != 0 {
		t.Errorf("the rolled-back instance rendered e1 for a/p2 %d times", n)
	}
	h.mu.Unlock()

	// The instance still on v2 takes both.
	if err := newer.SetTopology(ctx, Topology{Partners: both, Version: "v2"}); err != nil {
		t.Fatal(err)
	}
	hNew := newRenderRecorder(nil)
	runQueue(t, newer, hNew)
	if got, want := ids(hNew.await(t, 2)), []string{"after-p2", "e1-p2"}; !slices.Equal(got, want) {
		t.Fatalf("the instance on v2 delivered %v, want %v", got, want)
	}
	waitDepth(t, newer, 0, 0)
}

// Which config went live first is the order in which the instances
// recorded them, not their clocks: an instance whose clock is ahead that
// records the older version must not make it look newer, or the instances
// on it would drop the newer version's partners instead of handing them
// over. Told by the recording instance and by one that reads the records.
func TestConfigOrderIgnoresClocks(t *testing.T) {
	cfg := sharedConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recorder := openQueue(t, cfg)
	now := time.Now()
	// Recorded first by a clock ten minutes ahead, then v2 by a right one.
	if err := recorder.registerConfig(ctx, "v1", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := recorder.registerConfig(ctx, "v2", now); err != nil {
		t.Fatal(err)
	}
	reader := openQueue(t, cfg)
	for _, q := range []struct {
		name string
		q    *Queue
	}{{"recorder", recorder}, {"reader", reader}} {
		for _, tc := range []struct {
			ev, own string
			want    bool
		}{
			{"v2", "v1", true},  // v1's instance hands v2's partners over
			{"v1", "v2", false}, // v2's drops what it disabled
		} {
			if got := q.q.leaveToOthers(tc.ev, tc.own); got != tc.want {
				t.Errorf("%s: leaveToOthers(%q, %q) = %v, want %v", q.name, tc.ev, tc.own, got, tc.want)
			}
		}
		if !q.q.ctl.newerThan("v1") || q.q.ctl.newerThan("v2") {
			t.Errorf("%s: newerThan(v1) = %v, newerThan(v2) = %v, want true, false", q.name, q.q.ctl.newerThan("v1"), q.q.ctl.newerThan("v2"))
		}
	}
}

// An operator deletes the record of a version no instance runs any more
// (an abandoned canary): every instance forgets it, so one on the older
// config is no longer superseded and dead-letters the pairs it lacks
// again; running that version again records it anew, as the newest.
func TestForgottenConfigVersion(t *testing.T) {
	cfg := sharedConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	canary, q := openQueue(t, cfg), openQueue(t, cfg)
	if err := q.SetTopology(ctx, Topology{Partners: []Key{{"a", "p1"}}, Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	if err := canary.SetTopology(ctx, Topology{Partners: []Key{{"a", "p1"}, {"a", "p2"}}, Version: "v2"}); err != nil {
		t.Fatal(err)
	}
	runQueue(t, q, newRecorder(func(Job, int) Outcome { return Delivered() }))
	await := func(what string, want bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); q.superseded() != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: superseded() = %v, want %v", what, !want, want)
			}
		}
	}
	await("after the canary went live", true)
	if err := canary.st().control.Delete(ctx, configKey("v2")); err != nil {
		t.Fatal(err)
	}
	await("after its record was deleted", false)
	if err := canary.SetTopology(ctx, Topology{Partners: []Key{{"a", "p1"}, {"a", "p2"}}, Version: "v2"}); err != nil {
		t.Fatal(err)
	}
	await("after it went live again", true)
}

// Storing a hand-over wakes no discovery on the instance that stores it:
// the pair is not its own, so discovery would only list the subjects and
// start nothing, once per batch through a whole rolling change. A
// deferred render of its own pair does.
func TestHandOverWakesNoDiscovery(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx := context.Background()
	e := ev("a", "e1")
	e.Seq = 1
	if _, err := q.deferRender(ctx, []deferredRender{{k: Key{"a", "p2"}, ev: e, handover: true}}); err != nil {
		t.Fatal(err)
	}
	if n := len(q.kick); n != 0 {
		t.Errorf("a hand-over woke discovery (%d)", n)
	}
	if _, err := q.deferRender(ctx, []deferredRender{{k: Key{"a", "p1"}, ev: e}}); err != nil {
		t.Fatal(err)
	}
	if n := len(q.kick); n != 1 {
		t.Errorf("a deferred render of a new subject did not wake discovery (%d)", n)
	}
}
