package deliver

import (
	"context"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/internal/sink"
)

// A postback whose window or age budget ran out while its partner was
// paused is dead-lettered unsent, saying so; one that expired outside a
// pause keeps the usual reasons, and a fresh one is sent.
func TestExpiredWhilePaused(t *testing.T) {
	sk, base := startSink(t, sink.Options{})
	pausedSince := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	resumed := time.Now().Add(-time.Minute)
	pausedAt := func(_, _ string, t time.Time) (time.Time, bool) {
		return pausedSince, !t.Before(pausedSince) && !t.After(resumed)
	}
	windowEnd := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		name string
		mod  func(*queue.Job)
		want queue.OutcomeKind
		// reason is the whole reason, when want is dead.
		reason string
	}{
		{"window closed during the pause", func(j *queue.Job) { j.WindowEnd = windowEnd }, queue.OutcomeDead,
			"outside postback window: it closed at " + windowEnd.Format(time.RFC3339) + " while the partner was paused (since " + pausedSince.Format(time.RFC3339) + ")"},
		{"window closed before the pause", func(j *queue.Job) { j.WindowEnd = pausedSince.Add(-time.Hour) }, queue.OutcomeDead,
			"outside postback window: it closed at " + pausedSince.Add(-time.Hour).Format(time.RFC3339)},
		{"age budget ran out during the pause", func(j *queue.Job) { j.EnqueuedAt = windowEnd.Add(-time.Hour) }, queue.OutcomeDead,
			"retry budget exhausted: its age budget (max 1h0m0s) ran out at " + windowEnd.Format(time.RFC3339) + " while the partner was paused (since " + pausedSince.Format(time.RFC3339) + ")"},
		{"fresh postback", nil, queue.OutcomeDelivered, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := testPolicy()
			pol.MaxAge = time.Hour
			s, _ := newSender(t, pol, func(o *Options) { o.PausedAt = pausedAt })
			j := testJob(base + "/pb")
			if tt.mod != nil {
				tt.mod(&j)
			}
			before := sk.Count()
			out := s.Handle(context.Background(), j, 1)
			t.Logf("reason: %s", out.Reason)
			if out.Kind != tt.want || (tt.want == queue.OutcomeDead && out.Reason != tt.reason) {
				t.Fatalf("outcome %+v\nwant %v %q", out, tt.want, tt.reason)
			}
			if sent := sk.Count() - before; (sent == 1) != (tt.want == queue.OutcomeDelivered) {
				t.Fatalf("%d requests sent", sent)
			}
		})
	}
}

// The breaker snapshot carries the window's counts and when it opened.
func TestBreakerSnapshot(t *testing.T) {
	pol := BreakerPolicy{MinRequests: 2, FailureRatio: 1, Window: time.Minute, OpenFor: time.Minute}
	b := newBreaker("h")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.acquire(pol, now)
	b.record(pol, false, true, now)
	if st := b.snapshot(); st.State != BreakerClosed || st.Requests != 1 || st.Failures != 1 || !st.OpenedAt.IsZero() {
		t.Fatalf("after one failure: %+v", st)
	}
	b.record(pol, false, true, now.Add(time.Second))
	st := b.snapshot()
	if st.State != BreakerOpen || st.Requests != 2 || st.Failures != 2 || !st.OpenedAt.Equal(now.Add(time.Second)) || !st.WindowStart.Equal(now) {
		t.Fatalf("after opening: %+v", st)
	}
}

// Effective fills the defaults in and keeps what is set.
func TestEffectivePolicy(t *testing.T) {
	p := Policy{RatePerSecond: 5, Breaker: BreakerPolicy{MinRequests: 3}}.Effective()
	if p.Timeout != 10*time.Second || p.MaxAttempts != 10 || p.Concurrency != 4 || p.Burst != 1 ||
		p.RatePerSecond != 5 || p.Breaker.MinRequests != 3 || p.Breaker.FailureRatio != 0.5 || p.Breaker.HalfOpenProbes != 1 {
		t.Fatalf("effective policy %+v", p)
	}
}
