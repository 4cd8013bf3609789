package deliver

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/internal/sink"
)

// The tests below run the real pipeline: the embedded JetStream queue,
// the Sender as its handler, and sinks as partners.

type pipeline struct {
	q      *queue.Queue
	s      *Sender
	obs    *attempts
	logs   *lockedBuffer // the Sender's log, as text
	mu     sync.Mutex
	policy map[string]Policy
}

func newPipeline(t *testing.T, policies map[string]Policy) *pipeline {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := queue.Open(ctx, queue.Config{
		DataDir: t.TempDir(), AckWait: 2 * time.Second, DiscoverEvery: 200 * time.Millisecond,
		DrainTimeout: time.Second, MaxDeliver: 20,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{q: q, obs: &attempts{}, logs: &lockedBuffer{}, policy: policies}
	p.s, err = New(Options{
		Policy: func(_, partner string) (Policy, bool) {
			p.mu.Lock()
			defer p.mu.Unlock()
			pol, ok := p.policy[partner]
			return pol, ok
		},
		Observer: p.obs,
		Logger:   slog.New(slog.NewTextHandler(p.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := q.Run(rctx, p.s); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		stop()
		<-done
		p.s.Close()
		_ = q.Close()
	})
	return p
}

// lockedBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *pipeline) waitDepth(t *testing.T, pending, dead uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := p.q.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d.Pending == pending && d.Dead == dead {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("depth %+v, want pending %d dead %d", d, pending, dead)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pjob(partner, id, base string) queue.Job {
	return queue.Job{
		ID: id, App: "demo", Partner: partner, Postback: "INSTALL", EventID: "ev-" + id,
		Method: "GET", URL: base + "/pb?id=" + id,
	}
}

func TestPipelineRetriesUntilDelivered(t *testing.T) {
	sk, base := startSink(t, sink.Options{FailFirst: 2})
	p := newPipeline(t, map[string]Policy{"p": testPolicy()})
	if err := p.q.Enqueue(context.Background(), pjob("p", "pb-1", base)); err != nil {
		t.Fatal(err)
	}
	p.waitDepth(t, 0, 0)
	recs := sk.Requests()
	if len(recs) != 3 {
		t.Fatalf("sink got %d requests, want 3 (two failures, one success)", len(recs))
	}
	for _, r := range recs {
		if r.Headers["Idempotency-Key"] != "pb-1" {
			t.Errorf("Idempotency-Key %q", r.Headers["Idempotency-Key"])
		}
	}
	at := p.obs.list()
	if len(at) != 3 || at[0].Attempt != 1 || at[2].Attempt != 3 || at[2].Outcome != "delivered" || at[1].Outcome != "retry" {
		t.Fatalf("attempts %+v", at)
	}
}

// flip answers 404 until fixed, then forwards to the sink.
type flip struct {
	fixed atomic.Bool
	next  http.Handler
}

func (f *flip) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.fixed.Load() {
		http.NotFound(w, r)
		return
	}
	f.next.ServeHTTP(w, r)
}

func TestPipelineDeadLettersAndReplay(t *testing.T) {
	sk := sink.New(sink.Options{})
	f := &flip{next: sk}
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, down := startSink(t, sink.Options{Status: 503})
	budget := testPolicy()
	budget.MaxAttempts = 3
	p := newPipeline(t, map[string]Policy{"rejects": testPolicy(), "down": budget})
	ctx := context.Background()
	if err := p.q.Enqueue(ctx, pjob("rejects", "r-1", srv.URL), pjob("down", "d-1", down),
		pjob("rejects", "x-1", "http://elsewhere.example")); err != nil {
		t.Fatal(err)
	}
	p.waitDepth(t, 0, 3)
	dead, err := p.q.DeadLetters(ctx, queue.ReplayFilter{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, d := range dead {
		reasons[d.Job.ID] = d.Reason
	}
	if reasons["r-1"] != "HTTP 404: not retried" || reasons["d-1"] != "retry budget exhausted after 3 attempts: HTTP 503" ||
		reasons["x-1"] != `host "elsewhere.example" is not allowed for partner "rejects" (add it to the spec's allowed_hosts)` {
		t.Fatalf("reasons %v", reasons)
	}

	f.fixed.Store(true)
	if res, err := p.q.Replay(ctx, queue.ReplayFilter{IDs: []string{"r-1"}}, nil); err != nil || res.Replayed != 1 {
		t.Fatalf("Replay = %+v, %v", res, err)
	}
	p.waitDepth(t, 0, 2)
	recs := sk.Requests()
	if len(recs) != 1 || recs[0].Headers["Idempotency-Key"] != "r-1" {
		t.Fatalf("replayed requests %+v", recs)
	}
}

// One partner's endpoint hangs: its postbacks occupy only its own slots,
// and another partner's postbacks, enqueued after them, all arrive while
// the first partner's are still hanging.
func TestPipelinePartnerIsolation(t *testing.T) {
	hang, hangURL := startSink(t, sink.Options{Latency: time.Hour})
	ok, okURL := startSink(t, sink.Options{})
	hangPol := testPolicy()
	hangPol.Timeout = time.Minute
	hangPol.Concurrency = 2
	p := newPipeline(t, map[string]Policy{"hang": hangPol, "ok": testPolicy()})
	ctx := context.Background()
	var hangJobs, okJobs []queue.Job
	for i := range 10 {
		hangJobs = append(hangJobs, pjob("hang", fmt.Sprintf("h-%d", i), hangURL))
	}
	for i := range 30 {
		okJobs = append(okJobs, pjob("ok", fmt.Sprintf("o-%d", i), okURL))
	}
	if err := p.q.Enqueue(ctx, hangJobs...); err != nil {
		t.Fatal(err)
	}
	// Let the hanging partner take its slots first.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := hang.Wait(wctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := p.q.Enqueue(ctx, okJobs...); err != nil {
		t.Fatal(err)
	}
	if _, err := ok.Wait(wctx, len(okJobs)); err != nil {
		t.Fatal(err)
	}
	d, err := p.q.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := hang.Count(); got != 2 {
		t.Errorf("hanging partner received %d requests, want its concurrency (2)", got)
	}
	if d.ByPartner[queue.Key{App: "demo", Partner: "hang"}] != 10 {
		t.Errorf("hanging partner's backlog %+v, want all 10 still queued", d.ByPartner)
	}
	for _, a := range p.obs.list() {
		if a.Partner == "hang" {
			t.Errorf("a hanging attempt finished: %+v", a)
		}
	}
}

// The queue waits as long as the partner's Retry-After asks.
func TestPipelineHonorsRetryAfter(t *testing.T) {
	sk, base := startSink(t, sink.Options{FailFirst: 1, FailStatus: 429, RetryAfter: "1"})
	p := newPipeline(t, map[string]Policy{"p": testPolicy()})
	if err := p.q.Enqueue(context.Background(), pjob("p", "ra-1", base)); err != nil {
		t.Fatal(err)
	}
	p.waitDepth(t, 0, 0)
	recs := sk.Requests()
	if len(recs) != 2 {
		t.Fatalf("%d requests", len(recs))
	}
	if gap := recs[1].Time.Sub(recs[0].Time); gap < time.Second {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

// The postback window is checked again at send time: a job whose window
// closes while it waits for a retry is dead-lettered, not sent late, and the
// dead letter keeps the window for a replay to honour.
func TestPipelineWindowClosesDuringRetries(t *testing.T) {
	sk, base := startSink(t, sink.Options{FailFirst: 1, RetryAfter: "1"})
	p := newPipeline(t, map[string]Policy{"p": testPolicy()})
	late := pjob("p", "pb-late", base)
	late.WindowEnd = time.Now().Add(400 * time.Millisecond)
	inside := pjob("p", "pb-inside", base)
	inside.WindowEnd = time.Now().Add(time.Hour)
	if err := p.q.Enqueue(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	p.waitDepth(t, 0, 1)
	if n := sk.Count(); n != 1 {
		t.Fatalf("sink got %d requests, want only the first, failed attempt", n)
	}
	dead, err := p.q.DeadLetters(context.Background(), queue.ReplayFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Job.ID != "pb-late" || !strings.Contains(dead[0].Reason, "outside postback window") ||
		!dead[0].Job.WindowEnd.Equal(late.WindowEnd) {
		t.Fatalf("dead letters %+v", dead)
	}
	at := p.obs.list()
	if len(at) != 2 || at[0].Outcome != "retry" || at[1].Outcome != "dead" || at[1].StatusCode != 0 {
		t.Fatalf("attempts %+v", at)
	}

	// A job still inside its window is sent as usual.
	if err := p.q.Enqueue(context.Background(), inside); err != nil {
		t.Fatal(err)
	}
	p.waitDepth(t, 0, 1)
	if recs := sk.Requests(); len(recs) != 2 || recs[1].Headers["Idempotency-Key"] != "pb-inside" || recs[1].Status != 200 {
		t.Fatalf("requests %+v", recs)
	}
}

// requestsPerJob counts the requests a sink received per postback.
func requestsPerJob(sk *sink.Sink) map[string]int {
	n := map[string]int{}
	for _, r := range sk.Requests() {
		n[r.Headers["Idempotency-Key"]]++
	}
	return n
}

// Postbacks contend for the probe of an always-failing partner, so some
// deliveries end in a breaker wait; with max_attempts 3 each postback
// still gets three real requests before it is dead-lettered.
func TestPipelineBreakerWaitsAreNotAttempts(t *testing.T) {
	sk, base := startSink(t, sink.Options{Status: 503})
	pol := testPolicy()
	pol.MaxAttempts = 3
	pol.Concurrency = 6
	pol.Timeout = 50 * time.Millisecond
	pol.Breaker = BreakerPolicy{MinRequests: 1, FailureRatio: 1, Window: time.Minute, OpenFor: 50 * time.Millisecond}
	p := newPipeline(t, map[string]Policy{"p": pol})
	const jobs = 6
	for i := range jobs {
		if err := p.q.Enqueue(context.Background(), pjob("p", fmt.Sprintf("pb-%d", i), base)); err != nil {
			t.Fatal(err)
		}
	}
	p.waitDepth(t, 0, jobs)
	for id, n := range requestsPerJob(sk) {
		if n != 3 {
			t.Errorf("%s: %d requests before it was dead-lettered, want 3", id, n)
		}
	}
	dead, err := p.q.DeadLetters(context.Background(), queue.ReplayFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dead {
		if d.Attempts != 3 || d.Reason != "retry budget exhausted after 3 attempts: HTTP 503" {
			t.Errorf("%s: dead after %d attempts: %s", d.Job.ID, d.Attempts, d.Reason)
		}
	}
	// The waits are in the history as delays of the attempt still to come.
	delayed := 0
	for _, a := range p.obs.list() {
		switch {
		case a.Outcome == "delayed":
			delayed++
			if a.StatusCode != 0 || a.Error != "circuit breaker open" || a.Attempt < 1 || a.Attempt > 3 {
				t.Errorf("delay record %+v", a)
			}
		case a.StatusCode != 503:
			t.Errorf("attempt record without a request: %+v", a)
		}
	}
	if delayed == 0 {
		t.Fatal("no delivery waited out the breaker: the test did not exercise a breaker wait")
	}
}

// A partner failing about half its requests (a fixed pattern: the sink's
// seed 9 fails 7 of the first 8) opens the breaker; its half-open probes
// close it again on a success, and every postback is delivered within
// its attempts.
func TestPipelineHalfFailingPartnerKeepsDelivering(t *testing.T) {
	sk, base := startSink(t, sink.Options{FailRate: 0.5, Seed: 9})
	pol := testPolicy()
	pol.MaxAttempts = 10
	pol.Breaker = BreakerPolicy{MinRequests: 4, FailureRatio: 0.5, Window: time.Minute, OpenFor: 100 * time.Millisecond, HalfOpenProbes: 3}
	p := newPipeline(t, map[string]Policy{"p": pol})
	const jobs = 30
	for i := range jobs {
		if err := p.q.Enqueue(context.Background(), pjob("p", fmt.Sprintf("pb-%d", i), base)); err != nil {
			t.Fatal(err)
		}
	}
	p.waitDepth(t, 0, 0)
	delivered := map[string]bool{}
	for _, r := range sk.Requests() {
		if r.Status == 200 {
			delivered[r.Headers["Idempotency-Key"]] = true
		}
	}
	if len(delivered) != jobs {
		t.Fatalf("%d of %d postbacks delivered", len(delivered), jobs)
	}
	for id, n := range requestsPerJob(sk) {
		if n > pol.MaxAttempts {
			t.Errorf("%s: %d requests, over max_attempts", id, n)
		}
	}
	// The breaker opened, and probes closed it again: the last change the
	// log shows is a close, and the breaker is closed.
	var changes []string
	for line := range strings.SplitSeq(p.logs.String(), "\n") {
		if _, change, ok := strings.Cut(line, `msg="deliver: circuit breaker `); ok {
			changes = append(changes, strings.SplitN(change, `"`, 2)[0])
		}
	}
	if len(changes) < 2 || changes[0] != "opened" || changes[len(changes)-1] != "closed" || p.s.Breakers()[0].State != BreakerClosed {
		t.Fatalf("breaker changes %v, state %v", changes, p.s.Breakers()[0].State)
	}
}
