package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// renderWith is a render recorder whose deliveries end as outcome says.
func renderWith(outcome func(Job, int) Outcome) *renderRecorder {
	return &renderRecorder{recorder: newRecorder(outcome), renders: map[string]int{}}
}

// workStored returns how many messages the work stream has ever stored.
func workStored(t *testing.T, q *Queue) uint64 {
	t.Helper()
	info, err := q.st().work.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

func TestFirstAttempts(t *testing.T) {
	k := Key{"a", "p"}
	for _, tc := range []struct {
		name    string
		cfg     func(*Config)
		outcome func(Job, int) Outcome
		// attempts are the attempt numbers the handler sees, in order
		attempts []int
		// stored is what the work stream stores; dead, the dead letters
		stored, dead uint64
		// gap is the least time between the first two calls
		gap time.Duration
	}{
		{name: "delivered, never queued", outcome: func(Job, int) Outcome { return Delivered() },
			attempts: []int{1}},
		{name: "retry queued as attempt 2",
			outcome: func(_ Job, n int) Outcome {
				if n == 1 {
					return Retry(300*time.Millisecond, "HTTP 503")
				}
				return Delivered()
			},
			attempts: []int{1, 2}, stored: 1, gap: 300 * time.Millisecond},
		{name: "a delay is not an attempt",
			outcome: func() func(Job, int) Outcome {
				var once sync.Once
				return func(Job, int) Outcome {
					out := Delivered()
					once.Do(func() { out = Delay(300*time.Millisecond, "rate limited") })
					return out
				}
			}(),
			attempts: []int{1, 1}, stored: 1, gap: 300 * time.Millisecond},
		{name: "dead at once, never queued", outcome: func(Job, int) Outcome { return Dead("HTTP 400") },
			attempts: []int{1}, dead: 1},
		{name: "max deliveries count the first attempt",
			cfg:      func(c *Config) { c.MaxDeliver = 2 },
			outcome:  func(Job, int) Outcome { return Retry(10*time.Millisecond, "HTTP 503") },
			attempts: []int{1, 2}, stored: 1, dead: 1},
		{name: "max deliveries of one: dead after the first",
			cfg:      func(c *Config) { c.MaxDeliver = 1 },
			outcome:  func(Job, int) Outcome { return Retry(10*time.Millisecond, "HTTP 503") },
			attempts: []int{1}, dead: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			q := openQueue(t, cfg)
			h := renderWith(tc.outcome)
			setTopology(t, q, k)
			runQueue(t, q, h)
			publish(t, q, ev("a", "e1"))
			calls := h.await(t, len(tc.attempts))
			h.quiet(t, 300*time.Millisecond)
			for i, c := range calls {
				if c.Attempt != tc.attempts[i] {
					t.Errorf("call %d: attempt %d, want %d", i, c.Attempt, tc.attempts[i])
				}
			}
			if tc.gap > 0 {
				if got := calls[1].At.Sub(calls[0].At); got < tc.gap {
					t.Errorf("second call %v after the first, want at least %v", got, tc.gap)
				}
			}
			waitDepth(t, q, 0, tc.dead)
			if got := workStored(t, q); got != tc.stored {
				t.Errorf("the work stream stored %d messages, want %d", got, tc.stored)
			}
			if tc.dead > 0 {
				dl, err := q.DeadLetters(context.Background(), ReplayFilter{})
				if err != nil || len(dl) != 1 {
					t.Fatalf("dead letters %+v, %v", dl, err)
				}
				if want := len(tc.attempts); dl[0].Attempts != want || dl[0].Job.ID != "e1-p" {
					t.Errorf("dead letter after %d attempts of %s, want %d of e1-p", dl[0].Attempts, dl[0].Job.ID, want)
				}
			}
		})
	}
}

// A paused pair's postbacks are queued without an attempt, and held there
// until it is resumed.
func TestFirstAttemptWaitsForResume(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	ctx := context.Background()
	if _, err := q.Pause(ctx, k, "maintenance", "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	h := renderWith(func(Job, int) Outcome { return Delivered() })
	setTopology(t, q, k)
	runQueue(t, q, h)
	publish(t, q, ev("a", "e1"), ev("a", "e2"))
	waitDepth(t, q, 2, 0)
	h.quiet(t, 300*time.Millisecond)
	if _, err := q.Resume(ctx, k, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.await(t, 2) {
		if c.Attempt != 1 {
			t.Errorf("%s: attempt %d after the pause, want 1", c.Job.ID, c.Attempt)
		}
	}
}

// inFlight counts a handler's calls in progress against its limit,
// which can change while it runs.
type inFlight struct {
	limit     atomic.Int64
	mu        sync.Mutex
	cur, peak int
	overLimit int // calls that started above the limit
}

func (f *inFlight) Concurrency(string, string) int { return int(f.limit.Load()) }

func (f *inFlight) enter() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur++
	f.peak = max(f.peak, f.cur)
	if f.cur > int(f.limit.Load()) {
		f.overLimit++
	}
}

func (f *inFlight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur--
}

// counts returns the calls in progress, the most there were at once, and
// how many started above the limit.
func (f *inFlight) counts() (cur, peak, overLimit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur, f.peak, f.overLimit
}

// limitedRenderer renders one job per event and holds each delivery
// until release is closed.
type limitedRenderer struct {
	*renderRecorder
	inFlight
	release chan struct{}
}

func newLimitedRenderer(r *renderRecorder, limit int) *limitedRenderer {
	l := &limitedRenderer{renderRecorder: r, release: make(chan struct{})}
	l.limit.Store(int64(limit))
	return l
}

func (l *limitedRenderer) Handle(ctx context.Context, j Job, attempt int) Outcome {
	l.enter()
	select {
	case <-l.release:
	case <-ctx.Done():
	}
	l.leave()
	return l.renderRecorder.Handle(ctx, j, attempt)
}

// First attempts and queued ones share the partner's concurrency limit,
// and a partner that stops answering gets the postbacks its slots have no
// room for queued (and counted in the depth) rather than held unrendered.
func TestStuckPartnerQueuesWithinItsLimit(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	k := Key{"a", "p"}
	l := newLimitedRenderer(renderWith(func(Job, int) Outcome { return Delivered() }), 2)
	setTopology(t, q, k)
	runQueue(t, q, l)
	var jobs []Job
	var evs []Event
	for i := range 6 {
		jobs = append(jobs, job("a", "p", fmt.Sprint("q", i)))
		evs = append(evs, ev("a", fmt.Sprint("e", i)))
	}
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	publish(t, q, evs...)
	// 2 in flight, the other 10 queued: after stuckAfter, the render
	// worker stops waiting for a slot.
	d := waitDepth(t, q, 12, 0)
	if d.ByPartner[k] != 12 {
		t.Errorf("depth by partner %v, want 12 for %v", d.ByPartner, k)
	}
	close(l.release)
	l.await(t, 12)
	waitDepth(t, q, 0, 0)
	if _, peak, _ := l.counts(); peak > 2 {
		t.Errorf("%d attempts in flight at once, limit 2", peak)
	}
}
