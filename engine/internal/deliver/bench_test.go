package deliver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/internal/sink"
)

// The benchmarks below compare the durable path (enqueue to the embedded
// JetStream queue, consume, send with the Sender, ack) with a plain Go
// HTTP client sending the same URLs to the same sink at the same
// concurrency. Run side by side:
//
//	go test -run '^$' -bench 'Delivery' -benchtime 20000x ./engine/gateway/deliver

const (
	benchPartners    = 4
	benchConcurrency = 8 // per partner
	benchBatch       = 100
)

func benchURLs(base string, n int) []queue.Job {
	jobs := make([]queue.Job, n)
	for i := range jobs {
		p := fmt.Sprintf("p%d", i%benchPartners)
		jobs[i] = queue.Job{
			ID: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), App: "bench", Partner: p, Postback: "INSTALL",
			Method: "GET", URL: fmt.Sprintf("%s/pb/%s?id=%d&event=install&os=android", base, p, i),
		}
	}
	return jobs
}

func BenchmarkDeliveryPipeline(b *testing.B) {
	sk := sink.New(sink.Options{Keep: 1})
	srv := httptest.NewServer(sk)
	defer srv.Close()
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{DataDir: b.TempDir(), DiscoverEvery: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	pol := testPolicy()
	pol.Concurrency = benchConcurrency
	s, err := New(Options{Policy: func(string, string) (Policy, bool) { return pol, true }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.Run(rctx, s)
	}()
	defer func() { stop(); <-done }()

	jobs := benchURLs(srv.URL, b.N)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < len(jobs); i += benchBatch {
		if err := q.Enqueue(ctx, jobs[i:min(i+benchBatch, len(jobs))]...); err != nil {
			b.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := sk.Wait(wctx, b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "postbacks/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e3, "cpu-us/postback")
}

func BenchmarkDeliveryPlainClient(b *testing.B) {
	sk := sink.New(sink.Options{Keep: 1})
	srv := httptest.NewServer(sk)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	jobs := benchURLs(srv.URL, b.N)
	var next atomic.Int64
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for range benchPartners * benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				req, _ := http.NewRequest(jobs[i].Method, jobs[i].URL, nil)
				req.Header.Set("Idempotency-Key", jobs[i].ID)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = readBody(resp.Body, 64<<10)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "postbacks/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e3, "cpu-us/postback")
}

func BenchmarkEnqueue(b *testing.B) {
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{DataDir: b.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	jobs := benchURLs("https://partner.example", b.N)
	b.ResetTimer()
	for i := 0; i < len(jobs); i += benchBatch {
		if err := q.Enqueue(ctx, jobs[i:min(i+benchBatch, len(jobs))]...); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time (user + system) this process used so far. On
// this shared 2-core machine wall-clock rates swing with other load; CPU
// per postback is the steadier figure for comparing the two paths.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAttempt measures one delivery attempt, sequentially, against a
// local endpoint, beside the same GET sent with a plain client: the
// difference in allocs/op is what the Sender adds to the request
// (policy, breaker, rate limit, timeout, the attempt record).
func BenchmarkAttempt(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	url := srv.URL + "/pb/p0?id=1&event=install&os=android"
	b.Run("sender", func(b *testing.B) {
		pol := testPolicy()
		s, err := New(Options{Policy: func(string, string) (Policy, bool) { return pol, true },
			Redact: func(s string) string { return s }})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		j := queue.Job{ID: "bench-1", App: "bench", Partner: "p0", Postback: "INSTALL", Method: "GET", URL: url}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if out := s.Handle(ctx, j, 1); out.Kind != queue.OutcomeDelivered {
				b.Fatalf("outcome %v", out)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		defer client.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Idempotency-Key", "bench-1")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
