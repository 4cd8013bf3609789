package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// basketSpec adds to acme a second postback for PURCHASE: a JSON POST
// named basket, beside the unnamed GET the spec already has.
func basketSpec(id, text string) string {
	if id != "acme" {
		return text
	}
	return strings.Replace(text, "parameters:\n", `  - name: basket
    events: [PURCHASE]
    method: POST
    url: http://`+hostPlaceholder(text)+`/acme/basket
    content_type: application/json
    body: '{"click": "{click_id}", "currency": "{currency}", "revenue": ${(event_data.revenue)!0}}'
parameters:
`, 1)
}

// hostPlaceholder returns the sink address the harness wrote into the
// spec's first URL.
func hostPlaceholder(text string) string {
	_, rest, _ := strings.Cut(text, "url: http://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// TestSeveralPostbacksDelivered: a PURCHASE that acme has two postbacks
// for is planned and delivered as two postbacks with distinct stable ids;
// the unnamed one keeps the id it had before postbacks had names.
func TestSeveralPostbacksDelivered(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{spec: basketSpec})
	const evID = "873493741231235699"
	pl := e.ingest(mkEvent(873493741231235699, "PURCHASE", nil))
	var acme []PlannedPostback
	for _, pb := range pl.Postbacks {
		if pb.Partner == "acme" {
			acme = append(acme, pb)
		}
	}
	if len(acme) != 2 {
		t.Fatalf("want two acme postbacks, got %+v (skipped %+v)", pl.Postbacks, pl.Skipped)
	}
	get, post := acme[0], acme[1]
	if get.Postback != "PURCHASE" || get.Name != "" || get.Method != "GET" ||
		post.Postback != "PURCHASE" || post.Name != "basket" || post.Method != "POST" {
		t.Errorf("planned %+v, want the GET then the POST named basket", acme)
	}
	if get.ID == post.ID {
		t.Fatalf("both postbacks have id %s", get.ID)
	}
	if want := PostbackID("shop", evID, "acme", "PURCHASE", ""); get.ID != want {
		t.Errorf("unnamed postback id %s, want the pre-name id %s", get.ID, want)
	}
	if want := PostbackID("shop", evID, "acme", "PURCHASE", "basket"); post.ID != want {
		t.Errorf("named postback id %s, want %s", post.ID, want)
	}

	g := sink.waitFor(t, "/acme/purchase", 1, 10*time.Second)[0]
	if g.Method != http.MethodGet || g.Header.Get("Idempotency-Key") != get.ID || g.Query.Get("revenue") != "19.99" {
		t.Errorf("GET postback %+v", g)
	}
	p := sink.waitFor(t, "/acme/basket", 1, 10*time.Second)[0]
	if p.Method != http.MethodPost || p.Header.Get("Idempotency-Key") != post.ID || p.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST postback %+v", p)
	}
	var body struct {
		Click, Currency string
		Revenue         json.Number
	}
	if err := json.Unmarshal([]byte(p.Body), &body); err != nil || body.Click != "clk-1" || body.Currency != "USD" || body.Revenue != "19.99" {
		t.Errorf("POST body %q (%+v): %v", p.Body, body, err)
	}

	// the same event again maps to the same two ids
	again := e.ingest(mkEvent(873493741231235699, "PURCHASE", nil))
	var ids []string
	for _, pb := range again.Postbacks {
		if pb.Partner == "acme" {
			ids = append(ids, pb.ID)
		}
	}
	if len(ids) != 2 || ids[0] != get.ID || ids[1] != post.ID {
		t.Errorf("re-sent event got ids %v, want %s %s", ids, get.ID, post.ID)
	}

	// the test endpoint picks the named postback by its name
	code, _, b := e.do("POST", "/v1/apps/shop/partners/acme/test?postback=basket", nil, bearer("test-admin-token-1"))
	var tr TestResult
	if err := json.Unmarshal(b, &tr); err != nil || code != 200 || tr.Method != "POST" || !strings.HasSuffix(tr.URL, "/acme/basket") {
		t.Errorf("test endpoint, postback=basket: %d %s", code, b)
	}
}

// TestSeveralPostbacksEnabled: an app's postbacks list turns on an
// event's unnamed postback by the event key and a named one by its name.
func TestSeveralPostbacksEnabled(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{spec: basketSpec, mutate: func(cfg string) string {
		return strings.Replace(cfg, "      - id: acme\n", "      - id: acme\n        postbacks: [INSTALL, basket]\n", 1)
	}})
	pl := e.ingest(mkEvent(873493741231235698, "PURCHASE", nil))
	var sent []string
	for _, pb := range pl.Postbacks {
		if pb.Partner == "acme" {
			sent = append(sent, pb.Postback+"/"+pb.Name)
		}
	}
	var off []string
	for _, s := range pl.Skipped {
		if s.Partner == "acme" {
			off = append(off, s.Postback+"/"+s.Name+": "+s.Class)
		}
	}
	if len(sent) != 1 || sent[0] != "PURCHASE/basket" || len(off) != 1 || off[0] != "PURCHASE/: "+skipDisabled {
		t.Errorf("sent %v, skipped %v; want only basket sent and the unnamed PURCHASE disabled", sent, off)
	}
	// and the other way round: the event key alone leaves basket off
	e.stop()
	sink2 := newCapture(t)
	e2, _ := startEnv(t, sink2, envOpts{spec: basketSpec, mutate: func(cfg string) string {
		return strings.Replace(cfg, "      - id: acme\n", "      - id: acme\n        postbacks: [PURCHASE]\n", 1)
	}})
	pl = e2.ingest(mkEvent(873493741231235697, "PURCHASE", nil))
	sent, off = nil, nil
	for _, pb := range pl.Postbacks {
		if pb.Partner == "acme" {
			sent = append(sent, pb.Postback+"/"+pb.Name)
		}
	}
	for _, s := range pl.Skipped {
		if s.Partner == "acme" {
			off = append(off, s.Postback+"/"+s.Name+": "+s.Class)
		}
	}
	if len(sent) != 1 || sent[0] != "PURCHASE/" || len(off) != 1 || off[0] != "PURCHASE/basket: "+skipDisabled {
		t.Errorf("sent %v, skipped %v; want only the unnamed PURCHASE sent and basket disabled", sent, off)
	}
}
