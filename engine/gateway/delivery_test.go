package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestIsolation: acme's endpoint hangs; beacon's postbacks keep flowing at
// their normal latency and none waits behind acme's.
func TestIsolation(t *testing.T) {
	sink := newCapture(t)
	release := make(chan struct{})
	var hung atomic.Int32
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/acme/") {
			return false
		}
		hung.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	e, _ := startEnv(t, sink, envOpts{acmeTimeout: "60s"})
	defer close(release)

	const n = 20
	for i := range n {
		if pl := e.ingest(mkEvent(int64(5000+i), "INSTALL", nil)); len(pl.Postbacks) != 2 {
			t.Fatalf("event %d planned %+v", i, pl.Postbacks)
		}
	}
	sink.waitFor(t, "/beacon/", n, 15*time.Second)
	if got := len(sink.matching("/acme/")); got != 0 {
		t.Fatalf("acme answered %d requests while hanging", got)
	}
	if hung.Load() == 0 {
		t.Fatal("acme was never called")
	}
	var worst float64
	for _, a := range listAttemptsT(t, e.srv, attemptFilter{Partner: "beacon", Limit: 1000}) {
		if a.Status != "delivered" {
			t.Errorf("beacon attempt %+v", a)
		}
		worst = max(worst, a.LatencyMS)
	}
	t.Logf("beacon: %d postbacks delivered while acme hangs; slowest attempt %.1f ms", n, worst)
	// A bound two orders of magnitude under acme's 60 s hang: beacon never
	// waited on acme's requests.
	if worst > 2000 {
		t.Errorf("a beacon attempt took %.0f ms while acme hung", worst)
	}
	// acme's first attempts hang in flight; once it has had no free slot
	// for a second, its render worker queues the rest (stuckAfter). Both
	// count in the depth.
	waitFor(t, "acme's backlog of 20 in metrics", func() bool {
		_, _, m := e.do(http.MethodGet, "/metrics", nil, bearer("test-metrics-token-1"))
		return strings.Contains(string(m), `adgate_queue_depth{app="shop",partner="acme"} 20`)
	})
}

// TestRetryDeadLetterReplay: acme fails twice with 503 then accepts;
// beacon answers 400, which is permanent, so the postback is dead-lettered
// and, once beacon is fixed, replayed with the same Idempotency-Key.
func TestRetryDeadLetterReplay(t *testing.T) {
	sink := newCapture(t)
	var mu sync.Mutex
	acmeCalls, beaconBroken := 0, true
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/acme/"):
			acmeCalls++
			if acmeCalls <= 2 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
		case strings.HasPrefix(r.URL.Path, "/beacon/") && beaconBroken:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"unknown account"}`))
			return true
		}
		return false
	})
	e, _ := startEnv(t, sink, envOpts{})
	pl := e.ingest(mkEvent(77, "INSTALL", nil))
	ids := map[string]string{}
	for _, pb := range pl.Postbacks {
		ids[pb.Partner] = pb.ID
	}
	got := sink.waitFor(t, "/acme/", 1, 30*time.Second)
	if got[0].Header.Get("Idempotency-Key") != ids["acme"] {
		t.Errorf("retried acme postback has key %q", got[0].Header.Get("Idempotency-Key"))
	}
	waitFor(t, "acme's third attempt to be recorded", func() bool {
		return len(listAttemptsT(t, e.srv, attemptFilter{Partner: "acme", Limit: 10})) >= 3
	})
	var acmeAttempts []Attempt
	for _, a := range listAttemptsT(t, e.srv, attemptFilter{Partner: "acme", Limit: 10}) {
		acmeAttempts = append([]Attempt{a}, acmeAttempts...) // oldest first
	}
	if len(acmeAttempts) != 3 || acmeAttempts[0].Status != "retry" || acmeAttempts[0].StatusCode != 503 ||
		acmeAttempts[1].Status != "retry" || acmeAttempts[2].Status != "delivered" || acmeAttempts[2].Attempt != 3 {
		t.Errorf("acme attempts %+v", acmeAttempts)
	}

	admin := bearer("test-admin-token-1")
	var dead struct {
		DeadLetters []deadLetterView `json:"dead_letters"`
	}
	waitFor(t, "beacon's dead letter", func() bool {
		_, _, b := e.do(http.MethodGet, "/v1/deadletters?partner=beacon", nil, admin)
		_ = json.Unmarshal(b, &dead)
		return len(dead.DeadLetters) == 1
	})
	if d := dead.DeadLetters[0]; d.PostbackID != ids["beacon"] || !strings.Contains(d.Reason, "400") {
		t.Errorf("dead letter %+v", d)
	}
	if n := len(listAttemptsT(t, e.srv, attemptFilter{Partner: "beacon", Limit: 10})); n != 1 {
		t.Errorf("a 400 was attempted %d times; it is permanent", n)
	}

	mu.Lock()
	beaconBroken = false
	mu.Unlock()
	code, _, b := e.do(http.MethodPost, "/v1/deadletters/replay", []byte(`{"partner":"beacon"}`), admin)
	if code != http.StatusOK || !strings.Contains(string(b), `"replayed":1`) {
		t.Fatalf("replay: %d %s", code, b)
	}
	got = sink.waitFor(t, "/beacon/", 1, 10*time.Second)
	if got[0].Header.Get("Idempotency-Key") != ids["beacon"] {
		t.Errorf("replayed postback has key %q, want %q", got[0].Header.Get("Idempotency-Key"), ids["beacon"])
	}
	if code, _, b := e.do(http.MethodPost, "/v1/deadletters/replay", []byte(`{"since":"yesterday"}`), admin); code != http.StatusBadRequest {
		t.Errorf("bad replay filter: %d %s", code, b)
	}
	// The sink sees the request before the sender has the answer it
	// counts: wait for the count.
	want := []string{
		`adgate_postbacks_retried_total{app="shop",partner="acme",status_class="5xx"} 2`,
		`adgate_postbacks_dead_lettered_total{app="shop",partner="beacon",status_class="4xx"} 1`,
		`adgate_postbacks_delivered_total{app="shop",partner="beacon",status_class="2xx"} 1`,
	}
	waitFor(t, "the attempts counted in the metrics", func() bool {
		_, _, m := e.do(http.MethodGet, "/metrics", nil, bearer("test-metrics-token-1"))
		for _, s := range want {
			if !strings.Contains(string(m), s) {
				return false
			}
		}
		return true
	})
}

// TestQueueRestart: postbacks still queued when the gateway stops are
// delivered by the next gateway on the same data dir.
func TestQueueRestart(t *testing.T) {
	sink := newCapture(t)
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		calls.Add(1)
		if down.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	dir := t.TempDir()
	e, _ := startEnv(t, sink, envOpts{dir: dir})
	pl := e.ingest(mkEvent(9001, "INSTALL", nil))
	waitFor(t, "a first failed attempt", func() bool { return calls.Load() >= 2 })
	e.stop()

	down.Store(false)
	e2, _ := startEnv(t, sink, envOpts{dir: dir})
	got := sink.waitFor(t, "/", 2, 15*time.Second)
	keys := map[string]bool{}
	for _, r := range got {
		keys[r.Header.Get("Idempotency-Key")] = true
	}
	for _, pb := range pl.Postbacks {
		if !keys[pb.ID] {
			t.Errorf("postback %s (%s) not delivered after the restart", pb.ID, pb.Partner)
		}
	}
	_ = e2
}

// TestBacklogBackpressure: while more postbacks than limits.max_queue_pending
// wait in the queue, ingest answers 503 with Retry-After; once the backlog
// drains, events are accepted again.
func TestBacklogBackpressure(t *testing.T) {
	sink := newCapture(t)
	release := make(chan struct{})
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/acme/") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return false
	})
	e, _ := startEnv(t, sink, envOpts{acmeTimeout: "60s", mutate: func(c string) string {
		return strings.Replace(c, "max_batch_events: 5", "max_batch_events: 5\n  max_queue_pending: 3", 1)
	}})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	for i := range 5 {
		e.ingest(mkEvent(int64(8000+i), "INSTALL", nil))
	}
	var hdr http.Header
	var body []byte
	waitFor(t, "a 503 for the backlog", func() bool {
		var code int
		code, hdr, body = e.do(http.MethodPost, "/v1/apps/shop/events", mkEvent(8100, "INSTALL", nil), bearer("shop-token-123"))
		return code == http.StatusServiceUnavailable
	})
	if hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "backlog") {
		t.Errorf("backlog answer %v %s", hdr, body)
	}
	close(release)
	released = true
	waitFor(t, "ingest to accept again", func() bool {
		code, _, _ := e.do(http.MethodPost, "/v1/apps/shop/events", mkEvent(8101, "INSTALL", nil), bearer("shop-token-123"))
		return code == http.StatusAccepted
	})
}
