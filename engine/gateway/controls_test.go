package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

const adminToken = "test-admin-token-1"

// partners is GET /v1/partners?app=shop, requiring a 200.
func (e *testEnv) partners() map[string]PartnerStatus {
	e.t.Helper()
	code, _, b := e.do("GET", "/v1/partners?app=shop", nil, bearer(adminToken))
	if code != http.StatusOK {
		e.t.Fatalf("GET /v1/partners: %d %s", code, b)
	}
	var out struct{ Partners []PartnerStatus }
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("GET /v1/partners: %v: %s", err, b)
	}
	m := map[string]PartnerStatus{}
	for _, p := range out.Partners {
		m[p.Partner] = p
	}
	return m
}

// control posts pause or resume for shop's partner, requiring a 200.
func (e *testEnv) control(action, partner, body string) PartnerStatus {
	e.t.Helper()
	code, _, b := e.do("POST", "/v1/apps/shop/partners/"+partner+"/"+action, []byte(body), bearer(adminToken))
	if code != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", action, partner, code, b)
	}
	var st PartnerStatus
	if err := json.Unmarshal(b, &st); err != nil {
		e.t.Fatalf("%s: %v: %s", action, err, b)
	}
	return st
}

// waitPartner polls GET /v1/partners until ok holds for partner.
func (e *testEnv) waitPartner(partner, what string, ok func(PartnerStatus) bool) PartnerStatus {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := e.partners()[partner]
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %s never held: %+v", partner, what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func queued(n uint64) func(PartnerStatus) bool {
	return func(st PartnerStatus) bool { return st.Backlog.Queued == n && st.Backlog.ToRender == 0 }
}

// ingestN posts n INSTALL events and returns acme's postback ids.
func ingestN(e *testEnv, first int64, n int) map[string]bool {
	ids := map[string]bool{}
	for i := range n {
		for _, pb := range e.ingest(mkEvent(first+int64(i), "INSTALL", nil)).Postbacks {
			if pb.Partner == "acme" {
				ids[pb.ID] = true
			}
		}
	}
	if len(ids) != n {
		e.t.Fatalf("planned %d acme postbacks, want %d", len(ids), n)
	}
	return ids
}

// deliveredOnce checks the sink got each of ids exactly once (by
// Idempotency-Key), and nothing else under /acme/.
func deliveredOnce(t *testing.T, sink *capture, ids map[string]bool) {
	t.Helper()
	got := sink.waitFor(t, "/acme/", len(ids), 30*time.Second)
	seen := map[string]int{}
	for _, r := range got {
		seen[r.Header.Get("Idempotency-Key")]++
	}
	for id := range ids {
		if seen[id] != 1 {
			t.Errorf("postback %s delivered %d times", id, seen[id])
		}
	}
	if len(got) != len(ids) {
		t.Errorf("sink got %d acme requests, want %d", len(got), len(ids))
	}
}

// A paused partner's postbacks are rendered and wait in the queue (the
// other partner of the app goes on); on resume each is delivered once.
func TestPauseHoldsPostbacks(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{})
	st := e.control("pause", "acme", `{"reason":"endpoint down"}`)
	if !st.Paused || st.PausedReason != "endpoint down" || st.PausedAt.IsZero() || st.PausedBy != "admin" {
		t.Fatalf("pause answered %+v", st)
	}
	first := st.PausedAt
	// Pausing again keeps paused_at and takes the new reason.
	if st = e.control("pause", "acme", `{"reason":"ticket 42"}`); !st.PausedAt.Equal(first) || st.PausedReason != "ticket 42" {
		t.Fatalf("second pause answered %+v", st)
	}
	ids := ingestN(e, 9100, 5)
	e.waitPartner("acme", "5 postbacks queued", queued(5))
	sink.waitFor(t, "/beacon/", 5, 30*time.Second)
	if got := sink.matching("/acme/"); len(got) != 0 {
		t.Fatalf("sink got %d acme requests while acme was paused", len(got))
	}
	_, _, metrics := e.do("GET", "/metrics", nil, bearer("test-metrics-token-1"))
	for _, want := range []string{`adgate_partner_paused{app="shop",partner="acme"} 1`, `adgate_partner_paused{app="shop",partner="beacon"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"partner paused","app":"shop","partner":"acme","by":"admin"`) {
		t.Error("no log line for the pause")
	}

	st = e.control("resume", "acme", "")
	if st.Paused || st.ResumedAt.IsZero() {
		t.Fatalf("resume answered %+v", st)
	}
	deliveredOnce(t, sink, ids)
	st = e.waitPartner("acme", "backlog drained", queued(0))
	if st.LastDelivered.IsZero() {
		t.Errorf("last_delivered not set: %+v", st)
	}
	if !strings.Contains(logs.String(), `"msg":"partner resumed","app":"shop","partner":"acme","by":"admin"`) {
		t.Error("no log line for the resume")
	}
	// Resuming what is not paused changes nothing.
	if again := e.control("resume", "acme", "{}"); !again.ResumedAt.Equal(st.ResumedAt) {
		t.Errorf("second resume moved resumed_at: %v -> %v", st.ResumedAt, again.ResumedAt)
	}
}

// A pause survives a restart: the next process starts paused.
func TestPauseSurvivesRestart(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	e.control("pause", "acme", "")
	e.stop()
	e2, _ := startEnv(t, sink, envOpts{dir: e.dir})
	if st := e2.partners()["acme"]; !st.Paused {
		t.Fatalf("after restart: %+v", st)
	}
	ids := ingestN(e2, 9200, 3)
	e2.waitPartner("acme", "3 postbacks queued", queued(3))
	if got := sink.matching("/acme/"); len(got) != 0 {
		t.Fatalf("sink got %d acme requests while acme was paused", len(got))
	}
	e2.control("resume", "acme", "")
	deliveredOnce(t, sink, ids)
}

// Two gateways on one JetStream: a pause made through one stops the
// other's deliveries, and a resume through the other lets them go.
func TestPauseAcrossInstances(t *testing.T) {
	ns := startNATS(t)
	shared := envOpts{mutate: externalQueue(ns.ClientURL())}
	sink := newCapture(t)
	a, _ := startEnv(t, sink, shared)
	b, _ := startEnv(t, sink, shared)
	a.control("pause", "acme", `{"reason":"via a"}`)
	b.waitPartner("acme", "paused as b sees it", func(st PartnerStatus) bool { return st.Paused && st.PausedReason == "via a" })
	ids := ingestN(b, 9300, 4)
	b.waitPartner("acme", "4 postbacks queued", queued(4))
	if got := sink.matching("/acme/"); len(got) != 0 {
		t.Fatalf("sink got %d acme requests while acme was paused", len(got))
	}
	b.control("resume", "acme", "")
	a.waitPartner("acme", "resumed as a sees it", func(st PartnerStatus) bool { return !st.Paused })
	deliveredOnce(t, sink, ids)
}

// A postback whose window closes while its partner is paused is
// dead-lettered on resume, unsent, and the reason says it waited paused.
func TestWindowClosesWhilePaused(t *testing.T) {
	sink := newCapture(t)
	// acme's window is 7 days and an event on day 7 has one more day:
	// received on a clock a day (less 3 seconds) behind, its window
	// closes 3 seconds from now.
	const left = 3 * time.Second
	e, _ := startEnv(t, sink, envOpts{opt: func(o *Options) {
		o.Now = func() time.Time { return time.Now().Add(-24*time.Hour + left) }
	}})
	e.control("pause", "acme", "")
	pl := e.ingest(mkEvent(9400, "INSTALL", map[string]any{"days_from_last_attributed_touch_to_event": 7}))
	closes := time.Now().Add(left)
	var id string
	for _, pb := range pl.Postbacks {
		if pb.Partner == "acme" {
			id = pb.ID
		}
	}
	if id == "" {
		t.Fatalf("no acme postback planned: %+v", pl)
	}
	e.waitPartner("acme", "1 postback queued", queued(1))
	// Waiting out the window is the point of the test, not a timing
	// assertion.
	time.Sleep(time.Until(closes) + 500*time.Millisecond)
	e.control("resume", "acme", "")
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, b := e.do("GET", "/v1/deadletters?app=shop&partner=acme", nil, bearer(adminToken))
		var out struct {
			DeadLetters []deadLetterView `json:"dead_letters"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.DeadLetters) == 1 {
			d := out.DeadLetters[0]
			t.Logf("dead letter reason: %s", d.Reason)
			if d.PostbackID != id || !strings.HasPrefix(d.Reason, "outside postback window: it closed at ") ||
				!strings.Contains(d.Reason, " while the partner was paused (since ") {
				t.Fatalf("dead letter %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := sink.matching("/acme/"); len(got) != 0 {
		t.Fatalf("sink got %d acme requests for a postback past its window", len(got))
	}
}

// The status shows the effective policy, and a reload applies new
// breaker thresholds and rate limits to it at once.
func TestPartnerStatusFollowsReload(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	st := e.partners()["acme"]
	p := st.Policy
	if p.Timeout != "2s" || p.MaxAttempts != 10 || p.MaxAge != "24h0m0s" || p.Concurrency != 4 || p.RatePerSecond != 0 || p.Burst != 1 ||
		p.Breaker.FailureRatio != 0.5 || p.Breaker.MinRequests != 20 || p.Breaker.Window != "30s" || p.Breaker.OpenFor != "30s" || p.Breaker.HalfOpenProbes != 1 {
		t.Fatalf("default policy %+v", p)
	}
	if st.Breaker.State != "closed" || st.Paused {
		t.Fatalf("status %+v", st)
	}
	cfg, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(cfg), "          allow_hosts: [127.0.0.1]\n      - id: beacon",
		"          allow_hosts: [127.0.0.1]\n          rate_per_second: 7.5\n          success_codes: [200, 204]\n"+
			"          breaker: {failure_ratio: 0.25, min_requests: 4, window: 10s, open_for: 1m, half_open_probes: 2}\n      - id: beacon", 1)
	if changed == string(cfg) {
		t.Fatal("config edit did not apply")
	}
	if err := os.WriteFile(e.cfg, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, b := e.do("POST", "/v1/reload", nil, bearer(adminToken)); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, b)
	}
	p = e.partners()["acme"].Policy
	if p.RatePerSecond != 7.5 || fmt.Sprint(p.SuccessCodes) != "[200 204]" || p.Breaker.FailureRatio != 0.25 || p.Breaker.MinRequests != 4 ||
		p.Breaker.Window != "10s" || p.Breaker.OpenFor != "1m0s" || p.Breaker.HalfOpenProbes != 2 {
		t.Fatalf("policy after reload %+v", p)
	}
	// A failing host opens its breaker under the new thresholds, and the
	// status shows it with the failures that opened it and the last error.
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/acme/") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	ingestN(e, 9500, 4)
	st = e.waitPartner("acme", "breaker open", func(st PartnerStatus) bool { return st.Breaker.State == "open" })
	if len(st.Breaker.Hosts) != 1 || st.Breaker.Hosts[0].Failures < 4 || st.Breaker.Hosts[0].OpenedAt.IsZero() {
		t.Errorf("breaker hosts %+v", st.Breaker.Hosts)
	}
	if st.LastError == nil || st.LastError.StatusCode != http.StatusServiceUnavailable || st.LastError.Error != "HTTP 503" {
		t.Errorf("last error %+v", st.LastError)
	}
}

// Unknown apps and partners are 404s; unknown parameters and fields and
// oversized reasons are 400s, oversized bodies 413s; credentials are
// required.
func TestControlsRefuse(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	long := strings.Repeat("x", maxPauseReason+1)
	for _, tc := range []struct {
		method, path, body string
		hdr                map[string]string
		code               int
		msg                string
	}{
		{"POST", "/v1/apps/nope/partners/acme/pause", "", bearer(adminToken), 404, `unknown app "nope"`},
		{"POST", "/v1/apps/shop/partners/nope/pause", "", bearer(adminToken), 404, `partner "nope" is not enabled for app "shop"`},
		{"POST", "/v1/apps/shop/partners/nope/resume", "", bearer(adminToken), 404, `partner "nope" is not enabled for app "shop"`},
		{"GET", "/v1/partners?app=nope", "", bearer(adminToken), 404, `unknown app "nope"`},
		{"GET", "/v1/partners?ap=shop", "", bearer(adminToken), 400, `unknown query parameter "ap" (accepted: app)`},
		{"POST", "/v1/apps/shop/partners/acme/pause?reason=x", "", bearer(adminToken), 400, `unknown query parameter "reason" (this endpoint takes none)`},
		{"POST", "/v1/apps/shop/partners/acme/pause", `{"reason":"x","until":"later"}`, bearer(adminToken), 400, `json: unknown field "until"`},
		{"POST", "/v1/apps/shop/partners/acme/pause", `{"reason":"` + long + `"}`, bearer(adminToken), 400, "reason is longer than 1024 bytes"},
		{"POST", "/v1/apps/shop/partners/acme/pause", `{"reason":"` + strings.Repeat("x", maxControlBody) + `"}`, bearer(adminToken), 413, "body exceeds 8192 bytes"},
		{"POST", "/v1/apps/shop/partners/acme/pause", `{"reason":"x"} {}`, bearer(adminToken), 400, "unexpected data after the JSON value"},
		{"POST", "/v1/apps/shop/partners/acme/resume", `{"reason":"x"}`, bearer(adminToken), 400, `json: unknown field "reason"`},
		{"POST", "/v1/apps/shop/partners/acme/pause", "", nil, 401, "admin endpoint: send Authorization: Bearer <admin_token>"},
		{"GET", "/v1/partners", "", bearer("wrong"), 403, "admin token not accepted"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, _, b := e.do(tc.method, tc.path, []byte(tc.body), tc.hdr)
			var er apiError
			if err := json.Unmarshal(b, &er); err != nil || code != tc.code || !strings.Contains(er.Error, tc.msg) {
				t.Fatalf("%d %s, want %d with %q", code, b, tc.code, tc.msg)
			}
		})
	}
	if st := e.partners()["acme"]; st.Paused {
		t.Fatalf("a refused request paused acme: %+v", st)
	}
}
