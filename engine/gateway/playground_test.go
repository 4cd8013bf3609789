package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestPlayground(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	admin := bearer("test-admin-token-1")
	// A spec whose postback uses a macro no parameter defines: a lint
	// error at line 5.
	broken := "id: pg\nname: PG\npostbacks:\n  - events: [INSTALL]\n    url: https://pg.example.com/i?c={click_id}&x={nope}\nparameters:\n  - macro: click_id\n    branch: CLICK_ID\n    link_macro: \"{click}\"\n"
	clean := strings.Replace(broken, "&x={nope}", "", 1)
	big := strings.Repeat("#", maxPlaygroundSpec+1)
	cases := []struct {
		name  string
		body  string
		query string
		want  int
		check func(t *testing.T, r PlaygroundResult, raw string)
	}{
		{name: "lint finding at its line", body: jsonBody(map[string]any{"spec": broken, "sample": "INSTALL"}), want: 200, check: func(t *testing.T, r PlaygroundResult, raw string) {
			if len(r.Findings) == 0 || r.Findings[0].Line != 5 || r.Findings[0].Severity != "error" {
				t.Fatalf("findings %+v, want an error at line 5", r.Findings)
			}
			if len(r.Requests) != 0 {
				t.Errorf("a spec with errors rendered %+v", r.Requests)
			}
		}},
		{name: "clean spec renders with explain", body: jsonBody(map[string]any{"spec": clean, "sample": "INSTALL"}), want: 200, check: func(t *testing.T, r PlaygroundResult, raw string) {
			if len(r.Findings) != 0 || len(r.Requests) != 1 {
				t.Fatalf("findings %+v requests %+v", r.Findings, r.Requests)
			}
			q := r.Requests[0]
			if q.URL != "https://pg.example.com/i?c=adgate-test-click" || len(q.Explain) != 1 || q.Explain[0].Name != "click_id" {
				t.Errorf("request %+v", q)
			}
			if len(r.Event) == 0 || len(r.Postbacks) != 1 || r.Postbacks[0] != "INSTALL" {
				t.Errorf("event %s postbacks %v", r.Event, r.Postbacks)
			}
		}},
		{name: "own event", body: jsonBody(map[string]any{"spec": clean, "event": json.RawMessage(mkEvent(7, "INSTALL", nil))}), want: 200, check: func(t *testing.T, r PlaygroundResult, raw string) {
			if len(r.Requests) != 1 || !strings.HasSuffix(r.Requests[0].URL, "c=clk-1") {
				t.Fatalf("requests %+v", r.Requests)
			}
		}},
		{name: "event selecting nothing", body: jsonBody(map[string]any{"spec": clean, "event": json.RawMessage(mkEvent(7, "PURCHASE", nil))}), want: 200, check: func(t *testing.T, r PlaygroundResult, raw string) {
			if len(r.Requests) != 0 || len(r.Skipped) != 0 {
				t.Fatalf("requests %+v skipped %+v", r.Requests, r.Skipped)
			}
		}},
		{name: "loaded spec with an app: credentials are placeholders", body: `{"partner":"acme","sample":"INSTALL","app":"shop"}`, want: 200, check: func(t *testing.T, r PlaygroundResult, raw string) {
			if len(r.Requests) != 1 || !strings.Contains(r.Requests[0].URL, "key=CREDENTIAL-api_key") {
				t.Fatalf("requests %+v", r.Requests)
			}
			if strings.Contains(raw, "acme key") || strings.Contains(raw, "acme%20key") || strings.Contains(raw, "acme+key") {
				t.Errorf("the running config's credential is in the answer: %s", raw)
			}
		}},
		{name: "ios sample", body: `{"partner":"acme","sample":"INSTALL:ios"}`, want: 200, check: func(t *testing.T, r PlaygroundResult, raw string) {
			if len(r.Requests) != 1 || !strings.Contains(r.Requests[0].URL, "idfa=F520B35A") {
				t.Fatalf("requests %+v", r.Requests)
			}
		}},
		{name: "unknown field", body: `{"spec":"id: x","evnt":{}}`, want: 400},
		{name: "unknown query parameter", body: `{"partner":"acme"}`, query: "?dry=1", want: 400},
		{name: "neither spec nor partner", body: `{"sample":"INSTALL"}`, want: 400},
		{name: "both spec and partner", body: `{"spec":"id: x","partner":"acme"}`, want: 400},
		{name: "partner not loaded", body: `{"partner":"../../etc/passwd"}`, want: 404},
		{name: "unknown app", body: `{"partner":"acme","app":"nope"}`, want: 404},
		{name: "partner not enabled for the app", body: jsonBody(map[string]any{"spec": clean, "app": "shop"}), want: 400},
		{name: "invalid event", body: jsonBody(map[string]any{"spec": clean, "event": map[string]any{"name": 5}}), want: 400},
		{name: "spec too large", body: jsonBody(map[string]any{"spec": big}), want: 413},
		{name: "event too large", body: jsonBody(map[string]any{"spec": clean, "event": map[string]any{"pad": strings.Repeat("x", maxPlaygroundEvent)}}), want: 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, b := e.do("POST", "/v1/playground"+c.query, []byte(c.body), admin)
			if code != c.want {
				t.Fatalf("status %d, want %d: %.300s", code, c.want, b)
			}
			if c.check == nil {
				var eb struct {
					Error string `json:"error"`
				}
				if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
					t.Fatalf("error body %s", b)
				}
				return
			}
			var r PlaygroundResult
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			c.check(t, r, string(b))
		})
	}

	code, _, b := e.do("GET", "/v1/playground/specs", nil, admin)
	var specs struct {
		Specs []PlaygroundSpec `json:"specs"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &specs) != nil || len(specs.Specs) != 2 || specs.Specs[0].ID != "acme" ||
		specs.Specs[0].Apps[0] != "shop" || !strings.Contains(specs.Specs[0].YAML, "id: acme") {
		t.Fatalf("specs: %d %.400s", code, b)
	}
}

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
