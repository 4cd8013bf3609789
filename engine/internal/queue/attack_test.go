package queue

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedRenderer renders one job per event; its first call blocks until
// gate is closed (or its context ends), the others return at once. Its
// concurrency limit can change while it runs.
type gatedRenderer struct {
	*renderRecorder
	inFlight
	gate  chan struct{}
	first sync.Once
	hold  time.Duration // each later call takes this long
}

func (g *gatedRenderer) Handle(ctx context.Context, j Job, attempt int) Outcome {
	g.enter()
	defer g.leave()
	blocked := false
	g.first.Do(func() { blocked = true })
	if blocked {
		select {
		case <-g.gate:
		case <-ctx.Done():
		}
	} else if g.hold > 0 {
		select {
		case <-time.After(g.hold):
		case <-ctx.Done():
		}
	}
	return g.renderRecorder.Handle(ctx, j, attempt)
}

func waitPaused(t *testing.T, q *Queue, k Key, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, p := q.ctl.pausedWait(k); p == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause of %v never became %v", k, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// holdFirstOfBatch runs a queue whose pair a/p, limited to one attempt at
// a time, has a batch of four events (published before Run) and holds
// the first attempt in flight (the handler records a call when it
// returns, so the held attempt is seen through cur).
func holdFirstOfBatch(t *testing.T) (*Queue, Key, *gatedRenderer) {
	t.Helper()
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	g := &gatedRenderer{renderRecorder: renderWith(func(Job, int) Outcome { return Delivered() }), gate: make(chan struct{})}
	g.limit.Store(1)
	setTopology(t, q, k)
	var evs []Event
	for i := range 4 {
		evs = append(evs, ev("a", fmt.Sprint("e", i)))
	}
	publish(t, q, evs...)
	runQueue(t, q, g)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cur, _, _ := g.counts(); cur == 1 {
			return q, k, g
		}
		if time.Now().After(deadline) {
			t.Fatal("no first attempt started")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A pause that arrives while a batch's first attempts wait for a slot
// stops them: no attempt starts while the pair is paused, and the
// postbacks left are queued, attempted once it is resumed.
func TestFirstAttemptsStopAtPause(t *testing.T) {
	q, k, g := holdFirstOfBatch(t)
	ctx := context.Background()
	if _, err := q.Pause(ctx, k, "maintenance", "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	waitPaused(t, q, k, true)
	close(g.gate) // well within stuckAfter of the slot's taking
	first := g.await(t, 1)
	g.quiet(t, 1500*time.Millisecond) // no attempt while paused
	if _, err := q.Resume(ctx, k, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	rest := g.await(t, 3)
	for _, c := range append(first, rest...) {
		if c.Attempt != 1 {
			t.Errorf("%s: attempt %d, want 1", c.Job.ID, c.Attempt)
		}
	}
	waitDepth(t, q, 0, 0)
}

// The render worker follows the partner's concurrency limit when it is
// lowered while a batch's first attempts are under way (a reload: the
// Concurrencer is asked again): no attempt starts above the new limit.
func TestFirstAttemptsFollowLoweredLimit(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	var changed atomic.Bool
	g := &gatedRenderer{renderRecorder: renderWith(func(Job, int) Outcome { return Delivered() }), gate: make(chan struct{}), hold: 100 * time.Millisecond}
	g.limit.Store(3)
	setTopology(t, q, k)
	var evs []Event
	for i := range 12 {
		evs = append(evs, ev("a", fmt.Sprint("e", i)))
	}
	publish(t, q, evs...)
	h := &startCounter{gatedRenderer: g, changed: &changed}
	runQueue(t, q, h)
	deadline := time.Now().Add(10 * time.Second)
	for h.started.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("3 first attempts never started")
		}
		time.Sleep(2 * time.Millisecond)
	}
	g.limit.Store(1)
	changed.Store(true)
	// The held attempt occupies the only slot of the new limit for 700ms
	// (below stuckAfter): nothing may start meanwhile.
	time.Sleep(700 * time.Millisecond)
	n := h.afterChange.Load()
	close(g.gate)
	g.await(t, 12)
	if n > 0 {
		t.Errorf("%d attempts started while the (lowered) limit of 1 was taken", n)
	}
}

type startCounter struct {
	*gatedRenderer
	started, afterChange atomic.Int64
	changed              *atomic.Bool
}

func (s *startCounter) Handle(ctx context.Context, j Job, attempt int) Outcome {
	s.started.Add(1)
	if s.changed.Load() {
		s.afterChange.Add(1)
	}
	return s.gatedRenderer.Handle(ctx, j, attempt)
}

// A first attempt cut short by the drain deadline leaves a retry: it is
// stored and the event acked, so the next run does not render the event
// again and deliver its other postbacks a second time.
func TestDrainTimeoutStoresFirstAttemptRetries(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.DrainTimeout = 200 * time.Millisecond
	q := openQueue(t, cfg)
	k := Key{"a", "p"}
	two := func(k Key, e Event, _ int) ([]Job, error) {
		a, b := renderedJob(k, e), renderedJob(k, e)
		a.ID, b.ID = e.ID+"-fast", e.ID+"-hung"
		return []Job{a, b}, nil
	}
	r := newRenderRecorder(two)
	hung := make(chan struct{}, 1)
	r.recorder = newRecorder(func(j Job, _ int) Outcome { return Delivered() })
	h := &hangingHandler{renderRecorder: r, hung: hung}
	setTopology(t, q, k)
	stop := runQueue(t, q, h)
	publish(t, q, ev("a", "e1"))
	r.await(t, 1) // the fast one, delivered
	<-hung
	stop()
	// Next run: the hung postback's retry, and nothing else.
	r2 := newRenderRecorder(two)
	runQueue(t, q, r2)
	calls := r2.await(t, 1)
	r2.quiet(t, 2*time.Second)
	if calls[0].Job.ID != "e1-hung" || calls[0].Attempt != 2 {
		t.Errorf("next run: %s attempt %d, want e1-hung attempt 2", calls[0].Job.ID, calls[0].Attempt)
	}
	r2.mu.Lock()
	defer r2.mu.Unlock()
	if n := r2.renders["p/e1"]; n != 0 {
		t.Errorf("the event was rendered %d more times after the drain", n)
	}
}

// hangingHandler's "-hung" postbacks wait for their context and ask for a
// retry.
type hangingHandler struct {
	*renderRecorder
	hung chan struct{}
}

func (h *hangingHandler) Handle(ctx context.Context, j Job, attempt int) Outcome {
	if j.ID[len(j.ID)-5:] == "-hung" {
		h.hung <- struct{}{}
		<-ctx.Done()
		return Retry(time.Second, "cancelled: "+ctx.Err().Error())
	}
	return h.renderRecorder.Handle(ctx, j, attempt)
}

// A handler that panics on a first attempt leaves a retry, queued as
// attempt 2, and the event is acked.
func TestFirstAttemptPanicQueuesRetry(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	var n atomic.Int64
	r := renderWith(func(j Job, attempt int) Outcome {
		if n.Add(1) == 1 {
			panic("boom")
		}
		return Delivered()
	})
	setTopology(t, q, k)
	runQueue(t, q, r)
	publish(t, q, ev("a", "e1"))
	calls := r.await(t, 2)
	if calls[0].Attempt != 1 || calls[1].Attempt != 2 {
		t.Errorf("attempts %d, %d; want 1, 2", calls[0].Attempt, calls[1].Attempt)
	}
	waitDepth(t, q, 0, 0)
	if got := workStored(t, q); got != 1 {
		t.Errorf("work stream stored %d, want 1", got)
	}
}

// A partner that answers every attempt well within stuckAfter, but slower
// than its events come, must still have its backlog counted as pending
// postbacks (adgate_queue_depth, limits.max_queue_pending), as it was
// when every postback was queued: its render worker must not hold the
// backlog back as unrendered events, where neither sees it.
func TestSlowPartnerBacklogCountsAsPending(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	r := renderWith(func(Job, int) Outcome {
		time.Sleep(100 * time.Millisecond)
		return Delivered()
	})
	h := newLimitedRenderer(r, 1)
	close(h.release)
	setTopology(t, q, k)
	runQueue(t, q, h)
	const n = 40 // 4 s of the partner's work
	var evs []Event
	for i := range n {
		e := ev("a", fmt.Sprint("e", i))
		e.Received = time.Now()
		evs = append(evs, e)
	}
	publish(t, q, evs...)
	time.Sleep(2 * time.Second)
	d, err := q.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.recorder.mu.Lock()
	handled := len(r.calls)
	r.recorder.mu.Unlock()
	if left := uint64(n - handled); d.Pending+1 < left {
		t.Errorf("%d postbacks not delivered yet, %d counted pending (events %d)", left, d.Pending, d.Events)
	}
	r.await(t, n)
}

// peakHandler counts the attempts in flight at once; every job's first
// attempt asks for a short retry, so first and queued attempts mix.
type peakHandler struct {
	*renderRecorder
	inFlight
}

func (p *peakHandler) Handle(ctx context.Context, j Job, attempt int) Outcome {
	p.enter()
	time.Sleep(time.Duration(5+len(j.ID)%7) * time.Millisecond)
	p.leave()
	return p.renderRecorder.Handle(ctx, j, attempt)
}

// First and queued attempts together stay within the partner's limit,
// with retries, a backlog queued beforehand and events arriving all along.
func TestFirstAndQueuedAttemptsShareTheLimit(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	var n atomic.Int64
	p := &peakHandler{renderRecorder: renderWith(func(_ Job, attempt int) Outcome {
		if attempt == 1 && n.Add(1)%2 == 0 {
			return Retry(20*time.Millisecond, "HTTP 503")
		}
		return Delivered()
	})}
	p.limit.Store(3)
	setTopology(t, q, k)
	var jobs []Job
	for i := range 30 {
		jobs = append(jobs, job("a", "p", fmt.Sprint("q", i)))
	}
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	runQueue(t, q, p)
	const events = 120
	for i := range events {
		publish(t, q, ev("a", fmt.Sprint("e", i)))
		if i%10 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// 30 queued, 120 first attempts, 15 of the queued and 60 of the
	// first asked for a retry: 75 retries.
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := q.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.renderRecorder.recorder.mu.Lock()
		calls := len(p.calls)
		p.renderRecorder.recorder.mu.Unlock()
		if d.Pending == 0 && calls >= 150 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("depth %+v after %d calls", d, calls)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, peak, over := p.counts(); peak > 3 || over > 0 {
		t.Errorf("peak %d attempts in flight, %d started above the limit of 3", peak, over)
	}
}

// Once Run returns, none of its goroutines is left: the first attempts'
// runner, the render workers and their settling goroutines.
func TestRunLeavesNoGoroutines(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	g := &gatedRenderer{renderRecorder: renderWith(func(Job, int) Outcome { return Retry(time.Second, "HTTP 503") }), gate: make(chan struct{})}
	g.limit.Store(2)
	setTopology(t, q, k)
	stop := runQueue(t, q, g)
	var evs []Event
	for i := range 5 {
		evs = append(evs, ev("a", fmt.Sprint("e", i)))
	}
	publish(t, q, evs...)
	g.await(t, 1) // not the held one
	stop()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := string(buf[:runtime.Stack(buf, true)])
		var left []string
		for _, fn := range []string{"queue.(*runner).loop", "queue.(*Queue).renderWorker", "queue.(*Queue).firstAttempts", "queue.(*Queue).worker", "queue.(*pairSlots).acquireFirst"} {
			if strings.Contains(s, fn) {
				left = append(left, fn)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Run returned: %v still running", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(g.gate)
}

// The dead letter of a postback whose first attempt was made by the
// render worker replays from attempt 1, at once, whether it died on the
// first attempt or after being queued with Attempts and NotBefore.
func TestReplayOfFirstAttemptDeadLetters(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxDeliver = 2
	q := openQueue(t, cfg)
	k := Key{"a", "p"}
	var healed atomic.Bool
	r := renderWith(func(j Job, _ int) Outcome {
		switch {
		case healed.Load():
			return Delivered()
		case j.ID == "e1-p":
			return Dead("HTTP 400")
		default:
			return Retry(50*time.Millisecond, "HTTP 503")
		}
	})
	setTopology(t, q, k)
	runQueue(t, q, r)
	publish(t, q, ev("a", "e1"), ev("a", "e2"))
	r.await(t, 3) // e1 once, e2 twice
	waitDepth(t, q, 0, 2)
	dl, err := q.DeadLetters(context.Background(), ReplayFilter{})
	if err != nil || len(dl) != 2 {
		t.Fatalf("dead letters %+v, %v", dl, err)
	}
	healed.Store(true)
	res, err := q.Replay(context.Background(), ReplayFilter{}, nil)
	if err != nil || res.Replayed != 2 {
		t.Fatalf("replay %+v, %v", res, err)
	}
	for _, c := range r.await(t, 2) {
		if c.Attempt != 1 || c.Job.Attempts != 0 || !c.Job.NotBefore.IsZero() {
			t.Errorf("replayed %s: attempt %d (job attempts %d, not before %v), want 1 at once", c.Job.ID, c.Attempt, c.Job.Attempts, c.Job.NotBefore)
		}
	}
	waitDepth(t, q, 0, 0)
}

// setWorkMaxMsgs limits the work stream's messages (-1: no limit).
func setWorkMaxMsgs(t *testing.T, q *Queue, n int64) {
	t.Helper()
	ctx := context.Background()
	info, err := q.st().work.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	cfg.MaxMsgs = n
	if _, err := q.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// When storing a batch's retries fails, only the events whose postbacks
// were not all settled are rendered again: an event whose postbacks were
// all delivered is acked, not rendered and delivered a second time.
func TestEnqueueFailureRedeliversOnlyUnsettledEvents(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	// The work stream is full: storing any retry fails.
	setWorkMaxMsgs(t, q, 1)
	if _, err := q.js.Publish(context.Background(), q.cfg.Subject+".pb.filler", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var healed atomic.Bool
	r := renderWith(func(j Job, _ int) Outcome {
		if j.ID == "e2-p" && !healed.Load() {
			return Retry(10*time.Millisecond, "HTTP 503")
		}
		return Delivered()
	})
	setTopology(t, q, k)
	publish(t, q, ev("a", "e1"), ev("a", "e2"))
	runQueue(t, q, r)
	r.await(t, 2)
	time.Sleep(2500 * time.Millisecond) // the nak's delay, and a render again
	healed.Store(true)
	setWorkMaxMsgs(t, q, -1)
	// e1-p, delivered at once, is not sent again; done once the events
	// are gone and only the filler is left in the work stream.
	awaitSentOnce(t, q, r, "e1-p", func(d Depth, _ []call) bool { return d.Events == 0 && d.Pending == 1 })
}

// awaitSentOnce waits until done says the queue is where the test wants
// it, failing it if the postback id was sent more than once meanwhile.
func awaitSentOnce(t *testing.T, q *Queue, r *renderRecorder, id string, done func(Depth, []call) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.recorder.mu.Lock()
		calls := slices.Clone(r.calls)
		r.recorder.mu.Unlock()
		sent := 0
		for _, c := range calls {
			if c.Job.ID == id {
				sent++
			}
		}
		if sent > 1 {
			t.Fatalf("%s, delivered at its first attempt, was sent %d times", id, sent)
		}
		d, err := q.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if done(d, calls) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("depth %+v; calls %v", d, ids(calls))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A render worker stopped by SetTopology (a reload leaving the pair to
// another instance) while its first attempts run loses nothing: the
// attempt in flight ends, the rest of its batch is queued and delivered,
// and its events are acked, not rendered again when the pair comes back.
func TestRenderWorkerStoppedMidBatch(t *testing.T) {
	q, k, g := holdFirstOfBatch(t)
	setTopology(t, q) // the pair's consumer is kept: not in Remove
	close(g.gate)
	calls := g.await(t, 4)
	if got := ids(calls); !slices.Equal(got, []string{"e0-p", "e1-p", "e2-p", "e3-p"}) {
		t.Errorf("delivered %v", got)
	}
	waitDepth(t, q, 0, 0)
	setTopology(t, q, k)
	g.quiet(t, 2*time.Second)
	g.renderRecorder.mu.Lock()
	defer g.renderRecorder.mu.Unlock()
	for id, n := range g.renders {
		if n != 1 {
			t.Errorf("%s rendered %d times", id, n)
		}
	}
}

// A postback that dies on its first attempt, is replayed, and dies again
// when its event is sent again (past the event's duplicate window, but
// within the dead letters' since the first one) is dead-lettered again,
// not dropped as a duplicate of the first dead letter.
func TestFirstAttemptDeadLetterOfAResentEventIsKept(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.DuplicateWindow = 1500 * time.Millisecond
	q := openQueue(t, cfg)
	k := Key{"a", "p"}
	var calls atomic.Int64
	r := renderWith(func(Job, int) Outcome {
		switch calls.Add(1) {
		case 1:
			time.Sleep(800 * time.Millisecond) // a slow failure
			return Dead("HTTP 400")
		case 2:
			return Delivered() // the replay
		default:
			return Dead("HTTP 400")
		}
	})
	setTopology(t, q, k)
	runQueue(t, q, r)
	e := ev("a", "e1")
	publish(t, q, e)
	t0 := time.Now()
	r.await(t, 1)
	waitDepth(t, q, 0, 1)
	if res, err := q.Replay(context.Background(), ReplayFilter{}, nil); err != nil || res.Replayed != 1 {
		t.Fatalf("replay %+v, %v", res, err)
	}
	r.await(t, 1)
	waitDepth(t, q, 0, 0)
	// Past the event's duplicate window, within the first dead letter's.
	time.Sleep(time.Until(t0.Add(1600 * time.Millisecond)))
	publish(t, q, e)
	r.await(t, 1)
	waitDepth(t, q, 0, 1)
}

// When storing one partner's retry fails, the event is rendered again for
// that partner only: another partner of the app whose postback was
// delivered at its first attempt is not sent it a second time (with a
// consumer per pair it never was; with one per app, every redelivery of
// the event re-sent every partner's postbacks while the store failed).
func TestEnqueueFailureRedeliversOnlyUnsettledPartners(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ok, failing := Key{"a", "ok"}, Key{"a", "failing"}
	// The work stream is full: storing any retry fails.
	setWorkMaxMsgs(t, q, 1)
	if _, err := q.js.Publish(context.Background(), q.cfg.Subject+".pb.filler", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var healed atomic.Bool
	r := renderWith(func(j Job, _ int) Outcome {
		if j.Partner == failing.Partner && !healed.Load() {
			return Retry(10*time.Millisecond, "HTTP 503")
		}
		return Delivered()
	})
	setTopology(t, q, ok, failing)
	publish(t, q, ev("a", "e1"))
	runQueue(t, q, r)
	r.await(t, 2)
	time.Sleep(2500 * time.Millisecond) // the nak's delay, and a render again
	healed.Store(true)
	setWorkMaxMsgs(t, q, -1)
	// e1-ok, delivered at once, is not sent again; done once the event
	// is gone, only the filler is left and e1-failing was sent.
	awaitSentOnce(t, q, r, "e1-ok", func(d Depth, calls []call) bool {
		return d.Events == 0 && d.Pending == 1 && slices.Contains(ids(calls), "e1-failing") && len(calls) >= 3
	})
}

// hungPartner delivers at once for every partner but "hung", whose
// attempts wait for gate; each call for "fast" records whether a first
// attempt of "hung" was waiting for its slot then.
type hungPartner struct {
	*renderRecorder
	q        *Queue
	gate     chan struct{}
	hungIn   atomic.Int32
	mu       sync.Mutex
	hungWait map[string]bool // fast's postback id -> hung's first attempt waiting
}

func (h *hungPartner) Concurrency(string, string) int { return 1 }

func (h *hungPartner) Handle(ctx context.Context, j Job, attempt int) Outcome {
	if j.Partner == "hung" {
		h.hungIn.Add(1)
		select {
		case <-h.gate:
		case <-ctx.Done():
		}
	} else {
		s := h.q.pairSlots(Key{j.App, "hung"})
		s.mu.Lock()
		waiting := s.firstWaiting > 0
		s.mu.Unlock()
		h.mu.Lock()
		h.hungWait[j.ID] = waiting
		h.mu.Unlock()
	}
	return h.renderRecorder.Handle(ctx, j, attempt)
}

// A partner whose endpoint stops answering holds back none of its app's
// other partners: while a batch's first attempt for it waits for its slot
// (up to stuckAfter), the app's render worker goes on with the next
// events for the others. (It waited, and the app's every partner with
// it, a second per batch while the partner's slots were busy.)
func TestBusyPartnerSlotsHoldBackNoOtherPartner(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	h := &hungPartner{renderRecorder: renderWith(func(Job, int) Outcome { return Delivered() }), q: q,
		gate: make(chan struct{}), hungWait: map[string]bool{}}
	setTopology(t, q, Key{"a", "fast"}, Key{"a", "hung"})
	runQueue(t, q, h)
	publish(t, q, ev("a", "e1"))
	h.await(t, 1) // e1-fast; e1-hung holds hung's one slot
	for deadline := time.Now().Add(10 * time.Second); h.hungIn.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("hung's first attempt never started")
		}
	}
	publish(t, q, ev("a", "e2"))
	h.await(t, 1) // e2-fast; e2-hung waits for the slot
	publish(t, q, ev("a", "e3"))
	h.await(t, 1) // e3-fast
	h.mu.Lock()
	if !h.hungWait["e3-fast"] {
		t.Errorf("e3-fast was sent only once e2-hung stopped waiting for its slot: the app's render worker waited for it")
	}
	h.mu.Unlock()
	close(h.gate)
	h.await(t, 3)
	waitDepth(t, q, 0, 0)
}
