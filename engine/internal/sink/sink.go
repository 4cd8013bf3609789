// Package sink is a capture server for postbacks: it answers every request
// and records it (time, method, path and query, headers, body) as one JSON
// line per request, keeping the most recent ones in memory. `adgate sink`
// serves it for demos; tests use it in process. It can fail on purpose,
// deterministically, to exercise retries.
//
// A request costs the same however many came before: the records kept in
// memory are a fixed-size ring, bounded in count and bytes, and Out gets
// every line as it happens.
package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Sink. The zero value answers 200 to everything.
type Options struct {
	// Out receives one JSON line per request; nil writes nothing.
	Out io.Writer
	// Status answers every request that does not fail (default 200).
	Status int
	// FailFirst makes the first N requests fail.
	FailFirst int
	// FailRate makes this fraction of the remaining requests fail, chosen
	// by a generator seeded with Seed, so a run is reproducible.
	FailRate float64
	Seed     uint64
	// FailStatus answers failed requests (default 503); RetryAfter, if
	// set, is sent with them as the Retry-After header.
	FailStatus int
	RetryAfter string
	// Latency delays every answer (cut short if the client goes away).
	Latency time.Duration
	// MaxBody bounds the body kept per request (default 1 MiB); longer
	// bodies are truncated and flagged.
	MaxBody int64
	// Keep bounds the requests kept in memory (default 1000), KeepBytes
	// their summed body and header sizes (default 16 MiB); the oldest are
	// dropped first, the newest is always kept. Out still gets every one.
	Keep      int
	KeepBytes int64
}

// Record is one captured request.
type Record struct {
	Time    time.Time         `json:"time"`
	Method  string            `json:"method"`
	URL     string            `json:"url"` // path and query
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	// Truncated is set when the body exceeded MaxBody.
	Truncated bool `json:"truncated,omitempty"`
	// Status is what the sink answered.
	Status int `json:"status"`
	// Seq numbers requests from 1 in arrival order.
	Seq int `json:"seq"`
}

// Sink is an http.Handler that captures requests. Safe for concurrent use.
type Sink struct {
	opt Options

	mu     sync.Mutex
	rng    *rand.Rand
	seq    int
	kept   ring
	outErr error
	line   bytes.Buffer  // reused for each JSON line, guarded by mu
	enc    *json.Encoder // writes to line
	// changed, when a Wait is waiting, is closed by the next request; nil
	// otherwise, so requests nobody waits for allocate no channel.
	changed chan struct{}
}

// New returns a Sink.
func New(opt Options) *Sink {
	if opt.Status == 0 {
		opt.Status = http.StatusOK
	}
	if opt.FailStatus == 0 {
		opt.FailStatus = http.StatusServiceUnavailable
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = 1 << 20
	}
	if opt.Keep <= 0 {
		opt.Keep = 1000
	}
	if opt.KeepBytes <= 0 {
		opt.KeepBytes = 16 << 20
	}
	s := &Sink{
		opt:  opt,
		rng:  rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)),
		kept: ring{max: opt.Keep, maxBytes: opt.KeepBytes},
	}
	s.enc = json.NewEncoder(&s.line)
	// No HTML escaping: URLs keep their & readable (encoding/json would
	// write \u0026), and the output is never embedded in HTML.
	s.enc.SetEscapeHTML(false)
	return s
}

// ServeHTTP captures the request, waits Latency, and answers.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opt.MaxBody+1))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	truncated := int64(len(body)) > s.opt.MaxBody
	if truncated {
		body = body[:s.opt.MaxBody]
	}
	headers := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		headers[k] = strings.Join(v, ", ")
	}
	rec := Record{
		Time: time.Now().UTC(), Method: r.Method, URL: r.URL.RequestURI(), Headers: headers,
		Body: string(body), Truncated: truncated,
	}

	s.mu.Lock()
	s.seq++
	rec.Seq = s.seq
	fail := s.seq <= s.opt.FailFirst
	if !fail && s.opt.FailRate > 0 {
		fail = s.rng.Float64() < s.opt.FailRate
	}
	rec.Status = s.opt.Status
	if fail {
		rec.Status = s.opt.FailStatus
	}
	s.kept.push(rec)
	if s.opt.Out != nil && s.outErr == nil {
		// Encoded under the lock so lines come out in Seq order.
		s.line.Reset()
		if s.outErr = s.enc.Encode(rec); s.outErr == nil {
			_, s.outErr = s.opt.Out.Write(s.line.Bytes()) // one whole line per Write
		}
	}
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	s.mu.Unlock()

	if s.opt.Latency > 0 {
		t := time.NewTimer(s.opt.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if fail && s.opt.RetryAfter != "" {
		w.Header().Set("Retry-After", s.opt.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.Status)
	ok := rec.Status >= 200 && rec.Status < 300
	fmt.Fprintf(w, "{\"ok\":%t,\"seq\":%d}\n", ok, rec.Seq)
}

// Requests returns a copy of the kept requests, oldest first.
func (s *Sink) Requests() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kept.all()
}

// Count returns how many requests arrived.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// Err reports the first error writing to Out.
func (s *Sink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outErr
}

// Wait blocks until at least n requests arrived, then returns the kept
// requests.
func (s *Sink) Wait(ctx context.Context, n int) ([]Record, error) {
	for {
		s.mu.Lock()
		if s.seq >= n {
			out := s.kept.all()
			s.mu.Unlock()
			return out, nil
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch, got := s.changed, s.seq
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sink: %d of %d requests arrived: %w", got, n, ctx.Err())
		case <-ch:
		}
	}
}

// ring holds the most recent records: at most max of them, and no more
// than maxBytes of bodies and headers unless a single record is larger.
// Pushing is O(1) whatever the count: the slice is allocated once (up to
// max) and overwritten in place.
type ring struct {
	max      int
	maxBytes int64
	buf      []Record
	head, n  int // buf[head] is the oldest of the n kept
	bytes    int64
}

func recordSize(r *Record) int64 {
	n := len(r.Body) + len(r.URL)
	for k, v := range r.Headers {
		n += len(k) + len(v)
	}
	return int64(n)
}

func (r *ring) push(rec Record) {
	size := recordSize(&rec)
	for r.n > 0 && (r.n == r.max || r.bytes+size > r.maxBytes) {
		r.bytes -= recordSize(&r.buf[r.head])
		r.buf[r.head] = Record{} // let the dropped body go
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	if len(r.buf) < r.max && r.head+r.n == len(r.buf) {
		r.buf = append(r.buf, rec)
	} else {
		r.buf[(r.head+r.n)%len(r.buf)] = rec
	}
	r.n++
	r.bytes += size
}

// all copies the kept records out, oldest first.
func (r *ring) all() []Record {
	out := make([]Record, r.n)
	for i := range out {
		out[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	return out
}

// Serve serves h on l until ctx ends, then shuts down gracefully, giving
// requests in flight up to grace to finish.
func Serve(ctx context.Context, l net.Listener, h http.Handler, grace time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sink: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("sink: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sink: serve: %w", err)
	}
	return nil
}
