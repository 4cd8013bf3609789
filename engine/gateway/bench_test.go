//go:build unix

package gateway

// Gateway throughput against a plain HTTP client, in one run:
//
//	go test -run '^$' -bench 'Deliver|Ingest' -benchtime 20000x -count 3 ./engine/gateway/
//
// BenchmarkDeliver/gateway measures postbacks/s delivered to an in-process
// `adgate sink` through the embedded JetStream queue (pull, HTTP attempt,
// ack; the postbacks were durably enqueued through the ingest
// handler beforehand); BenchmarkDeliver/plain sends the same rendered URLs
// to the same kind of sink with a plain net/http client. Both run at the
// same per-partner concurrency, c=16 and c=64. BenchmarkIngest reports
// single-event ingest latency (p50, p99) while deliveries run.
//
// Besides the rate, both delivery benchmarks report the process CPU time
// per postback (sink included): on a shared 2-core machine the rate swings
// with other load, while CPU per postback says what each path costs.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/internal/sink"
)

// benchConcurrency lists the delivery concurrencies both sides run at.
var benchConcurrency = []int{16, 64}

// benchSink serves an adgate sink on a loopback port.
func benchSink(b *testing.B) (*sink.Sink, string) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	sk := sink.New(sink.Options{Keep: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sink.Serve(ctx, ln, sk, time.Second)
	}()
	b.Cleanup(func() { cancel(); <-done })
	return sk, ln.Addr().String()
}

// benchServer is a gateway (not yet running) whose only partner is acme,
// with the sink's address in acme's URLs; edit, if given, rewrites its
// config further.
func benchServer(b *testing.B, sinkHost string, concurrency int, edit ...func(string) string) *Server {
	b.Helper()
	dir := b.TempDir()
	cfg := writeConfig(b, dir, sinkHost, envOpts{mutate: func(c string) string {
		c = c[:strings.Index(c, "      - id: beacon")]
		c = strings.Replace(c, "max_body_bytes: 8192", "max_body_bytes: 8388608", 1)
		c = strings.Replace(c, "max_batch_events: 5", "max_batch_events: 1000", 1)
		c = strings.Replace(c, "allow_hosts: [127.0.0.1]", fmt.Sprintf("allow_hosts: [127.0.0.1]\n          concurrency: %d", concurrency), 1)
		for _, e := range edit {
			c = e(c)
		}
		return c
	}})
	s, err := New(context.Background(), Options{
		ConfigPath: cfg, Listen: "127.0.0.1:0", WatchEvery: -1,
		Queue: queue.Config{DiscoverEvery: 50 * time.Millisecond},
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// cpuTime is the user+system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchEvents(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = mkEvent(int64(700000000000000000+i), "INSTALL", nil)
	}
	return out
}

func BenchmarkDeliver(b *testing.B) {
	for _, c := range benchConcurrency {
		b.Run(fmt.Sprintf("gateway/c=%d", c), func(b *testing.B) { benchGatewayDeliver(b, c) })
		b.Run(fmt.Sprintf("plain/c=%d", c), func(b *testing.B) { benchPlainDeliver(b, c) })
	}
}

func benchGatewayDeliver(b *testing.B, concurrency int) {
	sk, host := benchSink(b)
	s := benchServer(b, host, concurrency)
	// Enqueue everything first through the real ingest handler, so the
	// timed part is delivery alone: pull, attempt, ack.
	api := httptest.NewServer(s.Handler())
	defer api.Close()
	evs := benchEvents(b.N)
	postBatches(b, api.URL, evs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	go func() { done <- s.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
	if _, err := sk.Wait(wctx, b.N); err != nil {
		b.Fatalf("waiting for %d postbacks: %v (sink has %d)", b.N, err, sk.Count())
	}
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	wcancel()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "postbacks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/postback")
}

func benchPlainDeliver(b *testing.B, concurrency int) {
	sk, host := benchSink(b)
	s := benchServer(b, host, concurrency)
	defer s.q.Close()
	// The same rendered requests the gateway would queue.
	rt := s.rt.Load()
	app := rt.cfg.App("shop")
	var jobs []queue.Job
	for _, raw := range benchEvents(b.N) {
		ev, aerr := s.parseEvent(raw, config.DefaultMaxErrorFields)
		if aerr != nil {
			b.Fatal(aerr.Error)
		}
		for i := range app.Partners {
			pc := &app.Partners[i]
			jobs = append(jobs, renderPartner(ev, ev.ID(), app, pc, rt.partners[pc.ID], rt.version, time.Now()).jobs...)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 10 * time.Second}
	ch := make(chan queue.Job)
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				req, _ := http.NewRequest(j.Method, j.URL, strings.NewReader(j.Body))
				req.Header.Set("Idempotency-Key", j.ID)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	if sk.Count() != len(jobs) {
		b.Fatalf("sink got %d of %d", sk.Count(), len(jobs))
	}
	b.ReportMetric(float64(len(jobs))/elapsed.Seconds(), "postbacks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(jobs)), "cpu-us/postback")
}

func BenchmarkIngest(b *testing.B) {
	_, host := benchSink(b)
	s := benchServer(b, host, 16)
	if err := s.Listen(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + s.Addr()
	evs := benchEvents(b.N)
	lat := make([]time.Duration, 0, b.N)
	client := &http.Client{}
	b.ResetTimer()
	for _, ev := range evs {
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/apps/shop/events", bytes.NewReader(ev))
		req.Header.Set("Authorization", "Bearer shop-token-123")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("ingest: %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// postBatches sends evs to the shop app's ingest as NDJSON batches of 500
// and fails b unless each is accepted.
func postBatches(b *testing.B, base string, evs [][]byte) {
	b.Helper()
	for i := 0; i < len(evs); i += 500 {
		body := bytes.Join(evs[i:min(i+500, len(evs))], []byte("\n"))
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/apps/shop/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer shop-token-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("ingest: %d", resp.StatusCode)
		}
	}
}
