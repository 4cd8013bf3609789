//go:build unix

package gateway

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// With an external NATS server down, ingest answers 503 with Retry-After
// at once instead of holding the sender until the server is back; once it
// is back, ingest accepts again.
func TestIngestWhileExternalQueueDown(t *testing.T) {
	natsDir := t.TempDir()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: natsDir, NoSigs: true, NoLog: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	defer func() { ns.Shutdown() }()

	sink := newCapture(t)
	env, _ := startEnv(t, sink, envOpts{mutate: func(cfg string) string {
		return strings.Replace(cfg, "limits:\n", "queue:\n  url: "+url+"\nlimits:\n", 1)
	}})
	env.ingest(mkEvent(1, "INSTALL", nil))

	ns.Shutdown()
	ns.WaitForShutdown()
	for env.srv.q.Connected() {
		time.Sleep(10 * time.Millisecond)
	}
	code, hdr, body := env.do("POST", "/v1/apps/shop/events", mkEvent(2, "INSTALL", nil), bearer("shop-token-123"))
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("queue down: status %d, Retry-After %q: %s; want 503 with Retry-After", code, hdr.Get("Retry-After"), body)
	}

	// Back on the same address and store: the client reconnects by itself.
	opts.Port = port
	ns, err = server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not restart")
	}
	for !env.srv.q.Connected() {
		time.Sleep(10 * time.Millisecond)
	}
	env.ingest(mkEvent(3, "INSTALL", nil))
	sink.waitFor(t, "/", 2, 20*time.Second)
}
