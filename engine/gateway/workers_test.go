package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowTemplate burns the template sandbox's step budget on hashing (about
// 100 ms of CPU per render) and then fails at a known position.
var slowTemplate = `<#assign s = "` + strings.Repeat("a", 30000) + `"><@loop data=sprig.until(10000) val="i"><#assign h = sprig.sha256sum(s)></@loop>`

// A partner whose template is slow and fails does not hold the ingest
// answer or the app's other partner back: the answer plans both by
// selection, the healthy partner's postback is delivered, and the failing
// one is listed as skipped with the template position.
func TestFailingTemplateOnlySkipsItsPartner(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{spec: func(id, text string) string {
		if id != "acme" {
			return text
		}
		return strings.Replace(text, "  - macro: event\n    branch: EVENT_NAME\n",
			"  - macro: event\n    branch: EVENT_NAME\n    template: '"+slowTemplate+"'\n", 1)
	}})
	pl := e.ingest(mkEvent(4242, "INSTALL", nil))
	var planned []string
	for _, pb := range pl.Postbacks {
		planned = append(planned, pb.Partner+"/"+pb.Postback+"/"+pb.Method)
		if want := PostbackID("shop", "4242", pb.Partner, pb.Postback); pb.ID != want {
			t.Errorf("%s: id %s, want the stable id %s", pb.Partner, pb.ID, want)
		}
	}
	if got, want := strings.Join(planned, " "), "acme/INSTALL/GET beacon/INSTALL/POST"; got != want {
		t.Fatalf("planned %s, want %s", got, want)
	}
	sink.waitFor(t, "/beacon/", 1, 20*time.Second)

	var skipped Attempt
	waitFor(t, "acme's postback listed as skipped", func() bool {
		code, _, b := e.do("GET", "/v1/deliveries?status=skipped", nil, bearer("test-admin-token-1"))
		if code != http.StatusOK {
			t.Fatalf("GET /v1/deliveries: %d %s", code, b)
		}
		var out struct{ Deliveries []Attempt }
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Deliveries) == 0 {
			return false
		}
		skipped = out.Deliveries[0]
		return true
	})
	if skipped.Partner != "acme" || skipped.PostbackID != PostbackID("shop", "4242", "acme", "INSTALL") {
		t.Errorf("skipped %+v, want acme's INSTALL postback", skipped)
	}
	for _, part := range []string{"parameter {event}", "line 1, column", "steps"} {
		if !strings.Contains(skipped.Error, part) {
			t.Errorf("skip reason %q lacks %q", skipped.Error, part)
		}
	}
	if n := len(sink.matching("/acme/")); n != 0 {
		t.Errorf("acme received %d requests from a template that failed", n)
	}
	_, _, metrics := e.do("GET", "/metrics", nil, bearer("test-metrics-token-1"))
	if want := `adgate_postbacks_skipped_total{app="shop",partner="acme",reason="render"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %s", want)
	}
	if !strings.Contains(logs.String(), `"msg":"postback skipped"`) {
		t.Error("the skip was not logged")
	}
}
