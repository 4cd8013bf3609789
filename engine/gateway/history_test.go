package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
)

// listAttempts waits until what the server recorded so far is stored,
// then lists the history newest first.
func listAttemptsT(t testing.TB, s *Server, f attemptFilter) []Attempt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.hist.sync(ctx); err != nil {
		t.Fatalf("history sync: %v", err)
	}
	list, _, err := s.listAttempts(ctx, f)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	return list
}

// historyBytes is every record the history stream holds, as stored.
func historyBytes(t testing.TB, s *Server) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.hist.sync(ctx); err != nil {
		t.Fatalf("history sync: %v", err)
	}
	var out []byte
	cut, err := s.q.HistoryScan(ctx, queue.HistoryFilter{Attempts: true, Plans: true}, time.Time{}, 1<<20, func(r queue.HistoryRecord) {
		out = append(append(out, r.Data...), '\n')
	})
	if err != nil || cut {
		t.Fatalf("history scan: cut %v, %v", cut, err)
	}
	return out
}

// getJSON GETs an admin path and decodes a 200 answer into v.
func (e *testEnv) getJSON(path string, v any) {
	e.t.Helper()
	code, _, b := e.do("GET", path, nil, bearer("test-admin-token-1"))
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// The history outlives the process: a new server on the same data dir
// lists the attempts and the trace of an event the old one delivered.
func TestHistorySurvivesRestart(t *testing.T) {
	sink := newCapture(t)
	dir := t.TempDir()
	e, _ := startEnv(t, sink, envOpts{dir: dir})
	pl := e.ingest(mkEvent(701, "INSTALL", nil))
	sink.waitFor(t, "/", 2, 20*time.Second)
	waitFor(t, "both deliveries in the history", func() bool {
		return len(listAttemptsT(t, e.srv, attemptFilter{EventID: "701", Limit: 10})) == 2
	})
	first := e.srv.instance
	e.stop()

	e2, _ := startEnv(t, sink, envOpts{dir: dir})
	if e2.srv.instance == first {
		t.Fatalf("two processes share the instance id %s", first)
	}
	var page deliveriesPage
	e2.getJSON("/v1/deliveries?event_id=701", &page)
	if len(page.Deliveries) != 2 {
		t.Fatalf("after the restart: %+v", page)
	}
	for _, a := range page.Deliveries {
		if a.Status != "delivered" || a.Instance != first || a.Request == nil || a.Response == nil || a.Response.StatusCode != 200 {
			t.Errorf("attempt after the restart %+v", a)
		}
	}
	var tr Trace
	e2.getJSON("/v1/apps/shop/events/701/trace", &tr)
	if len(tr.Partners) != 2 || tr.Received == nil || tr.ConfigVersion == "" {
		t.Fatalf("trace after the restart %+v", tr)
	}
	for _, p := range tr.Partners {
		if p.State != "planned" || len(p.Postbacks) != 1 || p.Postbacks[0].State != "delivered" || len(p.Postbacks[0].Attempts) != 1 {
			t.Errorf("partner %+v", p)
		}
	}
	if len(pl.Postbacks) != 2 {
		t.Errorf("planned %+v", pl.Postbacks)
	}
}

// GET /v1/deliveries filters the history and pages through it newest
// first; anything it does not understand is a 400.
func TestDeliveriesQuery(t *testing.T) {
	sink := newCapture(t)
	deadID := PostbackID("shop", "606", "acme", "INSTALL", "")
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Idempotency-Key") == deadID {
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		return false
	})
	e, _ := startEnv(t, sink, envOpts{})
	start := time.Now().UTC().Add(-time.Second)
	for id := int64(601); id <= 606; id++ {
		e.ingest(mkEvent(id, "INSTALL", nil))
	}
	var all []Attempt
	waitFor(t, "12 attempts in the history", func() bool {
		all = listAttemptsT(t, e.srv, attemptFilter{Limit: 1000})
		return len(all) >= 12
	})
	if len(all) != 12 {
		t.Fatalf("%d attempts, want 12", len(all))
	}
	// Newest first in the order the history recorded them, which
	// concurrent attempts may end in another order than they started.
	if all[len(all)-1].Time.After(all[0].Time) {
		t.Errorf("oldest listed first: %v before %v", all[0].Time, all[len(all)-1].Time)
	}
	future := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	past := start.Add(-time.Hour).Format(time.RFC3339)
	count := func(pred func(Attempt) bool) int {
		n := 0
		for _, a := range all {
			if pred(a) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		query string
		want  int
		each  func(Attempt) bool
	}{
		{"", 12, func(Attempt) bool { return true }},
		{"event_id=603", 2, func(a Attempt) bool { return a.EventID == "603" }},
		{"id=" + PostbackID("shop", "604", "beacon", "INSTALL", ""), 1, func(a Attempt) bool { return a.Partner == "beacon" && a.EventID == "604" }},
		{"partner=acme&status=4xx", 1, func(a Attempt) bool { return a.PostbackID == deadID && a.StatusCode == 400 }},
		{"status=dead", 1, func(a Attempt) bool { return a.PostbackID == deadID }},
		{"app=shop&partner=beacon&status=delivered", 6, func(a Attempt) bool { return a.Partner == "beacon" && a.Status == "delivered" }},
		{"status=2xx", 11, func(a Attempt) bool { return a.StatusCode == 200 }},
		{"app=other", 0, nil},
		{"since=" + future, 0, nil},
		{"until=" + past, 0, nil},
		{"since=" + start.Format(time.RFC3339) + "&until=" + future, count(func(a Attempt) bool { return !a.Time.Before(start.Truncate(time.Second)) }), func(Attempt) bool { return true }},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var page deliveriesPage
			e.getJSON("/v1/deliveries?"+tc.query, &page)
			if len(page.Deliveries) != tc.want || page.NextCursor != "" {
				t.Fatalf("%d deliveries (next %q), want %d: %+v", len(page.Deliveries), page.NextCursor, tc.want, page.Deliveries)
			}
			for _, a := range page.Deliveries {
				if !tc.each(a) {
					t.Errorf("listed %+v", a)
				}
			}
		})
	}

	t.Run("paging", func(t *testing.T) {
		var got []Attempt
		cursor, pages := "", 0
		for {
			var page deliveriesPage
			e.getJSON("/v1/deliveries?limit=5&cursor="+cursor, &page)
			pages++
			got = append(got, page.Deliveries...)
			if page.NextCursor == "" || pages > 10 {
				break
			}
			cursor = page.NextCursor
		}
		if pages != 3 || len(got) != len(all) {
			t.Fatalf("%d pages, %d attempts, want 3 pages of %d", pages, len(got), len(all))
		}
		seen := map[string]bool{}
		for i, a := range got {
			key := a.PostbackID + a.Status
			if seen[key] || a.PostbackID != all[i].PostbackID {
				t.Errorf("page walk at %d: %s, want %s (each once, newest first)", i, a.PostbackID, all[i].PostbackID)
			}
			seen[key] = true
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, q := range []string{"partnr=acme", "limit=0", "limit=1001", "limit=ten", "status=bogus",
			"since=yesterday", "until=2026-01-02", "cursor=zzz", "since=" + future + "&until=" + past} {
			code, _, b := e.do("GET", "/v1/deliveries?"+q, nil, bearer("test-admin-token-1"))
			var body map[string]string
			if code != http.StatusBadRequest || json.Unmarshal(b, &body) != nil || body["error"] == "" {
				t.Errorf("%s: %d %s, want a 400 with an error", q, code, b)
			}
		}
	})
}

// The trace of an event shows every partner it was planned for or
// skipped by at ingest, every postback rendered or skipped, and each
// one's attempts.
func TestEventTrace(t *testing.T) {
	sink := newCapture(t)
	retried := PostbackID("shop", "501", "beacon", "INSTALL", "")
	var once sync.Once
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		failed := false
		if r.Header.Get("Idempotency-Key") == retried {
			once.Do(func() { failed = true })
		}
		if failed {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "try again")
		}
		return failed
	})
	e, _ := startEnv(t, sink, envOpts{spec: func(id, text string) string {
		if id != "acme" {
			return text
		}
		return strings.Replace(text, "  - macro: event\n    branch: EVENT_NAME\n",
			"  - macro: event\n    branch: EVENT_NAME\n    template: '"+slowTemplate+"'\n", 1)
	}})
	// 501: acme refuses the country at ingest; beacon's first attempt
	// fails. 502: acme is planned but its template fails.
	e.ingest(mkEvent(501, "INSTALL", map[string]any{"user_data.country": "CN"}))
	e.ingest(mkEvent(502, "INSTALL", nil))

	trace := func(id string, done func(Trace) bool) Trace {
		var tr Trace
		waitFor(t, "the trace of "+id, func() bool {
			code, _, b := e.do("GET", "/v1/apps/shop/events/"+id+"/trace", nil, bearer("test-admin-token-1"))
			if code == http.StatusNotFound {
				return false
			}
			if code != http.StatusOK {
				t.Fatalf("trace %s: %d %s", id, code, b)
			}
			tr = Trace{}
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			return done(tr)
		})
		return tr
	}
	find := func(tr Trace, partner string) TracePartner {
		for _, p := range tr.Partners {
			if p.Partner == partner {
				return p
			}
		}
		t.Fatalf("trace %s has no partner %s: %+v", tr.EventID, partner, tr)
		return TracePartner{}
	}

	tr := trace("501", func(tr Trace) bool {
		for _, p := range tr.Partners {
			if p.Partner == "beacon" && len(p.Postbacks) == 1 && p.Postbacks[0].State == "delivered" {
				return true
			}
		}
		return false
	})
	if acme := find(tr, "acme"); acme.State != "skipped" || acme.SkipClass != skipCountry || acme.SkipReason != "country CN is not allowed" ||
		len(acme.Postbacks) != 1 || acme.Postbacks[0].State != "skipped" || acme.Postbacks[0].SkipClass != skipCountry || len(acme.Postbacks[0].Attempts) != 0 {
		t.Errorf("acme in 501: %+v", acme)
	}
	beacon := find(tr, "beacon")
	pb := beacon.Postbacks[0]
	if beacon.State != "planned" || pb.PostbackID != retried || pb.Postback != "INSTALL" || len(pb.Attempts) != 2 {
		t.Fatalf("beacon in 501: %+v", beacon)
	}
	if a := pb.Attempts[0]; a.Status != "retry" || a.StatusCode != 503 || a.Attempt != 1 || a.Response == nil || a.Response.BodyExcerpt != "try again" || a.Response.Headers["Retry-After"] != "1" {
		t.Errorf("first attempt %+v", a)
	}
	if a := pb.Attempts[1]; a.Status != "delivered" || a.StatusCode != 200 || a.Attempt != 2 || a.Request == nil || a.Request.Method != "POST" || !strings.Contains(a.Request.BodyExcerpt, `"id":"501"`) {
		t.Errorf("second attempt %+v", a)
	}
	if tr.Received == nil || tr.Event != "INSTALL" || tr.ConfigVersion != e.srv.rt.Load().version {
		t.Errorf("trace head %+v", tr)
	}

	tr = trace("502", func(tr Trace) bool {
		done := 0
		for _, p := range tr.Partners {
			for _, pb := range p.Postbacks {
				if pb.State == "delivered" || pb.State == "skipped" {
					done++
				}
			}
		}
		return done == 2
	})
	acme := find(tr, "acme")
	if acme.State != "planned" || len(acme.Postbacks) != 1 {
		t.Fatalf("acme in 502: %+v", acme)
	}
	if pb := acme.Postbacks[0]; pb.State != "skipped" || pb.SkipClass != skipRender || !strings.Contains(pb.SkipReason, "parameter {event}") ||
		len(pb.Attempts) != 1 || pb.Attempts[0].Status != "skipped" || pb.PostbackID != PostbackID("shop", "502", "acme", "INSTALL", "") {
		t.Errorf("acme's postback in 502: %+v", pb)
	}
	if b := find(tr, "beacon"); b.State != "planned" || b.Postbacks[0].State != "delivered" {
		t.Errorf("beacon in 502: %+v", b)
	}

	for _, tc := range []struct {
		path string
		code int
	}{
		{"/v1/apps/shop/events/999/trace", http.StatusNotFound},
		{"/v1/apps/other/events/501/trace", http.StatusNotFound},
		{"/v1/apps/shop/events/501/trace?sinse=2026-01-01T00:00:00Z", http.StatusBadRequest},
		{"/v1/apps/shop/events/501/trace?since=today", http.StatusBadRequest},
	} {
		code, _, b := e.do("GET", tc.path, nil, bearer("test-admin-token-1"))
		if code != tc.code || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %d %s, want %d", tc.path, code, b, tc.code)
		}
	}
	if code, _, _ := e.do("GET", "/v1/apps/shop/events/501/trace", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("trace without a token: %d", code)
	}
}

// A record not written is counted every time and logged at most once a
// minute, with the count since the last line.
func TestHistoryFailuresCountedAndLoggedOnce(t *testing.T) {
	logs := &syncBuffer{}
	s := &Server{m: newMetrics(), log: slog.New(slog.NewJSONHandler(logs, nil))}
	h := newHistory(s)
	for range 3 {
		h.fail("stream unavailable")
	}
	fams, err := s.m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	for _, f := range fams {
		if f.GetName() == "adgate_history_write_failures_total" {
			got = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if got != 3 {
		t.Errorf("counted %v failures, want 3", got)
	}
	if n := strings.Count(logs.String(), "records not written"); n != 1 {
		t.Errorf("logged %d times, want once: %s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `"records":1`) || !strings.Contains(logs.String(), `"last_error":"stream unavailable"`) {
		t.Errorf("log line %s", logs.String())
	}
	// A minute later the next failure logs the two left unlogged with it.
	h.lastLog.Store(time.Now().Add(-historyLogEvery).UnixNano())
	h.fail("again")
	if !strings.Contains(logs.String(), `"records":3`) {
		t.Errorf("second log line %s", logs.String())
	}
}

// The retention block reaches the history stream.
func TestRetentionReachesHistoryStream(t *testing.T) {
	e, _ := startEnv(t, newCapture(t), envOpts{mutate: func(c string) string {
		return strings.Replace(c, "apps:\n", "retention:\n  history_max_age: 36h\n  history_max_bytes: 33554432\n  events_max_age: 48h\napps:\n", 1)
	}})
	info, err := e.srv.q.HistoryInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 36*time.Hour || info.Config.MaxBytes != 32<<20 {
		t.Errorf("history stream max_age %v max_bytes %d", info.Config.MaxAge, info.Config.MaxBytes)
	}
}
