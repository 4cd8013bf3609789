package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestReadyzFollowsQueueWrites: while the work stream refuses writes (full:
// at its byte limit, as on a full disk) /readyz answers 503 and
// adgate_queue_writable is 0, though the connection stays up; once writes
// go through again both recover. /readyz used to stay 200 throughout.
func TestReadyzFollowsQueueWrites(t *testing.T) {
	ns := startNATS(t)
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{mutate: externalQueue(ns.ClientURL())})
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A full disk refuses writes to every stream: the events ingest
	// stores and the postbacks their render workers enqueue.
	setMaxBytes := func(n int64) {
		t.Helper()
		for _, name := range []string{"ADGATE_EV", "ADGATE_PB"} {
			st, err := js.Stream(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			sc := st.CachedInfo().Config
			sc.MaxBytes = n
			if _, err := js.UpdateStream(ctx, sc); err != nil {
				t.Fatal(err)
			}
		}
	}
	ready := func(want int) map[string]string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, _, body := e.do("GET", "/readyz", nil, nil)
			if code == want {
				var st map[string]string
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz stayed %d %s, want %d", code, body, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	writable := func() string {
		t.Helper()
		_, _, body := e.do("GET", "/metrics", nil, bearer("test-metrics-token-1"))
		for line := range strings.SplitSeq(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "adgate_queue_writable "); ok {
				return v
			}
		}
		t.Fatal("no adgate_queue_writable in /metrics")
		return ""
	}

	setMaxBytes(1)
	if st := ready(http.StatusServiceUnavailable); st["status"] != "queue not writable" {
		t.Errorf("status %q", st["status"])
	}
	if w := writable(); w != "0" {
		t.Errorf("adgate_queue_writable %s while the stream refuses writes", w)
	}
	if !e.srv.q.Connected() {
		t.Error("the connection went down; the test meant to keep it up")
	}
	if code, _, body := e.do("POST", "/v1/apps/shop/events", mkEvent(9001, "INSTALL", nil), bearer("shop-token-123")); code != http.StatusServiceUnavailable {
		t.Errorf("ingest into a full stream: %d %s", code, body)
	}
	if !strings.Contains(logs.String(), "queue stopped accepting writes") {
		t.Error("the change was not logged")
	}
	setMaxBytes(-1)
	ready(http.StatusOK)
	if w := writable(); w != "1" {
		t.Errorf("adgate_queue_writable %s after recovery", w)
	}
	e.ingest(mkEvent(9002, "INSTALL", nil))

	// A work message that is not a job is counted as lost, not only
	// dead-lettered.
	if _, err := js.Publish(ctx, "adgate.pb.shop.acme", []byte("not a job")); err != nil {
		t.Fatal(err)
	}
	const lost = `adgate_queue_lost_total{reason="undecodable",stream="ADGATE_PB"} 1`
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, body := e.do("GET", "/metrics", nil, bearer("test-metrics-token-1"))
		if strings.Contains(string(body), lost) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %s", lost)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"msg":"queue: postbacks lost"`) {
		t.Error("the loss was not logged as an error")
	}
}
