package console

import (
	"sync"
	"time"
)

// loginLimiter is a token bucket per client address: a small burst of
// login attempts, then one every refill interval, so guessing the admin
// token from one address is slow.
type loginLimiter struct {
	burst  float64
	refill time.Duration

	mu      sync.Mutex
	buckets map[string]*loginBucket
}

type loginBucket struct {
	tokens float64
	last   time.Time
}

// maxLimited bounds the addresses tracked; when full, full buckets (no
// recent attempts) are forgotten, and if none is, the attempt is refused
// so a flood from many addresses cannot grow the map.
const maxLimited = 10_000

func newLoginLimiter(burst int, refill time.Duration) *loginLimiter {
	return &loginLimiter{burst: float64(burst), refill: refill, buckets: map[string]*loginBucket{}}
}

// allow spends one attempt of addr; when none is left it returns false
// and how long until the next one.
func (l *loginLimiter) allow(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= maxLimited {
			l.forgetIdle(now)
			if len(l.buckets) >= maxLimited {
				return false, l.refill
			}
		}
		b = &loginBucket{tokens: l.burst, last: now}
		l.buckets[addr] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.refill))
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return true, 0
}

func (l *loginLimiter) forgetIdle(now time.Time) {
	for a, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.last))/float64(l.refill) >= l.burst {
			delete(l.buckets, a)
		}
	}
}
