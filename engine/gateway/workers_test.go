package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
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
		if want := PostbackID("shop", "4242", pb.Partner, pb.Postback, pb.Name); pb.ID != want {
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
	if skipped.Partner != "acme" || skipped.PostbackID != PostbackID("shop", "4242", "acme", "INSTALL", "") {
		t.Errorf("skipped %+v, want acme's INSTALL postback", skipped)
	}
	// the step budget or, on a loaded machine, the time limit
	for _, part := range []string{"parameter {event}", "line 1, column", "exceeds the"} {
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
	if !strings.Contains(string(metrics), "adgate_events_unrendered 0") && !strings.Contains(string(metrics), "adgate_events_unrendered 1") {
		t.Error("metrics lack adgate_events_unrendered")
	}
	if !strings.Contains(logs.String(), `"msg":"postback skipped"`) {
		t.Error("the skip was not logged")
	}
}

// A render worker renders with the config live when it runs. A postback the
// config that accepted the event planned, and that a reload since then
// stops, is not dropped silently: it is listed as skipped, saying the
// config changed. Without a reload, the decisions ingest answered are not
// repeated.
func TestRenderAfterReloadSaysConfigChanged(t *testing.T) {
	e, _ := startEnv(t, newCapture(t), envOpts{})
	rt := e.srv.rt.Load()
	raw := mkEvent(777, "INSTALL", map[string]any{"user_data.os": "WINDOWS"}) // acme's filter skips it
	for _, tc := range []struct {
		version string
		want    int
	}{{rt.version, 0}, {"0123456789ab", 1}} {
		before := len(listAttemptsT(t, e.srv, attemptFilter{Status: statusSkipped, Limit: 100}))
		jobs, err := e.srv.dlv.Render(context.Background(), queue.Key{App: "shop", Partner: "acme"},
			queue.Event{App: "shop", ID: "777", Received: time.Now(), Raw: raw, ConfigVersion: tc.version})
		if err != nil || len(jobs) != 0 {
			t.Fatalf("Render: %v, %d jobs; want acme filtered out", err, len(jobs))
		}
		list := listAttemptsT(t, e.srv, attemptFilter{Status: statusSkipped, Limit: 100})
		if got := len(list) - before; got != tc.want {
			t.Fatalf("accepted under %s: %d skips listed, want %d", tc.version, got, tc.want)
		}
		if tc.want > 0 && !strings.Contains(list[0].Error, "config changed from 0123456789ab to "+rt.version) {
			t.Errorf("skip reason %q does not name the config change", list[0].Error)
		}
	}
}

// A reload that disables a partner stops rendering for it, and keeps its
// app's render consumer, which the other partner still renders from.
func TestReloadDisablingAPartnerKeepsItsAppRendering(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{})
	cfg, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	noBeacon := string(cfg[:bytes.Index(cfg, []byte("      - id: beacon"))])
	if err := os.WriteFile(e.cfg, []byte(noBeacon), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if strings.Contains(logs.String(), "render consumer removed") {
		t.Errorf("a render consumer was removed although app shop still renders:\n%s", logs.String())
	}
	pl := e.ingest(mkEvent(31, "INSTALL", nil))
	if len(pl.Postbacks) != 1 || pl.Postbacks[0].Partner != "acme" {
		t.Fatalf("after disabling beacon: %+v", pl)
	}
	sink.waitFor(t, "/acme/", 1, 15*time.Second)
	// Long enough for beacon's postback to have come if it still rendered.
	time.Sleep(300 * time.Millisecond)
	if n := len(sink.matching("/beacon/")); n != 0 {
		t.Errorf("beacon received %d postbacks after it was disabled", n)
	}
}

// A named postback whose template fails is skipped by its render worker
// under its own (key, name) id, and the partner's other postback for the
// same event is still delivered with the id the 202 answered.
func TestFailingNamedPostbackSkipped(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{spec: func(id, text string) string {
		text = basketSpec(id, text)
		if id != "acme" {
			return text
		}
		_, rest, _ := strings.Cut(text, "/acme/basket\n")
		old, _, _ := strings.Cut(rest[strings.Index(rest, "body: "):], "\n")
		return strings.Replace(text, old, "body: '"+slowTemplate+"'", 1)
	}})
	const evID = "873493741231235697"
	pl := e.ingest(mkEvent(873493741231235697, "PURCHASE", nil))
	var acme []PlannedPostback
	for _, pb := range pl.Postbacks {
		if pb.Partner == "acme" {
			acme = append(acme, pb)
		}
	}
	if len(acme) != 2 || acme[1].Name != "basket" {
		t.Fatalf("want acme's GET and basket planned, got %+v (skipped %+v)", pl.Postbacks, pl.Skipped)
	}
	g := sink.waitFor(t, "/acme/purchase", 1, 20*time.Second)[0]
	if g.Header.Get("Idempotency-Key") != acme[0].ID {
		t.Errorf("GET postback Idempotency-Key %q, want %s", g.Header.Get("Idempotency-Key"), acme[0].ID)
	}
	var skipped Attempt
	waitFor(t, "the basket postback listed as skipped", func() bool {
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
	if want := PostbackID("shop", evID, "acme", "PURCHASE", "basket"); skipped.PostbackID != want || skipped.PostbackID != acme[1].ID || skipped.Postback != "basket" {
		t.Errorf("skipped %+v, want the basket postback with id %s", skipped, want)
	}
	if n := len(sink.matching("/acme/basket")); n != 0 {
		t.Errorf("basket sent %d requests from a template that failed", n)
	}
}
