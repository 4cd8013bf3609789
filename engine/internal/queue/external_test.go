package queue

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startNATS runs a standalone nats-server with JetStream, as an external
// cluster would be, on port (0: any) with a token.
func startNATS(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = -1
	}
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		Authorization: "ext-token", NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	return s
}

// sharedConfig is the config of queues that share a standalone
// nats-server, as instances of a cluster do; the server stops with the
// test.
func sharedConfig(t *testing.T) Config {
	t.Helper()
	ns := startNATS(t, t.TempDir(), 0)
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	cfg := testConfig("")
	cfg.URL, cfg.Token = ns.ClientURL(), "ext-token"
	return cfg
}

func serverPort(t *testing.T, s *server.Server) int {
	_, p, err := net.SplitHostPort(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// An external server restarts under a running queue: the consumers come
// back by themselves and jobs enqueued before and after are delivered.
func TestExternalServerRestart(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, dir, 0)
	port := serverPort(t, ns)
	cfg := testConfig("")
	cfg.URL = "nats://127.0.0.1:" + strconv.Itoa(port)
	cfg.Token = "ext-token"
	q := openQueue(t, cfg)
	r := newRecorder(func(Job, int) Outcome { return Delivered() })
	runQueue(t, q, r)
	ctx := context.Background()
	if err := q.Enqueue(ctx, job("a", "p", "before")); err != nil {
		t.Fatal(err)
	}
	if c := r.await(t, 1)[0]; c.Job.ID != "before" {
		t.Fatalf("delivered %s", c.Job.ID)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	ns = startNATS(t, dir, port)
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()

	// Enqueue retries until the client has reconnected.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := q.Enqueue(ectx, job("a", "p", "after"), job("a", "q", "new-partner"))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("enqueue after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := map[string]bool{}
	for _, c := range r.await(t, 2) {
		got[c.Job.ID] = true
	}
	if !got["after"] || !got["new-partner"] {
		t.Fatalf("delivered after restart: %v", got)
	}
	if !q.Connected() {
		t.Error("Connected() = false after reconnect")
	}
}

func TestExternalServerNeedsCredentials(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	defer ns.Shutdown()
	cfg := testConfig("")
	cfg.URL = ns.ClientURL()
	cfg.Token = "wrong"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// With RetryOnFailedConnect the connection keeps trying; creating the
	// streams then fails instead of silently succeeding.
	if q, err := Open(ctx, cfg, testLogger(t)); err == nil {
		_ = q.Close()
		t.Fatal("Open succeeded with a wrong token")
	}
}

// With Listen set the embedded server accepts network clients, but only
// with the token generated for its data directory.
func TestEmbeddedListenerRequiresToken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Listen = addr
	q := openQueue(t, cfg)
	if err := q.Enqueue(context.Background(), job("a", "p", "1")); err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect("nats://"+addr, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("connected without a token")
	}
	tok, err := os.ReadFile(filepath.Join(dir, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://"+addr, nats.Token(strings.TrimSpace(string(tok))))
	if err != nil {
		t.Fatalf("connect with the data dir's token: %v", err)
	}
	nc.Close()

	// Without Listen there is no listener at all.
	q.Close()
	cfg.Listen = ""
	openQueue(t, cfg)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("embedded server listens without Listen")
	}
}

// An external server that does not answer at start fails Open with the
// connection's own error and the server's address, never its credentials.
func TestOpenExternalUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg := testConfig("")
	cfg.URL = "nats://user:s3cret-pass@" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	q, err := Open(ctx, cfg, testLogger(t))
	if err == nil {
		q.Close()
		t.Fatal("Open succeeded with nothing listening")
	}
	msg := err.Error()
	t.Logf("Open: %s", msg)
	if !strings.Contains(msg, "cannot reach NATS at "+addr+" (dial tcp") || strings.Contains(msg, "s3cret-pass") {
		t.Errorf("error = %q; want it to name %s and not the password", msg, addr)
	}
}
