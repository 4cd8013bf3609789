package deliver

import (
	"context"
	"sync"
	"time"
)

// BreakerState is a circuit breaker's state.
type BreakerState int

// The breaker states.
const (
	BreakerClosed BreakerState = iota
	BreakerOpen
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "closed"
}

// breaker counts attempts to one partner host in fixed windows. When a
// failure brings a window of at least MinRequests attempts to a failure
// ratio of FailureRatio it opens: attempts wait instead of hitting the
// host. After OpenFor it is half-open: probes go through one at a time, at
// most HalfOpenProbes of them spread over an OpenFor. The first that
// succeeds closes the breaker; when all have failed it opens again. So a
// host that fails only part of its requests gets its breaker closed again
// by a success, and a dead one sees HalfOpenProbes requests per OpenFor.
type breaker struct {
	host        string // for logs
	mu          sync.Mutex
	state       BreakerState
	windowStart time.Time
	total, fail int
	openUntil   time.Time
	openedAt    time.Time
	probing     bool
	// failedProbes counts the probes that failed in this half-open
	// period; nextProbe is when the next may start.
	failedProbes int
	nextProbe    time.Time
	// changed is closed and replaced whenever the state changes or a
	// probe ends, waking attempts that wait for the breaker.
	changed chan struct{}
}

func newBreaker(host string) *breaker {
	return &breaker{host: host, changed: make(chan struct{})}
}

func (b *breaker) setState(s BreakerState) {
	if b.state != s {
		b.state = s
		b.notify()
	}
}

// open opens the breaker at now for p.OpenFor; b.mu is held.
func (b *breaker) open(p BreakerPolicy, now time.Time) {
	b.openUntil = now.Add(p.OpenFor)
	if b.state != BreakerOpen {
		b.openedAt = now
	}
	b.setState(BreakerOpen)
}

func (b *breaker) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// acquire asks to send one attempt. ok false means wait: until the time
// returned, or until the change channel fires.
func (b *breaker) acquire(p BreakerPolicy, now time.Time) (ok, probe bool, until time.Time, change <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Disabled {
		return true, false, time.Time{}, nil
	}
	switch b.state {
	case BreakerOpen:
		if now.Before(b.openUntil) {
			return false, false, b.openUntil, b.changed
		}
		b.setState(BreakerHalfOpen)
		b.probing, b.failedProbes, b.nextProbe = false, 0, now
		fallthrough
	case BreakerHalfOpen:
		if b.probing {
			// Until the probe ends (change fires), at most a timeout.
			return false, false, now.Add(p.OpenFor), b.changed
		}
		if now.Before(b.nextProbe) {
			return false, false, b.nextProbe, b.changed
		}
		b.probing = true
		return true, true, time.Time{}, nil
	}
	if now.Sub(b.windowStart) >= p.Window {
		b.windowStart, b.total, b.fail = now, 0, 0
	}
	return true, false, time.Time{}, nil
}

// record reports an attempt's result and the state it moved the breaker
// to, if it did. A probe's result decides the half-open state; in the
// closed state it feeds the window.
func (b *breaker) record(p BreakerPolicy, probe, failed bool, now time.Time) (to BreakerState, changed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Disabled {
		return b.state, false
	}
	from := b.state
	defer func() { to, changed = b.state, b.state != from }()
	if probe {
		b.probing = false
		switch {
		case !failed:
			b.windowStart, b.total, b.fail = now, 0, 0
			b.setState(BreakerClosed)
		case b.failedProbes+1 >= p.HalfOpenProbes:
			b.open(p, now)
		default:
			b.failedProbes++
			b.nextProbe = now.Add(p.OpenFor / time.Duration(p.HalfOpenProbes))
			b.notify()
		}
		return
	}
	if b.state != BreakerClosed {
		return // an attempt started before the breaker opened
	}
	b.total++
	if !failed {
		return // a success never opens it
	}
	b.fail++
	if b.total >= p.MinRequests && float64(b.fail) >= p.FailureRatio*float64(b.total) {
		b.open(p, now)
	}
	return
}

// release gives back a probe slot taken by acquire when the attempt was
// not made (cancelled while waiting for the rate limit).
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.notify() // a waiter may take the slot
	b.mu.Unlock()
}

func (b *breaker) current() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// snapshot is the breaker's state and counts, without its key.
func (b *breaker) snapshot() BreakerStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BreakerStatus{State: b.state, Requests: b.total, Failures: b.fail, WindowStart: b.windowStart, OpenedAt: b.openedAt}
}

// semaphore bounds concurrent attempts; its limit follows the policy.
type semaphore struct {
	mu      sync.Mutex
	inUse   int
	waiting int // acquirers waiting on wake
	wake    chan struct{}
}

func newSemaphore() *semaphore { return &semaphore{wake: make(chan struct{})} }

func (s *semaphore) acquire(ctx context.Context, limit int) error {
	for {
		s.mu.Lock()
		if s.inUse < limit {
			s.inUse++
			s.mu.Unlock()
			return nil
		}
		w := s.wake
		s.waiting++
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			s.mu.Lock()
			if s.wake == w {
				s.waiting-- // not woken: still counted
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-w:
			// release counted us out when it woke us.
		}
	}
}

// release frees a slot. Only when someone waits does it wake them (with a
// new channel for the next waiters): most releases have no waiter, and a
// channel per release was an allocation per postback.
func (s *semaphore) release() {
	s.mu.Lock()
	s.inUse--
	if s.waiting > 0 {
		s.waiting = 0
		close(s.wake)
		s.wake = make(chan struct{})
	}
	s.mu.Unlock()
}

// bucket is a token bucket. wait reserves a token, possibly in the future,
// and sleeps until then, so waiters are served in arrival order.
type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (b *bucket) wait(ctx context.Context, rate float64, burst int) error {
	if rate <= 0 {
		return nil
	}
	b.mu.Lock()
	now := time.Now()
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else {
		b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / rate * float64(time.Second))
	}
	b.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		b.mu.Lock()
		b.tokens++ // the reservation is not used
		b.mu.Unlock()
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
