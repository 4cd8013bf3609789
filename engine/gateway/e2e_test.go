package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEndToEnd(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{})
	pl := e.ingest(mkEvent(873493741231235681, "INSTALL", nil))
	if pl.EventID != "873493741231235681" || pl.Name != "INSTALL" {
		t.Errorf("plan names event %s %s", pl.EventID, pl.Name)
	}
	if len(pl.Postbacks) != 2 {
		t.Fatalf("want acme and beacon postbacks, got %+v (skipped %+v)", pl.Postbacks, pl.Skipped)
	}
	ids := map[string]string{}
	for _, pb := range pl.Postbacks {
		ids[pb.Partner] = pb.ID
		if pb.ID != PostbackID("shop", "873493741231235681", pb.Partner, pb.Postback, pb.Name) {
			t.Errorf("postback id %s is not the stable id", pb.ID)
		}
	}
	acme := sink.waitFor(t, "/acme/", 1, 10*time.Second)[0]
	if got := acme.Header.Get("Idempotency-Key"); got != ids["acme"] {
		t.Errorf("acme Idempotency-Key %q, want %q", got, ids["acme"])
	}
	wantQuery := map[string]string{"click": "clk-1", "aaid": "38400000-8cf0-11bd-b23e-10b96e40000d", "idfa": "", "key": "acme key+/=", "event": "INSTALL"}
	for k, v := range wantQuery {
		if got := acme.Query.Get(k); got != v {
			t.Errorf("acme query %s = %q, want %q", k, got, v)
		}
	}
	beacon := sink.waitFor(t, "/beacon/", 1, 10*time.Second)[0]
	if beacon.Method != http.MethodPost || beacon.Header.Get("Authorization") != "Bearer beacon-secret-token" ||
		beacon.Query.Get("account") != "beacon-acct-9" || beacon.Header.Get("Idempotency-Key") != ids["beacon"] {
		t.Errorf("beacon request %+v", beacon)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(beacon.Body), &body); err != nil {
		t.Fatalf("beacon body %q: %v", beacon.Body, err)
	}
	if body["event"] != "INSTALL" || body["id"] != "873493741231235681" || body["identity"] != "user-42" {
		t.Errorf("beacon body %v", body)
	}

	// The same event again: same postback ids, so partners can de-duplicate.
	again := e.ingest(mkEvent(873493741231235681, "INSTALL", nil))
	for _, pb := range again.Postbacks {
		if ids[pb.Partner] != pb.ID {
			t.Errorf("re-sent event got a new postback id for %s", pb.Partner)
		}
	}

	// Credentials never reach the logs.
	waitAttempts(t, e, 2)
	for _, secret := range []string{"beacon-secret-token", "shop-token-123", "acme key", "acme+key", "acme%20key"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain the secret %q", secret)
		}
	}
}

// waitAttempts waits until the deliveries list holds n attempts.
func waitAttempts(t *testing.T, e *testEnv, n int) []Attempt {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := listAttemptsT(t, e.srv, attemptFilter{Limit: 1000})
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("want %d attempts, have %d", n, len(got))
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPlanningRules(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	type want struct {
		sent    []string          // partner/postback planned
		skipped map[string]string // partner -> skip class
	}
	for i, tc := range []struct {
		name  string
		event string
		edits map[string]any
		want  want
	}{
		{"attributed install goes to both", "INSTALL", nil,
			want{sent: []string{"acme/INSTALL", "beacon/INSTALL"}}},
		{"event names are case-insensitive", "open", nil,
			want{sent: []string{"acme/OPEN", "beacon/OPEN"}}},
		{"scope attributed: another network's event", "INSTALL", map[string]any{"last_attributed_touch_data.$3p": "a_other"},
			want{sent: []string{"beacon/INSTALL"}, skipped: map[string]string{"acme": skipScope}}},
		{"scope attributed: organic event", "INSTALL", map[string]any{"last_attributed_touch_data": nil},
			want{sent: []string{"beacon/INSTALL"}, skipped: map[string]string{"acme": skipScope}}},
		{"window: 8 days after the touch", "PURCHASE", map[string]any{"days_from_last_attributed_touch_to_event": 8},
			want{sent: []string{"beacon/PURCHASE"}, skipped: map[string]string{"acme": skipWindow}}},
		{"window: derived from timestamps", "PURCHASE", map[string]any{"days_from_last_attributed_touch_to_event": nil, "timestamp": 1767222000000 + 9*86400000},
			want{sent: []string{"beacon/PURCHASE"}, skipped: map[string]string{"acme": skipWindow}}},
		{"window: 7 days is inside", "PURCHASE", map[string]any{"days_from_last_attributed_touch_to_event": 7},
			want{sent: []string{"acme/PURCHASE", "beacon/PURCHASE"}}},
		{"country deny list", "INSTALL", map[string]any{"user_data.country": "cn"},
			want{sent: []string{"beacon/INSTALL"}, skipped: map[string]string{"acme": skipCountry}}},
		{"filter on os", "INSTALL", map[string]any{"user_data.os": "WINDOWS"},
			want{sent: []string{"beacon/INSTALL"}, skipped: map[string]string{"acme": skipFilter}}},
		{"mapped custom event", "SignUp", nil,
			want{sent: []string{"beacon/custom_event"}, skipped: map[string]string{"acme": skipNoPostback}}},
		{"unmapped custom event", "add_to_cart", nil,
			want{skipped: map[string]string{"acme": skipNoPostback, "beacon": skipUnmapped}}},
		{"lifecycle event without postback", "REINSTALL", nil,
			want{skipped: map[string]string{"acme": skipNoPostback, "beacon": skipNoPostback}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := e.ingest(mkEvent(int64(1000+i), tc.event, tc.edits))
			var sent []string
			for _, pb := range pl.Postbacks {
				sent = append(sent, pb.Partner+"/"+pb.Postback)
			}
			if fmt.Sprint(sent) != fmt.Sprint(tc.want.sent) {
				t.Errorf("sent %v, want %v (skipped %+v)", sent, tc.want.sent, pl.Skipped)
			}
			got := map[string]string{}
			for _, s := range pl.Skipped {
				got[s.Partner] = s.Class
				if s.Reason == "" {
					t.Errorf("skip of %s has no reason", s.Partner)
				}
			}
			if len(tc.want.skipped) == 0 {
				tc.want.skipped = map[string]string{}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want.skipped) {
				t.Errorf("skipped %v, want %v", pl.Skipped, tc.want.skipped)
			}
		})
	}

	// What the partners received: the mapped name, and no revenue for
	// beacon (send_revenue: false) while acme (default true) gets it.
	signup := sink.waitFor(t, "/beacon/", 1, 10*time.Second)
	found := false
	for _, r := range sink.waitFor(t, "/beacon/", len(signup), time.Second) {
		if strings.Contains(r.Body, `"event":"Sign Up"`) {
			found = true
		}
		if strings.Contains(r.Body, "19.99") {
			t.Errorf("beacon got revenue with send_revenue false: %s", r.Body)
		}
	}
	purchases := sink.waitFor(t, "/acme/purchase", 1, 10*time.Second)
	if purchases[0].Query.Get("revenue") != "19.99" || purchases[0].Query.Get("currency") != "USD" {
		t.Errorf("acme purchase query %v", purchases[0].Query)
	}
	// The signup postback may still be in flight; wait for every beacon one.
	deadline := time.Now().Add(10 * time.Second)
	for !found && time.Now().Before(deadline) {
		for _, r := range sink.matching("/beacon/") {
			found = found || strings.Contains(r.Body, `"event":"Sign Up"`)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !found {
		t.Error("beacon never got the custom event under its mapped name Sign Up")
	}
}

func TestIngestErrors(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	good := mkEvent(42, "INSTALL", nil)
	now := time.Now()
	signed := func(secret string, ts time.Time, body []byte) map[string]string {
		return map[string]string{HeaderSignature: Sign(secret, ts, body), HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10)}
	}
	ndjson := bytes.Join([][]byte{mkEvent(1, "INSTALL", nil), mkEvent(2, "OPEN", nil)}, []byte("\n"))
	badLine := bytes.Join([][]byte{mkEvent(1, "INSTALL", nil), []byte(`{"name": "OPEN", "user_data": {"os": 7}}`)}, []byte("\n"))
	tooMany := bytes.Repeat(append(mkEvent(3, "OPEN", nil), '\n'), 6)
	big := mkEvent(46, "INSTALL", map[string]any{"custom_data.pad": strings.Repeat("x", 9000)})
	for _, tc := range []struct {
		name    string
		path    string
		body    []byte
		hdr     map[string]string
		code    int
		errPart string
	}{
		{"bearer ok", "/v1/apps/shop/events", good, bearer("shop-token-123"), 202, ""},
		{"hmac ok", "/v1/apps/shop/events", good, signed("shop-hmac-secret-0123456", now, good), 202, ""},
		{"no credentials", "/v1/apps/shop/events", good, nil, 401, "no credentials"},
		{"wrong token", "/v1/apps/shop/events", good, bearer("shop-token-124"), 403, "not accepted"},
		{"bad signature", "/v1/apps/shop/events", good, signed("wrong-secret-0123456789", now, good), 403, "does not match"},
		{"signature over another body", "/v1/apps/shop/events", good, signed("shop-hmac-secret-0123456", now, mkEvent(43, "INSTALL", nil)), 403, "does not match"},
		{"stale timestamp", "/v1/apps/shop/events", good, signed("shop-hmac-secret-0123456", now.Add(-10*time.Minute), good), 403, "tolerance"},
		{"malformed signature", "/v1/apps/shop/events", good, map[string]string{HeaderSignature: "md5=abc", HeaderTimestamp: strconv.FormatInt(now.Unix(), 10)}, 403, "sha256="},
		{"unknown app", "/v1/apps/nope/events", good, bearer("shop-token-123"), 403, "not accepted"},
		{"signed body too large", "/v1/apps/shop/events", big, signed("shop-hmac-secret-0123456", now, big), 413, "exceeds 8192"},
		{"malformed JSON", "/v1/apps/shop/events", []byte(`{"name": "INSTALL",`), bearer("shop-token-123"), 400, "malformed JSON"},
		{"not an object", "/v1/apps/shop/events", []byte(`["INSTALL"]`), bearer("shop-token-123"), 400, "JSON object"},
		{"empty body", "/v1/apps/shop/events", nil, bearer("shop-token-123"), 400, "empty body"},
		{"schema: field path", "/v1/apps/shop/events", mkEvent(44, "INSTALL", map[string]any{"user_data.os": "PLAN9"}), bearer("shop-token-123"), 400, "user_data.os"},
		{"schema: missing name", "/v1/apps/shop/events", mkEvent(45, "INSTALL", map[string]any{"name": nil}), bearer("shop-token-123"), 400, "name"},
		{"ndjson batch", "/v1/apps/shop/events", ndjson, bearer("shop-token-123"), 202, ""},
		{"ndjson batch with a bad line", "/v1/apps/shop/events", badLine, bearer("shop-token-123"), 400, "user_data.os"},
		{"batch too long", "/v1/apps/shop/events", tooMany, bearer("shop-token-123"), 413, "at most 5"},
		{"body too large", "/v1/apps/shop/events", mkEvent(46, "INSTALL", map[string]any{"custom_data.pad": strings.Repeat("x", 9000)}), bearer("shop-token-123"), 413, "exceeds 8192"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := e.do("POST", tc.path, tc.body, tc.hdr)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tc.errPart != "" && !strings.Contains(string(body), tc.errPart) {
				t.Errorf("body %s does not mention %q", body, tc.errPart)
			}
		})
	}
	// The bad batch line is located by index and line.
	_, _, body := e.do("POST", "/v1/apps/shop/events", badLine, bearer("shop-token-123"))
	var ae apiError
	if err := json.Unmarshal(body, &ae); err != nil || ae.Event == nil || *ae.Event != 1 || ae.Line != 2 || len(ae.Fields) == 0 || ae.Fields[0].Field != "user_data.os" {
		t.Errorf("batch error %s", body)
	}
	// The accepted batch answers per event.
	_, _, body = e.do("POST", "/v1/apps/shop/events", ndjson, bearer("shop-token-123"))
	var br BatchResponse
	if err := json.Unmarshal(body, &br); err != nil || br.Accepted != 2 || len(br.Events) != 2 || br.Events[1].EventID != "2" {
		t.Errorf("batch answer %s", body)
	}
}

func TestSaturationAndDraining(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		return strings.Replace(c, "max_batch_events: 5", "max_batch_events: 5\n  max_concurrent_ingest: 1", 1)
	}})
	// Hold the only ingest slot, as a slow concurrent request would.
	e.srv.sem <- struct{}{}
	code, hdr, body := e.do("POST", "/v1/apps/shop/events", mkEvent(1, "INSTALL", nil), bearer("shop-token-123"))
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("saturated: %d %v %s", code, hdr, body)
	}
	<-e.srv.sem
	e.ingest(mkEvent(1, "INSTALL", nil))

	e.srv.draining.Store(true)
	code, hdr, _ = e.do("POST", "/v1/apps/shop/events", mkEvent(2, "INSTALL", nil), bearer("shop-token-123"))
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("draining: %d %v", code, hdr)
	}
	code, _, _ = e.do("GET", "/readyz", nil, nil)
	if code != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %d", code)
	}
	e.srv.draining.Store(false)
}

func TestAdminEndpoints(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	e.ingest(mkEvent(7, "INSTALL", nil))
	waitAttempts(t, e, 2)
	admin := bearer("test-admin-token-1")

	for _, tc := range []struct {
		hdr  map[string]string
		code int
	}{{nil, 401}, {bearer("shop-token-123"), 403}, {admin, 200}} {
		if code, _, b := e.do("GET", "/v1/deliveries", nil, tc.hdr); code != tc.code {
			t.Errorf("deliveries with %v: %d %s", tc.hdr, code, b)
		}
	}
	code, _, b := e.do("GET", "/v1/deliveries?partner=beacon&status=delivered&limit=5", nil, admin)
	var dl struct{ Deliveries []Attempt }
	if err := json.Unmarshal(b, &dl); err != nil || code != 200 || len(dl.Deliveries) != 1 {
		t.Fatalf("deliveries: %d %s", code, b)
	}
	d := dl.Deliveries[0]
	if d.Partner != "beacon" || d.StatusCode != 200 || d.Attempt != 1 || d.PostbackID == "" || d.ConfigVersion != e.srv.rt.Load().version {
		t.Errorf("delivery %+v", d)
	}
	code, _, b = e.do("GET", "/v1/deliveries?partner=acme", nil, admin)
	if code != 200 || strings.Contains(string(b), "acme key") || strings.Contains(string(b), "acme+key") || strings.Contains(string(b), "acme%20key") || !strings.Contains(string(b), Redacted) {
		t.Errorf("acme credential not redacted in deliveries: %s", b)
	}

	// The test endpoint sends one postback and shows the partner's answer.
	code, _, b = e.do("POST", "/v1/apps/shop/partners/beacon/test?postback=OPEN&os=IOS", nil, admin)
	var tr TestResult
	if err := json.Unmarshal(b, &tr); err != nil || code != 200 || tr.StatusCode != 200 || tr.Outcome != "delivered" || tr.Body != `{"status":"ok"}` {
		t.Fatalf("test endpoint: %d %s", code, b)
	}
	if tr.Headers["Authorization"] != Redacted || strings.Contains(string(b), "beacon-secret-token") {
		t.Errorf("test endpoint leaks the token: %s", b)
	}
	// With an event in the body, that event is rendered (here a purchase,
	// so acme's PURCHASE postback with its revenue).
	code, _, b = e.do("POST", "/v1/apps/shop/partners/acme/test?postback=PURCHASE", mkEvent(8, "PURCHASE", map[string]any{"event_data.revenue": json.Number("42.5")}), admin)
	tr = TestResult{}
	if err := json.Unmarshal(b, &tr); err != nil || code != 200 || tr.Outcome != "delivered" || !strings.Contains(tr.URL, "revenue=42.5") || !strings.Contains(tr.URL, "key="+Redacted) {
		t.Errorf("test endpoint with an event: %d %s", code, b)
	}
	if code, _, b := e.do("POST", "/v1/apps/shop/partners/acme/test?postback=NOPE", nil, admin); code != 400 {
		t.Errorf("test of an unknown postback: %d %s", code, b)
	}
	if code, _, b := e.do("POST", "/v1/apps/shop/partners/nope/test", nil, admin); code != 404 {
		t.Errorf("test of unknown partner: %d %s", code, b)
	}

	// Metrics carry the series the issue names.
	_, _, b = e.do("GET", "/metrics", nil, bearer("test-metrics-token-1"))
	for _, series := range []string{
		`adgate_events_accepted_total{app="shop"} 1`,
		`adgate_postbacks_planned_total{app="shop",partner="acme"} 1`,
		`adgate_postbacks_delivered_total{app="shop",partner="beacon",status_class="2xx"}`,
		`adgate_delivery_duration_seconds_bucket{app="shop",partner="acme"`,
		`adgate_config_info{hash="` + e.srv.rt.Load().version + `"} 1`,
		`adgate_queue_pending 0`, `adgate_dead_letters 0`, `adgate_breaker_state{host="127.0.0.1:`,
	} {
		if !strings.Contains(string(b), series) {
			t.Errorf("metrics lack %s", series)
		}
	}
	if code, _, _ := e.do("GET", "/healthz", nil, nil); code != 200 {
		t.Errorf("healthz %d", code)
	}
}

// The stored event names the partners ingest planned postbacks for, so an
// instance sharing the queue on an older config hands over the share of a
// partner it does not have (queue.Event.Partners); a partner the event is
// not for is not named.
func TestStoredEventNamesPlannedPartners(t *testing.T) {
	e, _ := startEnv(t, newCapture(t), envOpts{})
	cases := []struct {
		id   int64
		name string
		want []string
	}{
		{101, "INSTALL", []string{"acme", "beacon"}},
		// beacon maps the custom event, acme does not.
		{102, "signup", []string{"beacon"}},
	}
	for _, tc := range cases {
		if pl := e.ingest(mkEvent(tc.id, tc.name, nil)); len(pl.Postbacks) == 0 {
			t.Fatalf("event %d planned nothing: %+v", tc.id, pl.Skipped)
		}
	}
	// Read back from the archive, which the server fills on its own
	// schedule.
	found := map[string][]string{}
	for deadline := time.Now().Add(10 * time.Second); len(found) < len(cases) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for seq := uint64(1); seq < 20; seq++ {
			for _, tc := range cases {
				if ev, err := e.srv.q.ArchivedEvent(context.Background(), "shop", fmt.Sprint(tc.id), seq); err == nil {
					found[ev.ID] = ev.Partners
				}
			}
		}
	}
	for _, tc := range cases {
		if got := found[fmt.Sprint(tc.id)]; !slices.Equal(got, tc.want) {
			t.Errorf("event %d (%s) stored with partners %v, want %v", tc.id, tc.name, got, tc.want)
		}
	}
}
