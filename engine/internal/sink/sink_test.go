package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the sink's concurrent writes and
// the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCapturesRequestsAsJSONLines(t *testing.T) {
	out := &syncBuffer{}
	s := New(Options{Out: out, MaxBody: 8})
	srv := httptest.NewServer(s)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/pb?a=1&b=%2B", strings.NewReader("0123456789"))
	req.Header.Set("Idempotency-Key", "pb-1")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "{\"ok\":true,\"seq\":1}\n" {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	var r Record
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.URL != "/v1/pb?a=1&b=%2B" || r.Body != "01234567" || !r.Truncated ||
		r.Headers["Idempotency-Key"] != "pb-1" || r.Headers["X-Multi"] != "one, two" || r.Status != 200 || r.Seq != 1 || r.Time.IsZero() {
		t.Fatalf("record %+v", r)
	}
	// Query strings stay readable: no HTML escaping of & < > in the line.
	if !strings.Contains(lines[0], `"url":"/v1/pb?a=1&b=%2B"`) || strings.Contains(lines[0], `\u0026`) {
		t.Errorf("url escaped in line: %s", lines[0])
	}
	for _, key := range []string{`"time":`, `"method":`, `"url":`, `"headers":`, `"body":`} {
		if !strings.Contains(lines[0], key) {
			t.Errorf("line lacks %s: %s", key, lines[0])
		}
	}
	if got := s.Requests(); len(got) != 1 || got[0].URL != r.URL {
		t.Fatalf("Requests() = %+v", got)
	}
}

func statuses(t *testing.T, opt Options, n int) []int {
	t.Helper()
	s := New(opt)
	srv := httptest.NewServer(s)
	defer srv.Close()
	var out []int
	for range n {
		resp, err := http.Get(srv.URL + "/pb")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	return out
}

func TestFailures(t *testing.T) {
	got := statuses(t, Options{FailFirst: 2, Status: 204, FailStatus: 500}, 4)
	if fmt.Sprint(got) != "[500 500 204 204]" {
		t.Fatalf("fail-first statuses %v", got)
	}
	// The same seed fails the same requests; the rate is about right.
	a := statuses(t, Options{FailRate: 0.3, Seed: 7}, 200)
	b := statuses(t, Options{FailRate: 0.3, Seed: 7}, 200)
	c := statuses(t, Options{FailRate: 0.3, Seed: 8}, 200)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("same seed, different failures")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds, same failures")
	}
	fails := 0
	for _, st := range a {
		if st == 503 {
			fails++
		}
	}
	if fails < 30 || fails > 90 {
		t.Fatalf("%d of 200 failed at rate 0.3", fails)
	}
}

func TestRetryAfterAndLatency(t *testing.T) {
	s := New(Options{FailFirst: 1, RetryAfter: "3", Latency: 20 * time.Millisecond})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for i, want := range []string{"3", ""} {
		start := time.Now()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Retry-After"); got != want {
			t.Errorf("request %d: Retry-After %q, want %q", i, got, want)
		}
		if time.Since(start) < 20*time.Millisecond {
			t.Errorf("request %d answered before the latency", i)
		}
	}
}

func TestWait(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	go func() {
		for range 3 {
			if resp, err := http.Get(srv.URL); err == nil {
				resp.Body.Close()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := s.Wait(ctx, 3)
	if err != nil || len(recs) != 3 {
		t.Fatalf("Wait = %d records, %v", len(recs), err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := s.Wait(short, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait for a 4th = %v", err)
	}
}

func TestKeepBoundsMemory(t *testing.T) {
	s := New(Options{Keep: 2})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for i := range 5 {
		resp, err := http.Get(fmt.Sprintf("%s/%d", srv.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	recs := s.Requests()
	if s.Count() != 5 || len(recs) != 2 || recs[0].URL != "/3" || recs[1].URL != "/4" {
		t.Fatalf("count %d, kept %+v", s.Count(), recs)
	}
}

// Serve lets a request in flight finish when its context ends.
func TestServeShutsDownGracefully(t *testing.T) {
	s := New(Options{Latency: 200 * time.Millisecond})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, s, 5*time.Second) }()
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/x")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if _, err := s.Wait(wctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if code := <-got; code != 200 {
		t.Fatalf("in-flight request got %d", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + l.Addr().String() + "/x"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestRing(t *testing.T) {
	rec := func(url string, body int) Record { return Record{URL: url, Body: strings.Repeat("x", body)} }
	tests := []struct {
		name     string
		max      int
		maxBytes int64
		push     []Record
		want     string
	}{
		{"under the bound", 3, 1 << 20, []Record{rec("a", 0), rec("b", 0)}, "a b"},
		{"count bound wraps", 3, 1 << 20, []Record{rec("a", 0), rec("b", 0), rec("c", 0), rec("d", 0), rec("e", 0)}, "c d e"},
		{"many laps", 2, 1 << 20, []Record{rec("a", 0), rec("b", 0), rec("c", 0), rec("d", 0), rec("e", 0), rec("f", 0), rec("g", 0)}, "f g"},
		// Sizes count URL and body: "a"+9 = 10 bytes each.
		{"byte bound", 10, 25, []Record{rec("a", 9), rec("b", 9), rec("c", 9), rec("d", 9)}, "c d"},
		{"byte bound then count bound", 3, 25, []Record{rec("a", 9), rec("b", 9), rec("c", 9), rec("d", 0), rec("e", 0), rec("f", 0)}, "d e f"},
		{"one record over the byte bound is kept alone", 10, 5, []Record{rec("a", 0), rec("b", 50)}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ring{max: tt.max, maxBytes: tt.maxBytes}
			for _, p := range tt.push {
				r.push(p)
			}
			var got []string
			for _, k := range r.all() {
				got = append(got, k.URL)
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("kept %q, want %q", got, tt.want)
			}
			if len(r.buf) > tt.max {
				t.Fatalf("buffer grew to %d slots, bound %d", len(r.buf), tt.max)
			}
			var bytes int64
			for _, k := range r.all() {
				bytes += recordSize(&k)
			}
			if bytes != r.bytes {
				t.Fatalf("byte count %d, kept records hold %d", r.bytes, bytes)
			}
		})
	}
}

// BenchmarkServeHTTP measures one request after prior ones: ns/op must
// not grow with prior (it grew with it when the kept records were copied
// on every request past Keep).
func BenchmarkServeHTTP(b *testing.B) {
	for _, prior := range []int{0, 10_000, 200_000, 1_000_000} {
		b.Run(fmt.Sprintf("prior=%d", prior), func(b *testing.B) {
			s := New(Options{Out: io.Discard})
			req := httptest.NewRequest("GET", "/pb/acme?click_id=abc123&event=install&os=android", nil)
			req.Header.Set("Idempotency-Key", "pb-1")
			w := &discardResponse{h: http.Header{}}
			for range prior {
				s.ServeHTTP(w, req)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s.ServeHTTP(w, req)
			}
		})
	}
}

// discardResponse is a ResponseWriter that keeps nothing, so the benchmark
// measures the sink rather than a recorder's growing buffer.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardResponse) WriteHeader(int)             {}
