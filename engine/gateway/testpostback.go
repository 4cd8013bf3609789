package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/spec"
)

// TestResult answers POST /v1/apps/{app}/partners/{partner}/test.
type TestResult struct {
	PostbackID string            `json:"postback_id"`
	Postback   string            `json:"postback"`
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
	Outcome    string            `json:"outcome"`
	StatusCode int               `json:"status_code,omitempty"`
	Body       string            `json:"body,omitempty"`
	LatencyMS  float64           `json:"latency_ms"`
	Error      string            `json:"error,omitempty"`
}

// handleTest sends one test postback, rendered from a sample event (or the
// event in the body), straight to the partner, bypassing the queue and the
// scope and filter rules, and returns what the partner answered.
// Query: postback=KEY (default: the spec's first), os=ANDROID|IOS.
func (s *Server) handleTest(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	app := rt.cfg.App(r.PathValue("app"))
	if app == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown app %q", r.PathValue("app")))
		return
	}
	pc := app.Partner(r.PathValue("partner"))
	pr := rt.partners[r.PathValue("partner")]
	if pc == nil || pr == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("partner %q is not enabled for app %q", r.PathValue("partner"), app.ID))
		return
	}
	key := r.URL.Query().Get("postback")
	if key == "" {
		keys := pr.sel.Keys()
		if len(keys) == 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("partner %s declares no postback", pc.ID))
			return
		}
		key = keys[0]
	}
	// a key shared by several postbacks tests the first; a name picks one
	found := pr.sel.Find(nil, key)
	if len(found) == 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("partner %s has no postback %q (it has %s)", pc.ID, key, strings.Join(pr.sel.Keys(), ", ")))
		return
	}
	sel := found[0]
	body, err := readLimited(w, r, rt.cfg.Limits.MaxBodyBytes)
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.code, he.msg)
		return
	}
	var ev *event.Event
	if len(strings.TrimSpace(string(body))) > 0 {
		aerr := numberError(body, rt.cfg.Limits.MaxNumberLength)
		if aerr == nil {
			ev, aerr = s.parseEvent(body, rt.cfg.Limits.MaxErrorFields)
		}
		if aerr != nil {
			writeJSON(w, http.StatusBadRequest, aerr)
			return
		}
	} else {
		ev, err = event.Parse(sampleEvent(sel.Key, r.URL.Query().Get("os"), pr.spec, s.now()))
		if err != nil {
			writeError(w, http.StatusInternalServerError, "building the sample event: "+err.Error())
			return
		}
	}
	if !pc.SendRevenue {
		ev = rewriteEvent(ev, "", true)
	}
	reqs, why := pr.r.render(ev, app, pc, sel)
	if why != "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "postback not rendered: " + s.redactorNow().String(why)})
		return
	}
	rq := reqs[0]
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	job := queue.Job{
		ID: "pbtest_" + hex.EncodeToString(nonce[:]), App: app.ID, Partner: pc.ID, Postback: rq.Postback, EventID: ev.ID(),
		Method: rq.Method, URL: rq.URL, Headers: rq.Headers, Body: rq.Body, ConfigVersion: rt.version, EnqueuedAt: s.now(),
	}
	res := s.dlv.snd.Do(r.Context(), job, 1)
	red := s.redactorNow()
	writeJSON(w, http.StatusOK, TestResult{
		PostbackID: job.ID, Postback: rq.Postback, Method: res.Attempt.Method, URL: res.Attempt.URL,
		Headers: red.Headers(rq.Headers), Outcome: res.Attempt.Outcome, StatusCode: res.Attempt.StatusCode,
		Body: red.String(res.Body), LatencyMS: float64(res.Attempt.Latency.Microseconds()) / 1000, Error: red.String(res.Attempt.Error),
	})
}

// sampleEvent builds a realistic event that triggers postback key at the
// partner: attributed to it, on Android unless os says IOS.
func sampleEvent(key, os string, sp *spec.Partner, now time.Time) []byte {
	name := key
	if strings.EqualFold(key, spec.CustomEvent) {
		name = "adgate_test_event"
	}
	user := map[string]any{
		"os": "ANDROID", "os_version": "14", "aaid": "38400000-8cf0-11bd-b23e-10b96e40000d",
		"ip": "203.0.113.7", "country": "US", "language": "EN", "brand": "Google", "model": "Pixel 8",
		"user_agent":  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36",
		"app_version": "1.0.0", "limit_ad_tracking": false,
	}
	if strings.EqualFold(os, "IOS") {
		user = map[string]any{
			"os": "IOS", "os_version": "17.2", "idfa": "F520B35A-4165-4426-98F6-64F12F47E9BA",
			"idfv": "C6B869E7-7B0A-4A93-1C3D-960E8859DB5D", "ip": "203.0.113.7", "country": "US", "language": "EN",
			"brand": "Apple", "model": "iPhone15,2", "app_version": "1.0.0", "limit_ad_tracking": false,
			"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		}
	}
	ms := now.UnixMilli()
	ev := map[string]any{
		"id": json.Number("999000000000000001"), "name": name, "timestamp": ms,
		"last_attributed_touch_type": "CLICK", "last_attributed_touch_timestamp": ms - 3600_000,
		"days_from_last_attributed_touch_to_event": 0,
		"user_data": user,
		"last_attributed_touch_data": map[string]any{
			"~id": json.Number("467391383381228204"), "~campaign": "adgate test", "~campaign_id": "cmp-1",
			"~channel": sp.Name, "~feature": "paid advertising", "~click_id": "adgate-test-click",
			"~ad_set_id": "adset-1", "~creative_id": "cr-1", "$3p": sp.MachineNameOrDefault(),
		},
		"event_data":  map[string]any{"revenue": 1.99, "currency": "USD", "transaction_id": "adgate-test-1"},
		"custom_data": map[string]any{"identity": "adgate-test-user"},
	}
	b, _ := json.Marshal(ev)
	return b
}
