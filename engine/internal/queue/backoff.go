package queue

import (
	"context"
	"time"
)

// backoff spaces the retries of a worker whose consumer or pull fails:
// 100 ms, doubling up to 5 s, and back to 100 ms after a success.
type backoff struct{ pause time.Duration }

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// wait sleeps for the current pause and doubles it; it reports false if
// ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	if b.pause == 0 {
		b.pause = minBackoff
	}
	d := b.pause
	b.pause = min(b.pause*2, maxBackoff)
	return sleepCtx(ctx, d)
}

// sleepCtx waits d, or less if ctx ends first: it reports whether the
// whole wait passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reset makes the next wait the shortest again.
func (b *backoff) reset() { b.pause = 0 }
