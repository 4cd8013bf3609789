package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/deliver"
	"github.com/adgate/adgate/engine/spec"
)

func TestCheckSignature(t *testing.T) {
	body := []byte(`{"name":"INSTALL"}`)
	now := time.Unix(1767225600, 0)
	in := config.Ingest{HMACSecret: "s3cret-s3cret-s3cret", TimestampTolerance: time.Minute}
	for _, tc := range []struct {
		name      string
		in        config.Ingest
		sig, ts   string
		wantErr   string
		noCredErr bool
	}{
		{name: "valid", in: in, sig: Sign(in.HMACSecret, now, body), ts: "1767225600"},
		{name: "valid within tolerance", in: in, sig: Sign(in.HMACSecret, now.Add(-50*time.Second), body), ts: "1767225550"},
		{name: "no signature", in: in, noCredErr: true},
		{name: "wrong secret", in: in, sig: Sign("other-secret-000000", now, body), ts: "1767225600", wantErr: "does not match"},
		{name: "timestamp not signed", in: in, sig: Sign(in.HMACSecret, now, body), ts: "1767225601", wantErr: "does not match"},
		{name: "too old", in: in, sig: Sign(in.HMACSecret, now.Add(-2*time.Minute), body), ts: "1767225480", wantErr: "tolerance"},
		{name: "from the future", in: in, sig: Sign(in.HMACSecret, now.Add(2*time.Minute), body), ts: "1767225720", wantErr: "tolerance"},
		{name: "no timestamp", in: in, sig: Sign(in.HMACSecret, now, body), wantErr: "unix seconds"},
		{name: "not hex", in: in, sig: "sha256=zz", ts: "1767225600", wantErr: "not hex"},
		{name: "wrong scheme", in: in, sig: "sha1=abcd", ts: "1767225600", wantErr: "sha256="},
		{name: "hmac not enabled", in: config.Ingest{TimestampTolerance: time.Minute}, sig: Sign(in.HMACSecret, now, body), ts: "1767225600", wantErr: "not enabled"},
		// A correctly signed millisecond timestamp used to be accepted for
		// ever: now.Sub saturates, so it never left the tolerance.
		{name: "milliseconds", in: in, sig: signText(in.HMACSecret, "1767225600000", body), ts: "1767225600000", wantErr: "looks like milliseconds"},
		{name: "far future", in: in, sig: signText(in.HMACSecret, "4611686018427387904", body), ts: "4611686018427387904", wantErr: "not a plausible"},
		{name: "largest int64", in: in, sig: signText(in.HMACSecret, "9223372036854775807", body), ts: "9223372036854775807", wantErr: "not a plausible"},
		{name: "beyond int64", in: in, sig: signText(in.HMACSecret, "99999999999999999999", body), ts: "99999999999999999999", wantErr: "unix seconds"},
		{name: "before 2001", in: in, sig: signText(in.HMACSecret, "999999999", body), ts: "999999999", wantErr: "not a plausible"},
		{name: "negative", in: in, sig: signText(in.HMACSecret, "-1767225600", body), ts: "-1767225600", wantErr: "unix seconds"},
		{name: "plus sign", in: in, sig: signText(in.HMACSecret, "+1767225600", body), ts: "+1767225600", wantErr: "unix seconds"},
		{name: "fractional seconds", in: in, sig: signText(in.HMACSecret, "1767225600.5", body), ts: "1767225600.5", wantErr: "unix seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			if tc.sig != "" {
				r.Header.Set(HeaderSignature, tc.sig)
			}
			if tc.ts != "" {
				r.Header.Set(HeaderTimestamp, tc.ts)
			}
			err := checkSignature(r, body, tc.in, now)
			switch {
			case tc.noCredErr:
				if err != errNoCredentials {
					t.Errorf("err %v, want errNoCredentials", err)
				}
			case tc.wantErr == "":
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
			case err == nil || !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// signText signs body under a timestamp header value Sign could not
// produce (milliseconds, signs, fractions).
func signText(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestCheckBearer(t *testing.T) {
	tokens := []string{"old-token-1234", "new-token-5678"}
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"Bearer old-token-1234", true},
		{"bearer new-token-5678", true},
		{"BEARER  new-token-5678 ", true},
		{"Bearer new-token-567", false},
		{"Bearer ", false},
		{"Basic b2xkLXRva2VuLTEyMzQ=", false},
		{"", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if err := checkBearer(r, tokens); (err == nil) != tc.ok {
			t.Errorf("%q: err %v", tc.header, err)
		}
	}
	if tokenEqual("", "") {
		t.Error("an empty configured token must never match")
	}
}

func TestSplitEvents(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		ctype     string
		n         int
		batch     bool
		errPart   string
		errorLine int
	}{
		{name: "one event", body: `{"name":"INSTALL"}`, ctype: "application/json", n: 1},
		{name: "pretty printed", body: "{\n  \"name\": \"INSTALL\"\n}\n", n: 1},
		{name: "ndjson", body: "{\"name\":\"a\"}\n{\"name\":\"b\"}\n", n: 2, batch: true},
		{name: "ndjson media type, one line", body: "{\"name\":\"a\"}\n", ctype: "application/x-ndjson", n: 1, batch: true},
		{name: "blank lines between", body: "{\"name\":\"a\"}\n\n\n{\"name\":\"b\"}", n: 2, batch: true},
		{name: "empty", body: "  \n", errPart: "empty body"},
		{name: "array", body: `[{"name":"a"}]`, errPart: "JSON object", errorLine: 1},
		{name: "broken second line", body: "{\"name\":\"a\"}\n{\"name\":", errPart: "malformed JSON", errorLine: 2},
		{name: "garbage", body: "name=INSTALL", errPart: "malformed JSON", errorLine: 1},
		{name: "long number", body: `{"name":"a","event_data":{"revenue":` + strings.Repeat("9", 65) + `}}`, errPart: "event_data.revenue: number has 65 characters; at most 64", errorLine: 1},
		{name: "long number on a later line", body: "{\"name\":\"a\"}\n{\"name\":\"b\",\"id\":-" + strings.Repeat("1", 70) + "}", errPart: "id: number has 71 characters", errorLine: 2},
		{name: "number at the limit", body: `{"name":"a","v":` + strings.Repeat("9", 64) + `}`, n: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, batch, aerr := splitEvents([]byte(tc.body), tc.ctype, config.DefaultMaxNumberLength)
			if tc.errPart != "" {
				if aerr == nil || !strings.Contains(aerr.Error, tc.errPart) {
					t.Fatalf("error %+v, want %q", aerr, tc.errPart)
				}
				if aerr.Line != tc.errorLine {
					t.Errorf("error line %d, want %d", aerr.Line, tc.errorLine)
				}
				return
			}
			if aerr != nil {
				t.Fatalf("unexpected error %+v", aerr)
			}
			if len(docs) != tc.n || batch != tc.batch {
				t.Errorf("got %d docs batch=%t, want %d batch=%t", len(docs), batch, tc.n, tc.batch)
			}
		})
	}
}

// splitAgrees checks that splitEvents, which decodes a well-formed body
// in one pass, answers as splitEventsSlow (the encoding/json split) does,
// and that an event it decoded parses as its bytes do.
func splitAgrees(t *testing.T, s *Server, body []byte, ctype string) {
	t.Helper()
	docs, batch, aerr := splitEvents(body, ctype, config.DefaultMaxNumberLength)
	wdocs, wbatch, waerr := splitEventsSlow(body, isNDJSON(ctype), config.DefaultMaxNumberLength)
	if !reflect.DeepEqual(aerr, waerr) || batch != wbatch || len(docs) != len(wdocs) {
		t.Fatalf("splitEvents(%q) = %d docs, batch %t, %+v; encoding/json split: %d docs, batch %t, %+v",
			body, len(docs), batch, aerr, len(wdocs), wbatch, waerr)
	}
	for i, d := range docs {
		w := wdocs[i]
		if !bytes.Equal(d.raw, w.raw) || d.line != w.line {
			t.Fatalf("splitEvents(%q) event %d: %q at line %d; encoding/json split: %q at line %d", body, i, d.raw, d.line, w.raw, w.line)
		}
		ev, aerr := s.parseDoc(d, config.DefaultMaxErrorFields)
		wev, waerr := s.parseEvent(w.raw, config.DefaultMaxErrorFields)
		if !reflect.DeepEqual(aerr, waerr) || (ev == nil) != (wev == nil) ||
			ev != nil && (ev.ID() != wev.ID() || ev.Name() != wev.Name()) {
			t.Fatalf("event %q: parsed %+v %+v; from its bytes %+v %+v", d.raw, ev, aerr, wev, waerr)
		}
	}
}

func TestSplitEventsAgrees(t *testing.T) {
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{valid: v}
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	for _, body := range []string{
		`{"name":"INSTALL","id":551302741529937217}`,
		" \r\n\t{\"name\":\"a\"} \r\n{\"name\":\"b\",\"id\":\"x\"}\r\n\n",
		`{"name":"a"}{"name":"b"}`,
		`{"name":"a"} 1`,
		`{"name":"a"} null`,
		`{"name":"a"}` + "\n" + `{"name":`,
		`{"name":"a","user_data":{"os":7}}`,
		`{"name":"a","v":1e999999}`,
		`{"name":"a","v":` + strings.Repeat("9", 64) + `.5}`,
		`{"name":"a","v":[` + strings.Repeat("9", 65) + `]}`,
		"{\"name\":\"a\xff\"}",
		"{\"name\":\"a\"}\n" + deep,
		`{"name":"a","name":"b"}`,
		`{"name":"\u00e9\ud83d\ude00"}`,
		`{"name":"a"}` + "\x00",
		"",
		"\n\n",
		`{}`,
	} {
		for _, ctype := range []string{"", "application/json", "application/x-ndjson; charset=utf-8"} {
			splitAgrees(t, s, []byte(body), ctype)
		}
	}
}

func FuzzSplitEvents(f *testing.F) {
	for _, s := range []string{`{"name":"INSTALL"}`, "{\"name\":\"a\"}\n{\"name\":\"b\"}", "[1]", "{", "\x00", `{"id": 873493741231235681}`,
		`{"name":"a"}{"name":"b"}`, `{"name":"a","v":1e99999}`, "{\"name\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	v, err := event.NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{valid: v}
	f.Fuzz(func(t *testing.T, body []byte) {
		docs, _, aerr := splitEvents(body, "", config.DefaultMaxNumberLength)
		if aerr != nil {
			if aerr.Error == "" {
				t.Fatal("error without a message")
			}
		}
		for _, d := range docs {
			if len(d.raw) == 0 || d.raw[0] != '{' || d.line < 1 {
				t.Fatalf("bad doc %+v", d)
			}
		}
		// Validation and parsing must reject or accept, never panic, and
		// the one-pass decode must change no answer.
		splitAgrees(t, s, body, "")
	})
}

func TestRedactor(t *testing.T) {
	red := newRedactor([]string{"acme key+/=", "tok-123456"})
	for _, tc := range []struct{ in, want string }{
		{"https://x.test/p?key=acme%20key%2B%2F%3D&a=1", "https://x.test/p?key=[REDACTED]&a=1"},
		{"https://x.test/p?key=acme+key%2B%2F%3D", "https://x.test/p?key=[REDACTED]"},
		{"https://x.test/acme%20key+%2F=/p", "https://x.test/[REDACTED]/p"},
		{"error: Get acme key+/=", "error: Get [REDACTED]"},
		{"token tok-123456", "token [REDACTED]"},
	} {
		if got := red.String(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	h := red.Headers(map[string]string{"Authorization": "Bearer whatever", "X-Key": "tok-123456", "Accept": "json"})
	if h["Authorization"] != Redacted || h["X-Key"] != Redacted || h["Accept"] != "json" {
		t.Errorf("headers %v", h)
	}

	// The log handler applies it to messages, strings, errors and groups.
	var buf bytes.Buffer
	log := slog.New(&redactHandler{h: slog.NewJSONHandler(&buf, nil), red: func() *redactor { return red }})
	log.With("url", "https://x.test/?k=tok-123456").Info("sending tok-123456", "err", context.DeadlineExceeded, "g", slog.Group("h", "auth", "tok-123456"), "e2", errString("dial acme key+/="))
	if strings.Contains(buf.String(), "tok-123456") || strings.Contains(buf.String(), "acme key") || strings.Count(buf.String(), Redacted) != 4 {
		t.Errorf("log not redacted: %s", buf.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestPostbackID(t *testing.T) {
	a := PostbackID("shop", "873493741231235681", "acme", "INSTALL", "")
	// the id of an unnamed postback is pinned: a dedupe record written
	// before postbacks had names must keep matching after an upgrade
	if want := "pb_4d48ebd74d2e3f32a9482c6b83825b71"; a != want {
		t.Errorf("id %s changed, want %s", a, want)
	}
	if a != PostbackID("shop", "873493741231235681", "acme", "install", "") {
		t.Error("postback keys are case-insensitive; the id must be too")
	}
	named := PostbackID("shop", "873493741231235681", "acme", "INSTALL", "json")
	if named != PostbackID("shop", "873493741231235681", "acme", "install", "JSON") {
		t.Error("postback names are case-insensitive; the id must be too")
	}
	for _, other := range []string{
		PostbackID("shop", "873493741231235682", "acme", "INSTALL", ""),
		PostbackID("shop", "873493741231235681", "beacon", "INSTALL", ""),
		PostbackID("shop", "873493741231235681", "acme", "OPEN", ""),
		PostbackID("shop2", "873493741231235681", "acme", "INSTALL", ""),
		PostbackID("shop", "87349374123123568", "1acme", "INSTALL", ""),
		named,
		PostbackID("shop", "873493741231235681", "acme", "INSTALL", "get"),
		PostbackID("shop", "873493741231235681", "acme", "OPEN", "json"),
	} {
		if other == a {
			t.Errorf("collision: %s", a)
		}
	}
	if named == PostbackID("shop", "873493741231235681", "acme", "INSTALL", "get") {
		t.Error("two names of one event share an id")
	}
	if !strings.HasPrefix(a, "pb_") || len(a) != 35 {
		t.Errorf("id %q", a)
	}
}

func TestFilterMatch(t *testing.T) {
	ev, err := event.Parse([]byte(`{"name":"PURCHASE","user_data":{"os":"ANDROID","country":""},
		"event_data":{"revenue":2.50},"custom_data":{"tags":[],"vip":true},"last_attributed_touch_data":{"~channel":"Facebook"}}`))
	if err != nil {
		t.Fatal(err)
	}
	f := func(field string, op config.FilterOp, vals []string, exists, negate bool) config.Filter {
		return config.Filter{Field: field, Path: strings.Split(field, "."), Op: op, Values: vals, Exists: exists, Negate: negate}
	}
	for _, tc := range []struct {
		f    config.Filter
		want bool
	}{
		{f("user_data.os", config.OpEquals, []string{"android"}, false, false), true},
		{f("user_data.os", config.OpEquals, []string{"IOS"}, false, false), false},
		{f("user_data.os", config.OpEquals, []string{"IOS"}, false, true), true},
		{f("event_data.revenue", config.OpEquals, []string{"2.5"}, false, false), true},
		{f("event_data.revenue", config.OpIn, []string{"1", "2.500"}, false, false), true},
		{f("last_attributed_touch_data.~channel", config.OpIn, []string{"Google", "facebook"}, false, false), true},
		{f("custom_data.vip", config.OpEquals, []string{"true"}, false, false), true},
		{f("user_data.country", config.OpExists, nil, true, false), false},
		{f("custom_data.tags", config.OpExists, nil, true, false), false},
		{f("custom_data.missing", config.OpExists, nil, false, false), true},
		{f("user_data.os", config.OpExists, nil, true, false), true},
		{f("custom_data.missing", config.OpEquals, []string{""}, false, false), true},
	} {
		if got := filterMatch(ev, tc.f); got != tc.want {
			t.Errorf("%s: got %t", tc.f, got)
		}
	}
}

func TestRewriteEvent(t *testing.T) {
	ev, err := event.Parse([]byte(`{"id":873493741231235681,"name":"signup","event_data":{"revenue":9.99,"revenue_in_usd":9.99,"currency":"EUR"},"user_data":{"os":"IOS"}}`))
	if err != nil {
		t.Fatal(err)
	}
	out := rewriteEvent(ev, "Sign Up", true)
	if out.Name() != "Sign Up" || out.ID() != "873493741231235681" {
		t.Errorf("name %q id %q", out.Name(), out.ID())
	}
	if !out.Lookup("event_data.revenue").IsMissing() || !out.Lookup("event_data.revenue_in_usd").IsMissing() || text(out.Lookup("event_data.currency")) != "EUR" {
		t.Error("revenue not removed, or currency lost")
	}
	if text(out.Lookup("user_data.os")) != "IOS" || ev.Name() != "signup" || ev.Lookup("event_data.revenue").IsMissing() {
		t.Error("rewrite changed the original event or lost fields")
	}
	if same := rewriteEvent(ev, "", false); same.Name() != "signup" || same.Lookup("event_data.revenue").IsMissing() {
		t.Error("a no-op rewrite changed the event")
	}
}

func TestDaysSinceTouch(t *testing.T) {
	for _, tc := range []struct {
		json string
		days float64
		ok   bool
	}{
		{`{"name":"a","days_from_last_attributed_touch_to_event":3}`, 3, true},
		{`{"name":"a","days_from_last_attributed_touch_to_event":"5"}`, 5, true},
		{`{"name":"a","timestamp":` + strconv.Itoa(10*86400000+5) + `,"last_attributed_touch_timestamp":5}`, 10, true},
		{`{"name":"a","timestamp":` + strconv.Itoa(86400000-1) + `,"last_attributed_touch_timestamp":0}`, 0, false},
		{`{"name":"a","timestamp":100}`, 0, false},
	} {
		ev, err := event.Parse([]byte(tc.json))
		if err != nil {
			t.Fatal(err)
		}
		days, ok := daysSinceTouch(ev)
		if days != tc.days || ok != tc.ok {
			t.Errorf("%s: %g %t", tc.json, days, ok)
		}
	}
}

func TestWindowEnd(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		json   string
		window int
		want   time.Time
	}{
		// Day 3 of a 7-day window: days 4..7 remain, the count passes 7 five days on.
		{`{"name":"a","days_from_last_attributed_touch_to_event":3}`, 7, now.Add(5 * day)},
		{`{"name":"a","days_from_last_attributed_touch_to_event":7}`, 7, now.Add(day)},
		{`{"name":"a","days_from_last_attributed_touch_to_event":0.5}`, 1, now.Add(36 * time.Hour)},
		{`{"name":"a","timestamp":` + strconv.Itoa(2*86400000+5) + `,"last_attributed_touch_timestamp":5}`, 3, now.Add(2 * day)},
		{`{"name":"a","days_from_last_attributed_touch_to_event":3}`, 0, time.Time{}},
		{`{"name":"a"}`, 7, time.Time{}},
		{`{"name":"a","days_from_last_attributed_touch_to_event":-2}`, 7, time.Time{}},
	} {
		ev, err := event.Parse([]byte(tc.json))
		if err != nil {
			t.Fatal(err)
		}
		if got := windowEnd(ev, &config.Partner{WindowDays: tc.window}, now); !got.Equal(tc.want) {
			t.Errorf("%s window %d: %v, want %v", tc.json, tc.window, got, tc.want)
		}
	}
}

// allow_hosts entries are host names: brackets are dropped so "[::1]"
// matches like "::1", and an entry with a port stops the start with a
// positioned diagnostic (it could never match a postback's host).
func TestAllowHostsEntries(t *testing.T) {
	pol := policyFor(&spec.Partner{ID: "p"}, "a", config.Delivery{AllowHosts: []string{"[::1]", "127.0.0.1", "api.example.com", "*.example.net", "localhost", "10.0.0.5", "64:ff9b::a9fe:a9fe", "*.localhost"}})
	if got := strings.Join(pol.AllowedHosts, ","); got != "::1,127.0.0.1,api.example.com,*.example.net,localhost,10.0.0.5,64:ff9b::a9fe:a9fe,*.localhost" {
		t.Errorf("policy hosts %v", got)
	}
	// Only the internal entries lift the private-address refusal, each for
	// itself; a public name never does, so its DNS cannot point inside.
	if got := strings.Join(pol.PrivateHosts, ","); got != "::1,127.0.0.1,localhost,10.0.0.5,64:ff9b::a9fe:a9fe" {
		t.Errorf("private hosts %v", got)
	}

	sink := newCapture(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, sink.host(), envOpts{mutate: func(c string) string {
		return strings.Replace(c, "allow_hosts: [127.0.0.1]", "allow_hosts: [\"127.0.0.1:18901\"]", 1)
	}})
	srv, err := New(context.Background(), Options{ConfigPath: cfg, Listen: "127.0.0.1:0", WatchEvery: -1})
	if err == nil {
		srv.Close()
		t.Fatal("New accepted an allow_hosts entry with a port")
	}
	if msg := err.Error(); !regexp.MustCompile(`gateway\.yaml:\d+:25: error gateway-allow-host`).MatchString(msg) || !strings.Contains(msg, `"127.0.0.1:18901" has a port`) || !strings.Contains(msg, `write "127.0.0.1"`) {
		t.Errorf("error does not place and explain the entry: %v", err)
	}
}

// delivery.breaker reaches the sender's policy; left out, the policy's
// zero values take the sender's defaults.
func TestBreakerPolicyFromConfig(t *testing.T) {
	b := config.Breaker{FailureRatio: 0.8, MinRequests: 50, Window: time.Minute, OpenFor: 10 * time.Second, HalfOpenProbes: 3}
	got := policyFor(&spec.Partner{ID: "p"}, "a", config.Delivery{Breaker: b}).Breaker
	want := deliver.BreakerPolicy{FailureRatio: 0.8, MinRequests: 50, Window: time.Minute, OpenFor: 10 * time.Second, HalfOpenProbes: 3}
	if got != want {
		t.Errorf("breaker policy %+v, want %+v", got, want)
	}
	if got := policyFor(&spec.Partner{ID: "p"}, "a", config.Delivery{}).Breaker; got != (deliver.BreakerPolicy{}) {
		t.Errorf("breaker policy without settings %+v, want zero", got)
	}
}

// A postback waiting for a partner paused now shows as paused in the
// trace; one already delivered, dead or skipped keeps its state, and the
// partners not paused are left alone.
func TestMarkPaused(t *testing.T) {
	tr := Trace{Partners: []TracePartner{
		{Partner: "acme", Postbacks: []TracePostback{{State: "queued"}, {State: "retrying"}, {State: "delivered"}, {State: "dead"}, {State: statusSkipped}}},
		{Partner: "beacon", Postbacks: []TracePostback{{State: "queued"}}},
	}}
	markPaused(&tr, func(p string) bool { return p == "acme" })
	var got []string
	for _, p := range tr.Partners {
		for _, pb := range p.Postbacks {
			got = append(got, p.Partner+":"+pb.State)
		}
	}
	want := []string{"acme:paused", "acme:paused", "acme:delivered", "acme:dead", "acme:skipped", "beacon:queued"}
	if !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
}

// A list's cursor reads back as its sequence; another list's cursor,
// and anything else, is refused.
func TestCursor(t *testing.T) {
	for _, seq := range []uint64{1, 35, 36, 1 << 40} {
		for _, list := range []byte{cursorDead, cursorHistory} {
			if got, err := parseCursor(list, formatCursor(list, seq)); err != nil || got != seq {
				t.Errorf("%c %d: %d %v", list, seq, got, err)
			}
		}
		if _, err := parseCursor(cursorDead, formatCursor(cursorHistory, seq)); err == nil {
			t.Errorf("a history cursor was taken by the dead-letter list")
		}
	}
	for _, bad := range []string{"", "h", "d", "x12", "h!!", "h0", "abc"} {
		if _, err := parseCursor(cursorHistory, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestWriteAccepted: the appended 202 answer is what encoding/json wrote.
func TestWriteAccepted(t *testing.T) {
	odd := "a\"b\\c\n\u2028<&>\xff é"
	plans := []Plan{
		{EventID: "551302741529937217", Name: "INSTALL", Postbacks: []PlannedPostback{}},
		{EventID: "e1", Name: "PURCHASE", Postbacks: []PlannedPostback{
			{ID: "pb_1", Partner: "criteo", Postback: "PURCHASE", Method: "GET"},
			{ID: "pb_2", Partner: "criteo", Postback: "PURCHASE", Name: "second", Method: "POST"},
		}, Skipped: []SkippedPostback{
			{Partner: "p2", Class: skipScope, Reason: "scope is organic"},
			{Partner: odd, Postback: odd, Name: odd, Class: skipFilter, Reason: odd},
		}},
		{EventID: odd, Name: odd, Postbacks: nil, Skipped: []SkippedPostback{}},
	}
	for i := range plans {
		for _, batch := range []bool{false, true} {
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			writeAccepted(got, plans[i:], batch)
			if batch {
				writeJSON(want, http.StatusAccepted, BatchResponse{Accepted: len(plans[i:]), Events: plans[i:]})
			} else {
				writeJSON(want, http.StatusAccepted, plans[i])
			}
			if got.Code != want.Code || got.Body.String() != want.Body.String() ||
				!reflect.DeepEqual(got.Header(), want.Header()) {
				t.Errorf("plans[%d:] batch %t:\n got %d %v %s\nwant %d %v %s", i, batch,
					got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
			}
		}
	}
}
