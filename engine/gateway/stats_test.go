package gateway

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// getStats fetches /v1/stats with query and decodes a 200.
func (e *testEnv) getStats(query string) Stats {
	e.t.Helper()
	code, _, b := e.do("GET", "/v1/stats"+query, nil, bearer("test-admin-token-1"))
	if code != http.StatusOK {
		e.t.Fatalf("GET /v1/stats%s: %d %s", query, code, b)
	}
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil {
		e.t.Fatalf("stats %s: %v", b, err)
	}
	return st
}

// statsSummary is what the stats tests compare: events in, and each
// pair's totals.
func statsSummary(st Stats) string {
	var events uint64
	for _, c := range st.EventsIn {
		events += c.Count
	}
	out := []string{fmt.Sprintf("events=%d", events)}
	for _, p := range st.Partners {
		t := p.Totals
		out = append(out, fmt.Sprintf("%s/%s delivered=%d retried=%d dead=%d skipped=%d", p.App, p.Partner, t.Delivered, t.Retried, t.Dead, t.Skipped))
	}
	if st.Queue != nil {
		out = append(out, fmt.Sprintf("dead_letters=%d", st.Queue.Dead))
	}
	return strings.Join(out, "; ")
}

// waitStats polls /v1/stats until its summary is want.
func (e *testEnv) waitStats(query, want string) Stats {
	e.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		st := e.getStats(query)
		got := statsSummary(st)
		if got == want {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("stats%s: %s, want %s", query, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// trafficForStats ingests four installs: three acme delivers and one
// from CN its country rule skips; beacon answers 400 to all four, so they
// are dead-lettered.
func trafficForStats(e *testEnv, sink *capture, firstID int64) {
	e.t.Helper()
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/beacon/") {
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		return false
	})
	for i := range int64(3) {
		e.ingest(mkEvent(firstID+i, "INSTALL", nil))
	}
	e.ingest(mkEvent(firstID+3, "INSTALL", map[string]any{"user_data.country": "CN"}))
}

// TestStatsSurviveRestart: /v1/stats counts events in, deliveries, dead
// letters and skips per pair with latency quantiles, answers both windows
// with their steps, and says the same after a restart.
func TestStatsSurviveRestart(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	trafficForStats(e, sink, 9001)
	const want = "events=4; shop/acme delivered=3 retried=0 dead=0 skipped=1; shop/beacon delivered=0 retried=0 dead=4 skipped=0; dead_letters=4"
	st := e.waitStats("", want)
	if st.Window != "1h" || st.StepSeconds != 60 || len(st.EventsIn) != 60 || len(st.Partners[0].Points) != 60 {
		t.Errorf("1h window: %q step %d, %d event points, %d partner points", st.Window, st.StepSeconds, len(st.EventsIn), len(st.Partners[0].Points))
	}
	if last := st.EventsIn[59].T; st.Now.Sub(last) < 0 || st.Now.Sub(last) >= time.Minute {
		t.Errorf("last point %s does not hold now %s", last, st.Now)
	}
	acme, beacon := st.Partners[0], st.Partners[1]
	if r := acme.Totals.SuccessRatio; r == nil || *r != 1 {
		t.Errorf("acme success ratio %v, want 1", r)
	}
	if r := beacon.Totals.SuccessRatio; r == nil || *r != 0 {
		t.Errorf("beacon success ratio %v, want 0", r)
	}
	var withLatency int
	for _, p := range acme.Points {
		switch {
		case p.Delivered == 0 && (p.P50MS != nil || p.P99MS != nil):
			t.Errorf("point %s without attempts has quantiles %v %v", p.T, *p.P50MS, *p.P99MS)
		case p.Delivered > 0 && (p.P50MS == nil || p.P99MS == nil || *p.P50MS <= 0 || *p.P99MS < *p.P50MS):
			t.Errorf("point %s: p50 %v p99 %v", p.T, p.P50MS, p.P99MS)
		case p.Delivered > 0:
			withLatency++
		}
	}
	if withLatency == 0 {
		t.Error("no acme point has latency quantiles")
	}
	day := e.waitStats("?window=24h", want)
	if day.StepSeconds != 900 || len(day.EventsIn) != 96 || day.EventsIn[95].T != st.Now.Truncate(15*time.Minute) {
		t.Errorf("24h window: step %d, %d points, last %s (now %s)", day.StepSeconds, len(day.EventsIn), day.EventsIn[len(day.EventsIn)-1].T, day.Now)
	}
	if got := statsSummary(e.getStats("?app=shop")); got != want {
		t.Errorf("app=shop: %s", got)
	}

	e.stop()
	e2, _ := startEnv(t, sink, envOpts{dir: e.dir})
	e2.waitStats("", want)
	// The restarted instance counts on top of what the first stored.
	trafficForStats(e2, sink, 9101)
	e2.waitStats("", "events=8; shop/acme delivered=6 retried=0 dead=0 skipped=2; shop/beacon delivered=0 retried=0 dead=8 skipped=0; dead_letters=8")
}

// TestStatsRequests: the query is checked, and the endpoint is an admin
// one.
func TestStatsRequests(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	for _, tc := range []struct {
		query string
		hdr   map[string]string
		code  int
		err   string
	}{
		{"?window=1h&app=shop", bearer("test-admin-token-1"), http.StatusOK, ""},
		{"?window=7d", bearer("test-admin-token-1"), http.StatusBadRequest, `unknown window "7d"`},
		{"?app=nope", bearer("test-admin-token-1"), http.StatusBadRequest, `unknown app "nope"`},
		{"?windw=1h", bearer("test-admin-token-1"), http.StatusBadRequest, `unknown query parameter "windw"`},
		{"", nil, http.StatusUnauthorized, "admin endpoint"},
		{"", bearer("test-metrics-token-1"), http.StatusForbidden, "admin token not accepted"},
	} {
		code, _, b := e.do("GET", "/v1/stats"+tc.query, nil, tc.hdr)
		var body struct{ Error string }
		_ = json.Unmarshal(b, &body)
		if code != tc.code || !strings.Contains(body.Error, tc.err) {
			t.Errorf("GET /v1/stats%s: %d %s, want %d with %q", tc.query, code, b, tc.code, tc.err)
		}
	}
}

// TestLatencyBuckets: every latency lands in a bucket whose reading is
// within the documented 2^(1/8) of it, and the buckets are ordered.
func TestLatencyBuckets(t *testing.T) {
	bound := math.Exp2(1.0 / 8)
	for _, ms := range []float64{0.11, 0.5, 1, 1.3, 7.7, 42, 99.9, 250, 1000, 2500, 30000, 70000} {
		var h latHist
		h[latBucket(ms)]++
		got := *h.quantile(0.5)
		if r := got / ms; r > bound*1.0001 || r < 1/bound/1.0001 {
			t.Errorf("%v ms reads as %v (ratio %.4f, bound %.4f)", ms, got, r, bound)
		}
	}
	for _, tc := range []struct {
		ms   float64
		want int
	}{{0, 0}, {-1, 0}, {math.NaN(), 0}, {0.1, 0}, {1e9, latBuckets - 1}, {math.Inf(1), latBuckets - 1}} {
		if got := latBucket(tc.ms); got != tc.want {
			t.Errorf("latBucket(%v) = %d, want %d", tc.ms, got, tc.want)
		}
	}
	var h latHist
	if h.quantile(0.5) != nil {
		t.Error("an empty histogram has a median")
	}
	// 98 fast, 2 slow: p50 fast, p99 slow.
	h[latBucket(1)] = 98
	h[latBucket(1000)] = 2
	if p50, p99 := *h.quantile(0.5), *h.quantile(0.99); p50 > 1.1 || p99 < 900 {
		t.Errorf("p50 %v p99 %v", p50, p99)
	}
}

// TestStatsMergeInstances: two gateways with one config on one JetStream
// each count the events they accepted and the postbacks they delivered;
// either one's /v1/stats answers the sum.
func TestStatsMergeInstances(t *testing.T) {
	ns := startNATS(t)
	sink := newCapture(t)
	// One config, so both render with the same version: an instance
	// rendering an event another planned with a different config reports
	// the skips again, as a config change.
	eo := envOpts{mutate: externalQueue(ns.ClientURL())}
	a, _ := startEnv(t, sink, eo)
	b, _ := startEnv(t, sink, eo)
	if a.srv.instance == b.srv.instance {
		t.Fatalf("both instances are %s", a.srv.instance)
	}
	trafficForStats(a, sink, 9201)
	trafficForStats(b, sink, 9301)
	const want = "events=8; shop/acme delivered=6 retried=0 dead=0 skipped=2; shop/beacon delivered=0 retried=0 dead=8 skipped=0; dead_letters=8"
	// Each sees the other's minutes once they are flushed.
	a.waitStats("", want)
	b.waitStats("", want)
}

// BenchmarkStatsAttempt is the hot-path cost of counting one attempt, as
// every delivery worker does (compare with the whole delivery's
// cpu-us/postback in BenchmarkDeliver).
func BenchmarkStatsAttempt(b *testing.B) {
	r := newStatsRecorder(time.Now)
	partners := []string{"acme", "beacon", "clevertap", "jampp"}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.attempt("shop", partners[i%len(partners)], "delivered", time.Duration(i%5000)*time.Microsecond)
			i++
		}
	})
}

// TestStatsRecorderFlushes: a flush takes only the minutes that changed;
// a minute stays held while it counts, after a failed store and after
// counting again, and goes once stored complete; minutes older than the
// stream keeps are dropped unstored.
func TestStatsRecorderFlushes(t *testing.T) {
	clock := time.Date(2026, 12, 2, 8, 0, 30, 0, time.UTC)
	r := newStatsRecorder(func() time.Time { return clock })
	minutes := func(snaps []snapshot) string {
		var out []string
		for _, sn := range snaps {
			out = append(out, sn.minute.Format("15:04"))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	r.eventsIn("shop", 2)
	r.attempt("shop", "acme", "delayed", time.Millisecond)
	if got := r.take(false); minutes(got) != "08:00" || len(got[0].ru.Pairs) != 0 || got[0].ru.Events["shop"] != 2 {
		t.Fatalf("first flush: %s %+v", minutes(got), got[0].ru)
	}
	if got := minutes(r.take(false)); got != "" {
		t.Errorf("nothing changed, flush takes %q", got)
	}
	r.stored(clock.Truncate(time.Minute), true)
	if got := minutes(r.take(true)); got != "08:00" {
		t.Errorf("the minute still counting was dropped: %q", got)
	}
	clock = clock.Add(time.Minute)
	r.attempt("shop", "acme", "delivered", 2*time.Millisecond)
	got := r.take(false)
	if minutes(got) != "08:01" {
		t.Fatalf("second flush: %s", minutes(got))
	}
	r.stored(got[0].minute, false)
	r.stored(clock.Add(-time.Minute).Truncate(time.Minute), true)
	if got := minutes(r.take(true)); got != "08:01" {
		t.Errorf("after 08:00 was stored complete, held %q", got)
	}
	clock = clock.Add(time.Minute)
	if got := minutes(r.take(false)); got != "08:01" {
		t.Errorf("a minute whose store failed is not flushed again: %q", got)
	}
	r.stored(time.Date(2026, 12, 2, 8, 1, 0, 0, time.UTC), true)
	if got := minutes(r.take(true)); got != "" {
		t.Errorf("stored minutes still held: %q", got)
	}
	r.eventsIn("shop", 1)
	clock = clock.Add(statsKeep + time.Minute)
	if n := r.expire(statsKeep); n != 1 || minutes(r.take(true)) != "" {
		t.Errorf("expire dropped %d", n)
	}
}
