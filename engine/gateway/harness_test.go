package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/nats-io/nats-server/v2/server"
)

// captured is one request the capture sink received.
type captured struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string
}

// capture is a real HTTP server standing in for partners: it records every
// request and answers 200, unless behave says otherwise.
type capture struct {
	srv *httptest.Server

	mu     sync.Mutex
	reqs   []captured
	behave func(w http.ResponseWriter, r *http.Request) bool
	change chan struct{}
}

func newCapture(t *testing.T) *capture {
	c := &capture{change: make(chan struct{})}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		behave := c.behave
		c.mu.Unlock()
		if behave != nil && behave(w, r) {
			return
		}
		c.mu.Lock()
		c.reqs = append(c.reqs, captured{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
		close(c.change)
		c.change = make(chan struct{})
		c.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) setBehave(f func(w http.ResponseWriter, r *http.Request) bool) {
	c.mu.Lock()
	c.behave = f
	c.mu.Unlock()
}

func (c *capture) host() string { return strings.TrimPrefix(c.srv.URL, "http://") }

// matching returns the recorded requests whose path starts with prefix.
func (c *capture) matching(prefix string) []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []captured
	for _, r := range c.reqs {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// waitFor waits until at least n requests under prefix arrived.
func (c *capture) waitFor(t *testing.T, prefix string, n int, within time.Duration) []captured {
	t.Helper()
	deadline := time.After(within)
	for {
		c.mu.Lock()
		ch := c.change
		c.mu.Unlock()
		if got := c.matching(prefix); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			got := c.matching(prefix)
			t.Fatalf("waited %v for %d requests under %s, got %d", within, n, prefix, len(got))
			return nil
		}
	}
}

// testEnv is a running gateway on the testdata config, pointed at a sink.
type testEnv struct {
	t    *testing.T
	dir  string
	cfg  string
	srv  *Server
	base string
	stop func()
}

type envOpts struct {
	acmeTimeout string
	mutate      func(cfg string) string
	spec        func(id, text string) string // rewrites a partner spec
	opt         func(*Options)
	dir         string // reuse a data dir (restart tests)
	sinkHost    string // partners' host instead of the capture's (a real sink)
}

// writeConfig materialises testdata/gateway.yaml and the partner specs in
// dir, with the sink's address in the spec URLs.
func writeConfig(t testing.TB, dir, sinkHost string, eo envOpts) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "partners"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"acme", "beacon"} {
		b, err := os.ReadFile(filepath.Join("testdata", "partners", p+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("{{HOST}}"), []byte(sinkHost))
		b = bytes.ReplaceAll(b, []byte("../../../../schemas"), []byte("../../schemas"))
		if eo.spec != nil {
			b = []byte(eo.spec(p, string(b)))
		}
		if err := os.WriteFile(filepath.Join(dir, "partners", p+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	timeout := eo.acmeTimeout
	if timeout == "" {
		timeout = "2s"
	}
	cfg := strings.ReplaceAll(string(b), "{{ACME_TIMEOUT}}", timeout)
	if eo.mutate != nil {
		cfg = eo.mutate(cfg)
	}
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

func startEnv(t *testing.T, sink *capture, eo envOpts) (*testEnv, *syncBuffer) {
	t.Helper()
	dir := eo.dir
	if dir == "" {
		dir = t.TempDir()
	}
	host := eo.sinkHost
	if host == "" {
		host = sink.host()
	}
	cfgPath := writeConfig(t, dir, host, eo)
	logs := &syncBuffer{}
	opt := Options{
		ConfigPath: cfgPath,
		Listen:     "127.0.0.1:0",
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		WatchEvery: -1,
		Queue:      queue.Config{AckWait: 2 * time.Second, DiscoverEvery: 100 * time.Millisecond},
		// Every response of every test is checked against the OpenAPI
		// document.
		wrapHandler: checkedHandler(t, loadAPIDoc(t)),
	}
	if eo.opt != nil {
		eo.opt(&opt)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, opt)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	e := &testEnv{t: t, dir: dir, cfg: cfgPath, srv: srv, base: "http://" + srv.Addr(), stop: stop}
	waitReady(t, e.base)
	return e, logs
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("gateway at %s not ready", base)
}

// do sends a request and returns status, headers and body, following
// redirects.
func (e *testEnv) do(method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	return e.send(http.DefaultClient, method, path, body, hdr)
}

// noFollow is do without following redirects.
func (e *testEnv) noFollow(method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	return e.send(&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, method, path, body, hdr)
}

func (e *testEnv) send(c *http.Client, method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// ingest posts events for app shop with the app's bearer token and
// requires a 202.
func (e *testEnv) ingest(body []byte) Plan {
	e.t.Helper()
	code, _, b := e.do("POST", "/v1/apps/shop/events", body, bearer("shop-token-123"))
	if code != http.StatusAccepted {
		e.t.Fatalf("ingest: status %d: %s", code, b)
	}
	var pl Plan
	if err := json.Unmarshal(b, &pl); err != nil {
		e.t.Fatalf("ingest answer %s: %v", b, err)
	}
	return pl
}

// mkEvent builds an event: an Android install attributed to acme, changed
// by the given edits (dotted path -> value; nil deletes).
func mkEvent(id int64, name string, edits map[string]any) []byte {
	ev := map[string]any{
		"id":                              json.Number(fmt.Sprint(id)),
		"name":                            name,
		"timestamp":                       1767225600000,
		"last_attributed_touch_timestamp": 1767222000000,
		"days_from_last_attributed_touch_to_event": 0,
		"user_data": map[string]any{
			"os": "ANDROID", "os_version": "14", "aaid": "38400000-8cf0-11bd-b23e-10b96e40000d",
			"ip": "203.0.113.7", "country": "US",
		},
		"last_attributed_touch_data": map[string]any{"~click_id": "clk-1", "$3p": "a_acme", "~campaign": "spring"},
		"event_data":                 map[string]any{"revenue": json.Number("19.99"), "currency": "USD"},
		"custom_data":                map[string]any{"identity": "user-42"},
	}
	for path, v := range edits {
		parts := strings.Split(path, ".")
		m := ev
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		if v == nil {
			delete(m, parts[len(parts)-1])
		} else {
			m[parts[len(parts)-1]] = v
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// startNATS starts a JetStream nats-server on loopback for tests that run
// gateways against an external queue (externalQueue points a config at
// it); it stops with the test.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// externalQueue is an envOpts.mutate that points the test config's queue
// at the NATS server at url.
func externalQueue(url string) func(string) string {
	return func(cfg string) string {
		return strings.Replace(cfg, "limits:\n", "queue:\n  url: "+url+"\nlimits:\n", 1)
	}
}
