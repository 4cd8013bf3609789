package queue

import (
	"context"
	"testing"
	"time"
)

// TestAcquireFirstReusedTimer: one timer serves a batch's waits. A wait a
// freed slot ended, or one that timed out, leaves nothing behind that
// ends the next wait early, and every wait still ends at its deadline.
func TestAcquireFirstReusedTimer(t *testing.T) {
	notPaused := func() (<-chan struct{}, bool) { return nil, false }
	one := func() int { return 1 }
	ctx := context.Background()
	s := &pairSlots{freed: make(chan struct{})}
	var timer waitTimer
	if !s.acquireFirst(ctx, one, notPaused, time.Now().Add(time.Minute), &timer) {
		t.Fatal("a free slot was refused")
	}
	tests := []struct {
		name      string
		releaseIn time.Duration // 0: nothing frees the slot
		wait      time.Duration // until the batch's deadline
		want      bool
	}{
		{"freed", 20 * time.Millisecond, time.Minute, true},
		{"times out after a freed wait", 0, 60 * time.Millisecond, false},
		{"times out after a timed-out wait", 0, 60 * time.Millisecond, false},
		{"freed after a timed-out wait", 20 * time.Millisecond, time.Minute, true},
		{"times out again", 0, 60 * time.Millisecond, false},
	}
	for _, tt := range tests {
		if tt.releaseIn > 0 {
			time.AfterFunc(tt.releaseIn, func() { s.release(true) })
		}
		start := time.Now()
		got := s.acquireFirst(ctx, one, notPaused, start.Add(tt.wait), &timer)
		took := time.Since(start)
		if got != tt.want {
			t.Fatalf("%s: acquireFirst = %v after %s, want %v", tt.name, got, took, tt.want)
		}
		end := tt.releaseIn // what ends the wait: the release, or the deadline
		if end == 0 {
			end = tt.wait
		}
		if took < end {
			t.Errorf("%s: the wait ended after %s, before anything ended it", tt.name, took)
		}
	}
}

// BenchmarkAcquireFirstWait is a first attempt that waits for its
// pair's one slot, freed by another goroutine (under GOMAXPROCS=1 it
// runs once acquireFirst waits), with the timer a batch shares.
func BenchmarkAcquireFirstWait(b *testing.B) {
	notPaused := func() (<-chan struct{}, bool) { return nil, false }
	one := func() int { return 1 }
	ctx := context.Background()
	s := &pairSlots{freed: make(chan struct{})}
	var timer waitTimer
	deadline := time.Now().Add(time.Hour)
	s.mu.Lock()
	s.take(true)
	s.mu.Unlock()
	b.ReportAllocs()
	for b.Loop() {
		go s.release(true)
		if !s.acquireFirst(ctx, one, notPaused, deadline, &timer) {
			b.Fatal("no slot")
		}
	}
}
