package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func testConfig(dir string) Config {
	return Config{
		DataDir:       dir,
		AckWait:       2 * time.Second,
		DiscoverEvery: 200 * time.Millisecond,
		DrainTimeout:  2 * time.Second,
		MaxDeliver:    5,
	}
}

func openQueue(t *testing.T, cfg Config) *Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := Open(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// runQueue runs q with h until the test ends (or stop is called).
func runQueue(t *testing.T, q *Queue, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func job(app, partner, id string) Job {
	return Job{
		ID: id, App: app, Partner: partner, Postback: "INSTALL", EventID: "ev-" + id,
		Method: "GET", URL: "https://example.com/pb?id=" + id,
	}
}

// recorder is a Handler whose outcome per call is chosen by a function and
// that records every call.
type recorder struct {
	mu      sync.Mutex
	calls   []call
	outcome func(j Job, attempt int) Outcome
	notify  chan call
}

type call struct {
	Job     Job
	Attempt int
	At      time.Time
}

func newRecorder(outcome func(Job, int) Outcome) *recorder {
	return &recorder{outcome: outcome, notify: make(chan call, 1000)}
}

func (r *recorder) Handle(_ context.Context, j Job, attempt int) Outcome {
	c := call{Job: j, Attempt: attempt, At: time.Now()}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	r.notify <- c
	return r.outcome(j, attempt)
}

// await waits for n handler calls and returns them.
func (r *recorder) await(t *testing.T, n int) []call {
	t.Helper()
	var got []call
	deadline := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case c := <-r.notify:
			got = append(got, c)
		case <-deadline:
			t.Fatalf("got %d handler calls, want %d: %+v", len(got), n, got)
		}
	}
	return got
}

// quiet asserts no handler call happens for d.
func (r *recorder) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-r.notify:
		t.Fatalf("unexpected handler call %+v", c)
	case <-time.After(d):
	}
}

func TestEnqueueDeduplicatesAndDelivers(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx := context.Background()
	a, b := job("app1", "clevertap", "pb-1"), job("app1", "clevertap", "pb-2")
	if err := q.Enqueue(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	// The same postback again (a retried webhook) is stored once.
	if err := q.Enqueue(ctx, a); err != nil {
		t.Fatal(err)
	}
	d, err := q.Depth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pending != 2 || d.ByPartner[Key{"app1", "clevertap"}] != 2 {
		t.Fatalf("depth = %+v, want 2 pending for app1/clevertap", d)
	}

	r := newRecorder(func(Job, int) Outcome { return Delivered() })
	runQueue(t, q, r)
	calls := r.await(t, 2)
	ids := map[string]int{}
	for _, c := range calls {
		ids[c.Job.ID]++
		if c.Attempt != 1 {
			t.Errorf("%s: attempt %d, want 1", c.Job.ID, c.Attempt)
		}
		if c.Job.EnqueuedAt.IsZero() || c.Job.URL == "" {
			t.Errorf("job lost fields: %+v", c.Job)
		}
	}
	if ids["pb-1"] != 1 || ids["pb-2"] != 1 {
		t.Fatalf("calls by id = %v", ids)
	}
	r.quiet(t, 500*time.Millisecond)
	waitDepth(t, q, 0, 0)
	// Still a duplicate after it was delivered and removed.
	if err := q.Enqueue(ctx, a); err != nil {
		t.Fatal(err)
	}
	r.quiet(t, 500*time.Millisecond)
	waitDepth(t, q, 0, 0)
}

func TestEnqueueRejectsInvalidJobs(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	for _, tc := range []struct {
		name string
		j    Job
	}{
		{"no id", Job{App: "a", Partner: "p", URL: "https://x"}},
		{"no app", Job{ID: "1", Partner: "p", URL: "https://x"}},
		{"no partner", Job{ID: "1", App: "a", URL: "https://x"}},
		{"no url", Job{ID: "1", App: "a", Partner: "p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := q.Enqueue(context.Background(), tc.j); err == nil {
				t.Fatal("Enqueue accepted an invalid job")
			}
		})
	}
}

func waitDepth(t *testing.T, q *Queue, pending, dead uint64) Depth {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := q.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d.Pending == pending && d.Dead == dead {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("depth = %+v, want pending %d dead %d", d, pending, dead)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRetryRedeliversWithDelay(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	const delay = 300 * time.Millisecond
	r := newRecorder(func(_ Job, attempt int) Outcome {
		if attempt < 3 {
			return Retry(delay, "503 from partner")
		}
		return Delivered()
	})
	runQueue(t, q, r)
	if err := q.Enqueue(context.Background(), job("a", "p", "x")); err != nil {
		t.Fatal(err)
	}
	calls := r.await(t, 3)
	for i, c := range calls {
		if c.Attempt != i+1 {
			t.Errorf("call %d: attempt %d", i, c.Attempt)
		}
		if i > 0 {
			if gap := c.At.Sub(calls[i-1].At); gap < delay {
				t.Errorf("attempt %d came %v after the previous one, before the %v delay", c.Attempt, gap, delay)
			}
		}
	}
	r.quiet(t, 500*time.Millisecond)
	waitDepth(t, q, 0, 0)
}

// A Delay is not an attempt: the calls after delays see the same attempt
// number, and the dead letter counts only the attempts.
func TestDelayIsNotAnAttempt(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxDeliver = 4
	q := openQueue(t, cfg)
	var calls atomic.Int32
	// Calls 1, 2, 4 and 5 are delays; 3 and 6 attempts (the second dead).
	r := newRecorder(func(_ Job, attempt int) Outcome {
		switch calls.Add(1) {
		case 3:
			return Retry(0, "503 from partner")
		case 6:
			return Dead("given up")
		}
		return Delay(0, "circuit breaker open")
	})
	runQueue(t, q, r)
	if err := q.Enqueue(context.Background(), job("a", "p", "x")); err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, c := range r.await(t, 6) {
		got = append(got, c.Attempt)
	}
	// Six deliveries, more than MaxDeliver, yet the job was not stopped as
	// delivered too often: only two were attempts.
	if fmt.Sprint(got) != "[1 1 1 2 2 2]" {
		t.Fatalf("attempt numbers %v, want [1 1 1 2 2 2]", got)
	}
	waitDepth(t, q, 0, 1)
	dead, err := q.DeadLetters(context.Background(), ReplayFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Attempts != 2 || dead[0].Reason != "given up" {
		t.Fatalf("dead letters %+v", dead)
	}
	q.delays.mu.Lock()
	n := len(q.delays.m)
	q.delays.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d delay counts left after the job was settled", n)
	}
}

func TestDeadLettersAndReplay(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxDeliver = 3
	q := openQueue(t, cfg)
	ctx := context.Background()
	var mu sync.Mutex
	healthy := false
	r := newRecorder(func(j Job, attempt int) Outcome {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case healthy:
			return Delivered()
		case j.Partner == "rejects":
			return Dead("HTTP 400 from partner")
		default:
			return Retry(10*time.Millisecond, "HTTP 503 from partner")
		}
	})
	runQueue(t, q, r)
	before := time.Now()
	if err := q.Enqueue(ctx, job("a", "rejects", "r1"), job("a", "down", "d1"), job("b", "down", "d2")); err != nil {
		t.Fatal(err)
	}
	// r1 dies at once; d1 and d2 after MaxDeliver attempts each.
	r.await(t, 1+3+3)
	r.quiet(t, 300*time.Millisecond)
	waitDepth(t, q, 0, 3)

	dead, err := q.DeadLetters(ctx, ReplayFilter{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]DeadLetter{}
	for _, d := range dead {
		reasons[d.Job.ID] = d
	}
	if d := reasons["r1"]; d.Reason != "HTTP 400 from partner" || d.Attempts != 1 {
		t.Errorf("r1 dead letter = %+v", d)
	}
	if d := reasons["d1"]; d.Attempts != 3 || d.Reason != "max deliveries (3) reached: HTTP 503 from partner" {
		t.Errorf("d1 dead letter = %+v", d)
	}
	for _, d := range dead {
		if d.DeadAt.Before(before.Add(-time.Second)) {
			t.Errorf("%s DeadAt %v before the test", d.Job.ID, d.DeadAt)
		}
	}

	filters := []struct {
		name string
		f    ReplayFilter
		want []string
	}{
		{"by partner and app", ReplayFilter{App: "b", Partner: "down"}, []string{"d2"}},
		{"by id", ReplayFilter{IDs: []string{"r1"}}, []string{"r1"}},
		{"by partner", ReplayFilter{Partner: "down"}, []string{"d1", "d2"}},
		{"future range", ReplayFilter{Since: time.Now().Add(time.Hour)}, nil},
		{"past range", ReplayFilter{Until: before.Add(-time.Hour)}, nil},
		// Classes inferred from the reasons: this handler gives none.
		{"class 5xx", ReplayFilter{ErrorClass: Class5xx}, []string{"d1", "d2"}},
		{"class 4xx", ReplayFilter{ErrorClass: Class4xx}, []string{"r1"}},
		{"class timeout", ReplayFilter{ErrorClass: ClassTimeout}, nil},
		{"class and app", ReplayFilter{ErrorClass: Class5xx, App: "a"}, []string{"d1"}},
	}
	for _, tc := range filters {
		got, err := q.DeadLetters(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range got {
			ids = append(ids, d.Job.ID)
		}
		// Partners die concurrently: compare as sets.
		slices.Sort(ids)
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("%s: dead letters %v, want %v", tc.name, ids, tc.want)
		}
	}

	if got, err := q.DeadLetters(ctx, ReplayFilter{Limit: 2}); err != nil || len(got) != 2 {
		t.Errorf("limit 2: %d dead letters, %v", len(got), err)
	}
	// Pages of two, then one, then no cursor: every dead letter once.
	var paged []string
	from := uint64(0)
	for range 3 {
		page, next, err := q.DeadLetterPage(ctx, ReplayFilter{Limit: 2, From: from})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			paged = append(paged, d.Job.ID)
		}
		if next == 0 {
			break
		}
		from = next
	}
	slices.Sort(paged)
	if fmt.Sprint(paged) != "[d1 d2 r1]" {
		t.Errorf("paged dead letters %v", paged)
	}

	mu.Lock()
	healthy = true
	mu.Unlock()
	res, err := q.Replay(ctx, ReplayFilter{Partner: "down"}, nil)
	if err != nil || res.Replayed != 2 {
		t.Fatalf("Replay = %+v, %v; want 2", res, err)
	}
	calls := r.await(t, 2)
	for _, c := range calls {
		if c.Job.Replays != 1 || c.Attempt != 1 {
			t.Errorf("replayed %s: replays %d attempt %d", c.Job.ID, c.Job.Replays, c.Attempt)
		}
		if c.Job.ID != "d1" && c.Job.ID != "d2" {
			t.Errorf("replayed %s", c.Job.ID)
		}
	}
	waitDepth(t, q, 0, 1)
	// Replaying what is no longer dead does nothing.
	if res, err := q.Replay(ctx, ReplayFilter{Partner: "down"}, nil); err != nil || res.Replayed != 0 {
		t.Fatalf("second Replay = %+v, %v; want 0", res, err)
	}
	r.quiet(t, 300*time.Millisecond)
}

// A job the handler never settles (the process dies mid-attempt) is
// redelivered after AckWait and dead-lettered once MaxDeliver is used up.
func TestUnsettledDeliveriesCount(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxDeliver = 1
	cfg.AckWait = 500 * time.Millisecond
	q := openQueue(t, cfg)
	if err := q.Enqueue(context.Background(), job("a", "p", "crash")); err != nil {
		t.Fatal(err)
	}
	// Receive it, then "crash": close the queue without settling.
	block := make(chan struct{})
	r := newRecorder(func(Job, int) Outcome { <-block; return Delivered() })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = q.Run(ctx, r) }()
	r.await(t, 1)
	_ = q.Close()
	close(block)
	cancel()

	q2 := openQueue(t, cfg)
	r2 := newRecorder(func(Job, int) Outcome { return Delivered() })
	runQueue(t, q2, r2)
	waitDepth(t, q2, 0, 1)
	dead, err := q2.DeadLetters(context.Background(), ReplayFilter{})
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	if dead[0].Reason != "delivered 1 times without an outcome (max 1)" {
		t.Errorf("reason %q", dead[0].Reason)
	}
}

func TestRestartLosesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	q := openQueue(t, cfg)
	ctx := context.Background()
	var jobs []Job
	for i := range 50 {
		jobs = append(jobs, job("app", fmt.Sprintf("p%d", i%3), fmt.Sprintf("id-%d", i)))
	}
	if err := q.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	// Deliver a few, then stop and close the server.
	r := newRecorder(func(Job, int) Outcome { return Delivered() })
	stop := runQueue(t, q, r)
	first := r.await(t, 5)
	stop()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range first {
		seen[c.Job.ID] = true
	}
	for {
		select {
		case c := <-r.notify:
			seen[c.Job.ID] = true
			continue
		default:
		}
		break
	}

	q2 := openQueue(t, cfg)
	r2 := newRecorder(func(Job, int) Outcome { return Delivered() })
	runQueue(t, q2, r2)
	for len(seen) < len(jobs) {
		c := r2.await(t, 1)[0]
		seen[c.Job.ID] = true
	}
	waitDepth(t, q2, 0, 0)
	// The data dir keeps a private token for the embedded server.
	st, err := os.Stat(filepath.Join(dir, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", st.Mode().Perm())
	}
}

// One partner whose handler hangs holds only its own workers: another
// partner's jobs, enqueued after the hung ones, are all delivered while the
// first is still stuck.
func TestPartnerIsolation(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.AckWait = time.Second
	q := openQueue(t, cfg)
	ctx := context.Background()
	release := make(chan struct{})
	var mu sync.Mutex
	var slowStarted, fastDone int
	h := HandlerFunc(func(hctx context.Context, j Job, _ int) Outcome {
		if j.Partner == "slow" {
			mu.Lock()
			slowStarted++
			mu.Unlock()
			select {
			case <-release:
				return Delivered()
			case <-hctx.Done():
				return Retry(0, "cancelled")
			}
		}
		mu.Lock()
		fastDone++
		mu.Unlock()
		return Delivered()
	})
	runQueue(t, q, h)
	var slow, fast []Job
	for i := range 20 {
		slow = append(slow, job("app", "slow", fmt.Sprintf("s%d", i)))
		fast = append(fast, job("app", "fast", fmt.Sprintf("f%d", i)))
	}
	if err := q.Enqueue(ctx, slow...); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, fast...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		f, s := fastDone, slowStarted
		mu.Unlock()
		if f == len(fast) {
			// The slow partner never exceeds its default concurrency while
			// hung (its jobs are kept alive, not redelivered in parallel).
			if s > cfg.withDefaults().Workers {
				t.Errorf("slow partner has %d deliveries in flight, limit %d", s, cfg.withDefaults().Workers)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fast partner delivered %d of %d while slow partner hung", f, len(fast))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Still hung after several AckWaits: no duplicate deliveries.
	time.Sleep(2500 * time.Millisecond)
	mu.Lock()
	s := slowStarted
	mu.Unlock()
	if s != cfg.withDefaults().Workers {
		t.Errorf("slow partner started %d deliveries while hung, want exactly %d", s, cfg.withDefaults().Workers)
	}
	close(release)
	waitDepth(t, q, 0, 0)
}

type concHandler struct {
	HandlerFunc
	n int
}

func (c concHandler) Concurrency(string, string) int { return c.n }

func TestConcurrencerLimitsInFlight(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	var mu sync.Mutex
	cur, peak, done := 0, 0, 0
	h := concHandler{n: 2, HandlerFunc: func(context.Context, Job, int) Outcome {
		mu.Lock()
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		cur--
		done++
		mu.Unlock()
		return Delivered()
	}}
	runQueue(t, q, h)
	var jobs []Job
	for i := range 20 {
		jobs = append(jobs, job("a", "p", fmt.Sprint(i)))
	}
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	waitDepth(t, q, 0, 0)
	mu.Lock()
	defer mu.Unlock()
	if peak > 2 || done != 20 {
		t.Fatalf("peak in flight %d (limit 2), done %d", peak, done)
	}
}

// Stopping gives the jobs a worker holds back once: only after the pull
// they came from has ended, so they are not handed straight back to it,
// given back again, and so on until their deliveries (5 here) run out and
// they are dead-lettered unattempted.
func TestStopGivesHeldJobsBack(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Workers = 1
	q := openQueue(t, cfg)
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var mu sync.Mutex
	handled := 0 // jobs the first run's handler saw: they wait an hour
	h := HandlerFunc(func(context.Context, Job, int) Outcome {
		mu.Lock()
		handled++
		mu.Unlock()
		started <- struct{}{}
		<-release
		return Retry(time.Hour, "held")
	})
	stop := runQueue(t, q, h)
	var jobs []Job
	for i := range 5 {
		jobs = append(jobs, job("a", "p", fmt.Sprint(i)))
	}
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	<-started // one job in the handler, the others held for the slot
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	close(release)
	<-stopped

	r := newRecorder(func(Job, int) Outcome { return Delivered() })
	runQueue(t, q, r)
	mu.Lock()
	back := len(jobs) - handled
	mu.Unlock()
	for _, c := range r.await(t, back) {
		// 1 in the first run, 1 after it was given back.
		if c.Attempt > 2 {
			t.Errorf("job %s is on attempt %d after one stop, want at most 2", c.Job.ID, c.Attempt)
		}
	}
}

// varConc is a handler whose concurrency changes while it runs, as on a
// config reload.
type varConc struct {
	HandlerFunc
	n *atomic.Int32
}

func (v varConc) Concurrency(string, string) int { return int(v.n.Load()) }

// Raising the limit while every slot is busy takes effect at the next
// pull: more handlers run (never more than the limit), more jobs are
// fetched than the handoff to the slots holds, and each job is still
// delivered exactly once.
func TestConcurrencyGrowsWhileBusy(t *testing.T) {
	cfg := testConfig(t.TempDir())
	q := openQueue(t, cfg)
	var limit atomic.Int32
	limit.Store(1)
	release := make(chan struct{})
	var mu sync.Mutex
	cur, peak, violations := 0, 0, 0
	seen := map[string]int{}
	h := varConc{n: &limit, HandlerFunc: func(_ context.Context, j Job, _ int) Outcome {
		mu.Lock()
		cur++
		peak = max(peak, cur)
		if cur > int(limit.Load()) {
			violations++
		}
		seen[j.ID]++
		mu.Unlock()
		<-release
		mu.Lock()
		cur--
		mu.Unlock()
		return Delivered()
	}}
	runQueue(t, q, h)
	var jobs []Job
	for i := range 100 {
		jobs = append(jobs, job("a", "p", fmt.Sprint(i)))
	}
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			done := ok()
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the first delivery", func() bool { return cur == 1 })
	// The worker reads the new limit once a job settles: let the first go.
	limit.Store(40)
	release <- struct{}{}
	waitFor("40 deliveries in flight", func() bool { return cur == 40 })
	close(release)
	waitDepth(t, q, 0, 0)
	mu.Lock()
	defer mu.Unlock()
	if violations > 0 || peak > 40 {
		t.Errorf("peak in flight %d (limit 40), %d over the limit", peak, violations)
	}
	if len(seen) != len(jobs) {
		t.Errorf("delivered %d distinct jobs, want %d", len(seen), len(jobs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %s delivered %d times", id, n)
		}
	}
}

func TestSubjectTokens(t *testing.T) {
	q := &Queue{cfg: Config{}.withDefaults()}
	for _, tc := range []struct{ app, partner string }{
		{"demo", "clevertap"},
		{"my.app", "part*ner"},
		{"a b", ">"},
		{"", "%41"},
		{"ünï", "x.y.z"},
	} {
		subj := q.workSubject(tc.app, tc.partner)
		k, handover, ok := q.parseWorkSubject(subj)
		if !ok || handover || k != (Key{tc.app, tc.partner}) {
			t.Errorf("%q/%q -> %q -> %+v %v %v", tc.app, tc.partner, subj, k, handover, ok)
		}
		subj = q.handoverSubject(tc.app, tc.partner)
		k, handover, ok = q.parseWorkSubject(subj)
		if !ok || !handover || k != (Key{tc.app, tc.partner}) {
			t.Errorf("%q/%q -> hand-over %q -> %+v %v %v", tc.app, tc.partner, subj, k, handover, ok)
		}
	}
	// A partner named r is not a hand-over subject.
	if k, handover, ok := q.parseWorkSubject(q.workSubject("a", "r")); !ok || handover || k != (Key{"a", "r"}) {
		t.Errorf("pair a/r parsed as %+v %v %v", k, handover, ok)
	}
	if q.workSubject("a.b", "c") == q.workSubject("a", "b.c") {
		t.Error("distinct pairs share a subject")
	}
}

func FuzzSubjectTokens(f *testing.F) {
	f.Add("demo", "clevertap")
	f.Add("a.b", "%zz")
	q := &Queue{cfg: Config{}.withDefaults()}
	f.Fuzz(func(t *testing.T, app, partner string) {
		k, handover, ok := q.parseWorkSubject(q.workSubject(app, partner))
		if !ok || handover || k.App != app || k.Partner != partner {
			t.Fatalf("round trip of %q/%q gave %+v %v %v", app, partner, k, handover, ok)
		}
		k, handover, ok = q.parseWorkSubject(q.handoverSubject(app, partner))
		if !ok || !handover || k.App != app || k.Partner != partner {
			t.Fatalf("hand-over round trip of %q/%q gave %+v %v %v", app, partner, k, handover, ok)
		}
		_ = consumerName(q.workSubject(app, partner))
		_ = consumerName(q.handoverSubject(app, partner))
	})
}

func TestHandlerPanicIsRetried(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	r := newRecorder(func(j Job, attempt int) Outcome {
		if attempt == 1 {
			panic("handler bug")
		}
		return Delivered()
	})
	runQueue(t, q, r)
	if err := q.Enqueue(context.Background(), job("a", "p", "x")); err != nil {
		t.Fatal(err)
	}
	calls := r.await(t, 2)
	if calls[1].Attempt != 2 {
		t.Fatalf("calls %+v", calls)
	}
	waitDepth(t, q, 0, 0)
}

// A batch larger than the client's async-publish window is stored whole,
// and the caller's jobs are not modified.
func TestEnqueueLargeBatch(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	jobs := make([]Job, 5000)
	for i := range jobs {
		jobs[i] = job("a", fmt.Sprintf("p%d", i%5), fmt.Sprintf("big-%d", i))
	}
	if err := q.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	if !jobs[0].EnqueuedAt.IsZero() {
		t.Error("Enqueue modified the caller's job")
	}
	d := waitDepth(t, q, 5000, 0)
	if d.ByPartner[Key{"a", "p3"}] != 1000 {
		t.Fatalf("depth %+v", d)
	}
}
