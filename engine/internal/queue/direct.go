package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A render worker makes the first attempt of the postbacks it renders
// itself, and stores in the work stream only what that attempt leaves to
// do (retries), and the postbacks it does not attempt: those of a paused
// pair, of a pair with queued attempts waiting, of a partner that stopped
// answering, and the rest of a batch that waited a second for slots. The
// event is acked once every postback rendered from it was delivered,
// dead-lettered or stored, so a crash at any point leaves the event to be
// rendered and attempted again (at least once, with the same
// Idempotency-Key), as before. A postback to a partner that keeps up so
// costs one stored message (the event) instead of two, and its pair's
// delivery consumer, which would write its state file ten times a second,
// stays idle.

// stuckAfter is how long a pair may go without a free slot before its
// partner counts as stuck: its render worker then queues what it renders,
// where the pair's delivery worker holds it, instead of waiting. It is far
// above what a fast partner's attempts take on a busy machine (a shorter
// bound queued a healthy partner's postbacks whenever the CPU was
// saturated), and far below an attempt's timeout.
const stuckAfter = time.Second

// pairSlots counts the attempts in flight for one (app, partner) pair:
// the first attempts its render worker makes and the queued ones of its
// delivery worker share the partner's concurrency limit.
type pairSlots struct {
	mu    sync.Mutex
	busy  int
	first int // of busy, first attempts: not in the work stream, counted in Depth
	// waiting counts queued attempts waiting for a slot; firstWaiting,
	// first attempts, which yield to queued ones.
	waiting, firstWaiting int
	// lastFree is when a slot was last free: taken with room to spare,
	// or released.
	lastFree time.Time
	freed    chan struct{} // closed and replaced when a slot frees while someone waits
	// renderMu serializes the pair's deferred renders (handleRender).
	renderMu sync.Mutex
}

func (q *Queue) pairSlots(k Key) *pairSlots {
	if s, ok := q.slots.Load(k); ok {
		return s.(*pairSlots)
	}
	s, _ := q.slots.LoadOrStore(k, &pairSlots{freed: make(chan struct{})})
	return s.(*pairSlots)
}

// acquire takes a slot for a queued attempt, waiting while limit() are
// busy; false when ctx ended first.
func (s *pairSlots) acquire(ctx context.Context, limit func() int) bool {
	s.mu.Lock()
	for s.busy >= limit() {
		ch := s.freed
		s.waiting++
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.waiting--
			s.mu.Unlock()
			return false
		case <-ch:
		}
		s.mu.Lock()
		s.waiting--
	}
	s.take(false)
	s.mu.Unlock()
	return true
}

// acquireFirst takes a slot for a first attempt, waiting while every slot
// is busy. It gives up, so that the postback is queued, when queued
// attempts wait for a slot (the postback joins that backlog rather than
// overtake it), when the pair has had no free slot for stuckAfter, when
// it would wait past deadline (the batch has waited its share: a partner
// slower than its events has its backlog queued, where it counts as
// pending, rather than held back as unrendered events), when paused
// reports the pair paused (also while waiting), and when ctx ends. limit
// is asked again on every try, so a lowered limit holds at once. timer
// times the wait; the caller passes the same one to every call of a
// batch.
func (s *pairSlots) acquireFirst(ctx context.Context, limit func() int, paused func() (<-chan struct{}, bool), deadline time.Time, timer *waitTimer) bool {
	waited := false
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.waiting > 0 {
			return false
		}
		pch, p := paused()
		if p {
			return false
		}
		if s.busy < limit() {
			s.take(true)
			return true
		}
		left := min(stuckAfter-time.Since(s.lastFree), time.Until(deadline))
		if left <= 0 {
			return false
		}
		ch := s.freed
		s.firstWaiting++
		s.mu.Unlock()
		if !waited {
			waited = true
			defer timer.stop()
		}
		ok := true
		select {
		case <-ctx.Done():
			ok = false
		case <-timer.after(left):
		case <-ch:
		case <-pch:
		}
		s.mu.Lock()
		s.firstWaiting--
		if !ok {
			return false
		}
	}
}

// waitTimer is the timer of acquireFirst's waits. A batch at a partner
// whose slots are all busy waits before each of its postbacks; making a
// timer for every wait allocated it and its channel each time, where one
// reset each time allocates nothing. (Since Go 1.23 a reset timer never
// delivers a time from before the reset.)
type waitTimer struct{ t *time.Timer }

// after returns the timer's channel, which fires after d.
func (w *waitTimer) after(d time.Duration) <-chan time.Time {
	if w.t == nil {
		w.t = time.NewTimer(d)
	} else {
		w.t.Reset(d)
	}
	return w.t.C
}

func (w *waitTimer) stop() {
	if w.t != nil {
		w.t.Stop()
	}
}

// take takes a free slot; s.mu is held.
func (s *pairSlots) take(first bool) {
	s.busy++
	if first {
		s.first++
	}
	s.lastFree = time.Now()
}

func (s *pairSlots) release(first bool) {
	s.mu.Lock()
	s.busy--
	if first {
		s.first--
	}
	s.lastFree = time.Now()
	if s.waiting > 0 || s.firstWaiting > 0 {
		close(s.freed)
		s.freed = make(chan struct{})
	}
	s.mu.Unlock()
}

// firstInFlight returns the first attempts in flight per pair, in this
// process.
func (q *Queue) firstInFlight() map[Key]int {
	out := map[Key]int{}
	q.slots.Range(func(k, v any) bool {
		s := v.(*pairSlots)
		s.mu.Lock()
		if s.first > 0 {
			out[k.(Key)] = s.first
		}
		s.mu.Unlock()
		return true
	})
	return out
}

// limit is how many attempts of k may be in flight at once.
func (q *Queue) limit(h Handler, k Key) int {
	if cc, ok := h.(Concurrencer); ok {
		if n := cc.Concurrency(k.App, k.Partner); n > 0 {
			return n
		}
	}
	return q.cfg.Workers
}

// firstAttempts makes the first attempt of jobs, all of pair k, as slots
// free up, and calls done once every job was delivered, dead-lettered or
// stored in the work stream, or storing it failed: unsaved[i] then says
// that jobs[i] may not have been kept (err says why), so the event it was
// rendered from is to be rendered again, and only that one. Jobs
// acquireFirst finds no slot for, or all of them while k is paused, are
// stored without an attempt. It returns once the attempts are under way;
// done runs on another goroutine, tracked by pending.
func (q *Queue) firstAttempts(ctx, hctx context.Context, k Key, h Handler, att *runner, jobs []Job, pending *sync.WaitGroup, done func(unsaved []bool, err error)) {
	type left struct {
		i int
		j Job
	}
	var (
		mu      sync.Mutex
		later   []left // what the attempts leave to the work stream
		running sync.WaitGroup
	)
	slots := q.pairSlots(k)
	limit := func() int { return q.limit(h, k) }
	// A paused pair's postbacks are all queued: its delivery worker
	// holds them until it is resumed. A pause that comes while the batch
	// waits for slots queues what is left of it.
	paused := func() (<-chan struct{}, bool) { return q.ctl.pausedWait(k) }
	// The batch waits for slots for stuckAfter in all: a partner that
	// answers each attempt in time but cannot keep up with its events
	// gets the rest queued, so its backlog shows in the depth (and
	// limits.max_queue_pending) as it did before first attempts, instead
	// of waiting in the event stream.
	deadline := time.Now().Add(stuckAfter)
	var timer waitTimer
	n := 0 // jobs[:n] are attempted
	for ; n < len(jobs); n++ {
		if ctx.Err() != nil || !slots.acquireFirst(ctx, limit, paused, deadline, &timer) {
			break
		}
		running.Add(1)
		i, j := n, jobs[n]
		att.run(func() {
			defer running.Done()
			again, ok := q.firstAttempt(hctx, h, j)
			slots.release(true)
			if ok {
				return
			}
			mu.Lock()
			later = append(later, left{i, again})
			mu.Unlock()
		})
	}
	rest := jobs[n:] // paused, a backlog, stuck, or stopping
	pending.Add(1)
	go func() {
		defer pending.Done()
		var unsaved []bool
		enqueue := func(js []Job, idx func(int) int) error {
			if len(js) == 0 {
				return nil
			}
			// Not hctx: past the drain deadline it is cancelled, and the
			// retries of the attempts it cut short must still be stored,
			// or the whole batch is rendered again on the next start and
			// its delivered postbacks are sent a second time.
			ectx, cancel := context.WithTimeout(context.WithoutCancel(hctx), 30*time.Second)
			defer cancel()
			err := q.Enqueue(ectx, js...)
			if err != nil {
				// Some may be stored: rendering their events again
				// stores them once (same message ids).
				if unsaved == nil {
					unsaved = make([]bool, len(jobs))
				}
				for x := range js {
					unsaved[idx(x)] = true
				}
			}
			return err
		}
		// What got no attempt is queued at once, where the depth counts
		// it and the pair's delivery worker takes it.
		err := enqueue(rest, func(x int) int { return n + x })
		running.Wait()
		again := make([]Job, len(later))
		for x, l := range later {
			again[x] = l.j
		}
		done(unsaved, errors.Join(err, enqueue(again, func(x int) int { return later[x].i })))
	}()
}

// firstAttempt attempts j and settles what it can: it returns false with
// the job to queue when a retry, a delay, or a dead letter that could not
// be stored is left to do.
func (q *Queue) firstAttempt(ctx context.Context, h Handler, j Job) (Job, bool) {
	out := q.call(ctx, h, j, 1)
	switch out.Kind {
	case OutcomeDelivered:
		return Job{}, true
	case OutcomeDelay:
		// Not an attempt: the queued job starts at attempt 1.
		j.NotBefore = time.Now().Add(max(out.After, 0)).UTC()
		return j, false
	case OutcomeDead:
	default:
		if !q.deliveriesSpent(1, &out) {
			j.Attempts = 1
			j.NotBefore = time.Now().Add(max(out.After, 0)).UTC()
			return j, false
		}
	}
	if err := q.buryJob(ctx, j, out, 1); err != nil {
		q.log.Error("queue: storing dead letter failed; queueing the postback instead", "postback_id", j.ID, "err", err)
		j.Attempts = 1
		return j, false
	}
	return Job{}, true
}

// buryJob stores a job that was never queued in the dead letters.
func (q *Queue) buryJob(ctx context.Context, j Job, out Outcome, attempts int) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	dm := q.deadLetter(j, encodeJob(&j), out, attempts)
	// Stable if the same stored event is rendered and attempted again
	// after a crash; another for the same event sent again, whose
	// postback has the same id (and whose earlier dead letter may have
	// been replayed since).
	id := "dead." + j.msgID() + ".first." + strconv.FormatUint(j.EventSeq, 10)
	if _, err := q.js.PublishMsg(pctx, dm, jetstream.WithMsgID(id)); err != nil {
		return err
	}
	q.log.Warn("queue: dead letter", "postback_id", j.ID, "app", j.App, "partner", j.Partner, "attempts", attempts, "reason", out.Reason)
	return nil
}

// deadLetter is the dead-letter message of j, whose stored form is data.
func (q *Queue) deadLetter(j Job, data []byte, out Outcome, attempts int) *nats.Msg {
	dm := &nats.Msg{Subject: q.deadSubject(j.App, j.Partner), Data: data, Header: nats.Header{}}
	dm.Header.Set(hdrReason, out.Reason)
	dm.Header.Set(hdrAttempts, fmt.Sprint(attempts))
	dm.Header.Set(hdrClass, ErrorClass(out.Class, out.StatusCode, out.Reason))
	if out.StatusCode > 0 {
		dm.Header.Set(hdrStatus, fmt.Sprint(out.StatusCode))
	}
	if out.DecidedBy != "" {
		dm.Header.Set(hdrDecidedBy, out.DecidedBy)
	}
	return dm
}

// runner runs functions on goroutines it reuses: the goroutine of an
// attempt has grown its stack through the HTTP client, and a new one per
// attempt paid for that growth every time (runtime.morestack was 2% of
// the gateway's CPU). A goroutine idle for runnerIdle, or once stop is
// called, exits; at most as many run as functions run at once.
type runner struct {
	tasks chan func()
	done  chan struct{}
	wg    sync.WaitGroup
}

const runnerIdle = 30 * time.Second

func newRunner() *runner {
	return &runner{tasks: make(chan func()), done: make(chan struct{})}
}

// run calls f on an idle goroutine, or a new one.
func (r *runner) run(f func()) {
	select {
	case r.tasks <- f:
	default:
		r.wg.Add(1)
		go r.loop(f)
	}
}

func (r *runner) loop(f func()) {
	defer r.wg.Done()
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(runnerIdle)
		select {
		case f = <-r.tasks:
		case <-idle.C:
			return
		case <-r.done:
			return
		}
	}
}

// stop ends the idle goroutines and waits for the busy ones to finish.
func (r *runner) stop() {
	close(r.done)
	r.wg.Wait()
}
