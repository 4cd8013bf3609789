package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/config"
)

func testSampler(t *testing.T) *sampler {
	t.Helper()
	sp, err := newSampler()
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestSampleRedaction(t *testing.T) {
	sp := testSampler(t)
	red := newRedactor([]string{"acme key+/=", "shop-token-123"})
	raw := `{"name":"PURCHASE","timestamp":1767232800000,` +
		`"user_data":{"os":"IOS","idfa":"27AFDDCC-15DA-3A32-EF33-D0469D36A673","idfv":"","aaid":"00000000-0000-0000-0000-000000000000",` +
		`"android_id":"9774d56d682e549c","developer_identity":"user-42","ip":"203.0.113.7","country":"US"},` +
		`"last_attributed_touch_data":{"~click_id":"c-1","$idfa":"27AFDDCC-15DA-3A32-EF33-D0469D36A673"},` +
		`"event_data":{"revenue":19.990,"currency":"USD"},` +
		`"custom_data":{"note":"key acme key+/= and acme+key%2B%2F%3D","shop-token-123":"x"}}`
	b, err := sp.redact([]byte(raw), red)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\n")) {
		t.Errorf("not one line: %s", b)
	}
	var got struct {
		UserData map[string]string `json:"user_data"`
		Touch    map[string]string `json:"last_attributed_touch_data"`
		Event    json.RawMessage   `json:"event_data"`
		Custom   map[string]string `json:"custom_data"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for _, secret := range []string{"acme key+/=", "acme+key%2B%2F%3D", "shop-token-123"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("credential %q kept: %s", secret, b)
		}
	}
	if got.Custom["note"] != "key [REDACTED] and [REDACTED]" || got.Custom[Redacted] != "x" {
		t.Errorf("custom_data = %v", got.Custom)
	}
	upperUUID := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)
	ud := got.UserData
	switch {
	case ud["idfa"] == "27AFDDCC-15DA-3A32-EF33-D0469D36A673" || !upperUUID.MatchString(ud["idfa"]):
		t.Errorf("idfa %q: want a pseudonym of the same shape", ud["idfa"])
	case !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(ud["android_id"]) || ud["android_id"] == "9774d56d682e549c":
		t.Errorf("android_id %q", ud["android_id"])
	case ud["developer_identity"] == "user-42" || !regexp.MustCompile(`^[0-9a-f]{4}-[0-9a-f]{2}$`).MatchString(ud["developer_identity"]):
		t.Errorf("developer_identity %q", ud["developer_identity"])
	case ud["aaid"] != "00000000-0000-0000-0000-000000000000" || ud["idfv"] != "":
		t.Errorf("the all-zero and empty ids must be kept: %v", ud)
	case ud["os"] != "IOS" || ud["country"] != "US":
		t.Errorf("non-identifying fields changed: %v", ud)
	}
	if a, err := netip.ParseAddr(ud["ip"]); err != nil || !netip.MustParsePrefix("10.0.0.0/8").Contains(a) {
		t.Errorf("ip %q: want an address in 10/8", ud["ip"])
	}
	if got.Touch["$idfa"] != ud["idfa"] {
		t.Errorf("the same id has two pseudonyms in one event: %q, %q", got.Touch["$idfa"], ud["idfa"])
	}
	if got.Touch["~click_id"] != "c-1" {
		t.Errorf("click data changed: %v", got.Touch)
	}
	if string(got.Event) != `{"currency":"USD","revenue":19.990}` {
		t.Errorf("event_data = %s: numbers must stay as written", got.Event)
	}
	again, _ := sp.redact([]byte(raw), red)
	if !bytes.Equal(b, again) {
		t.Errorf("pseudonyms are not stable within a run")
	}
	if other, _ := testSampler(t).redact([]byte(raw), red); bytes.Equal(b, other) {
		t.Errorf("two runs give the same pseudonyms: their samples could be joined")
	}
}

func TestSamplePseudonymShapes(t *testing.T) {
	sp := testSampler(t)
	for _, v := range []string{"a", "ABCdef-123_x", strings.Repeat("f", 200), "2001:db8::1", "not an ip"} {
		got := sp.pseudonym("android_id", v)
		if len(got) != len(v) {
			t.Errorf("%q -> %q: length changed", v, got)
		}
	}
	if got := sp.pseudonym("ip", "2001:db8::1"); !netip.MustParsePrefix("fd00::/8").Contains(netip.MustParseAddr(got)) {
		t.Errorf("IPv6 pseudonym %q not in fd00::/8", got)
	}
}

func TestSampleBounds(t *testing.T) {
	sp := testSampler(t)
	cfg := config.Sample{EventsPerApp: 3, PerSecond: 2}
	t0 := time.Unix(1767232800, 0)
	ev := func(i int) []byte { return []byte(`{"name":"E` + string(rune('0'+i)) + `"}`) }
	// Ten events in the same instant: the budget (2) takes two.
	for i := range 10 {
		sp.offer(cfg, "shop", ev(i), t0, nil)
	}
	if got := sp.snapshot("shop"); len(got) != 2 || string(got[0]) != `{"name":"E0"}` || string(got[1]) != `{"name":"E1"}` {
		t.Fatalf("after a burst: %q", got)
	}
	// One per half second refills one token each: the ring keeps the latest 3.
	for i := 2; i < 8; i++ {
		sp.offer(cfg, "shop", ev(i), t0.Add(time.Duration(i)*500*time.Millisecond), nil)
	}
	if got := sp.snapshot("shop"); len(got) != 3 || string(got[0]) != `{"name":"E5"}` || string(got[2]) != `{"name":"E7"}` {
		t.Fatalf("ring: %q", got)
	}
	// A reload to a smaller size keeps the latest.
	sp.offer(config.Sample{EventsPerApp: 2, PerSecond: 2}, "shop", ev(8), t0.Add(10*time.Second), nil)
	if got := sp.snapshot("shop"); len(got) != 2 || string(got[0]) != `{"name":"E7"}` || string(got[1]) != `{"name":"E8"}` {
		t.Fatalf("shrunk: %q", got)
	}
	sp.offer(config.Sample{}, "other", ev(9), t0, nil)
	if got := sp.snapshot("other"); got != nil {
		t.Errorf("sampling off kept %q", got)
	}
}

// TestSampleEndpoint posts events to a running gateway with sampling on
// and pulls them back, redacted, from the admin endpoint.
func TestSampleEndpoint(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(cfg string) string {
		return strings.Replace(cfg, "apps:\n", "sample:\n  events_per_app: 10\n  per_second: 100\napps:\n", 1)
	}})
	shop := bearer("shop-token-123")
	shop["Content-Type"] = "application/json"
	body := `{"name":"INSTALL","user_data":{"os":"ANDROID","aaid":"4cb8a0b6-8f2e-4b2a-9d3c-0f8e7a1c2d3e"},"custom_data":{"k":"acme key+/="}}`
	if code, _, b := e.do("POST", "/v1/apps/shop/events", []byte(body), shop); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", code, b)
	}
	if code, _, _ := e.do("GET", "/v1/apps/shop/sample", nil, shop); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("an ingest token reads the sample: %d", code)
	}
	if code, _, _ := e.do("GET", "/v1/apps/nope/sample", nil, bearer("test-admin-token-1")); code != http.StatusNotFound {
		t.Errorf("unknown app: %d, want 404", code)
	}
	code, hdr, b := e.do("GET", "/v1/apps/shop/sample", nil, bearer("test-admin-token-1"))
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("sample: %d %s %s", code, hdr.Get("Content-Type"), b)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 1 || strings.Contains(lines[0], "acme key") || strings.Contains(lines[0], "4cb8a0b6") || !strings.Contains(lines[0], `"name":"INSTALL"`) {
		t.Errorf("sample:\n%s", b)
	}
}

// With sampling off (the default) the endpoint says how to turn it on.
func TestSampleEndpointOff(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	code, _, b := e.do("GET", "/v1/apps/shop/sample", nil, bearer("test-admin-token-1"))
	if code != http.StatusConflict || !strings.Contains(string(b), "sample.events_per_app") {
		t.Errorf("%d %s", code, b)
	}
}
