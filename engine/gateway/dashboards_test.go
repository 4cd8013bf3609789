package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"

	"github.com/adgate/adgate/engine/internal/yamlx"
)

// The Grafana dashboard and the Prometheus alert rules in examples/ read
// the gateway's metrics by name; a renamed or misspelt metric would leave
// a panel empty or an alert silent, which nobody notices until it
// matters. These tests parse both files, pull every metric name out of
// their PromQL and check each against the registry of a real gateway
// after traffic that makes every series appear.

const (
	dashboardFile = "../../examples/grafana/adgate.json"
	alertsFile    = "../../examples/prometheus/adgate-alerts.yaml"
)

// promqlWords are the PromQL words that are not metric names when they
// stand alone (aggregators, set and grouping operators, modifiers).
var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true, "offset": true, "atan2": true,
	"sum": true, "min": true, "max": true, "avg": true, "count": true, "stddev": true, "stdvar": true,
	"topk": true, "bottomk": true, "quantile": true, "count_values": true, "group": true,
	"limitk": true, "limit_ratio": true, "inf": true, "nan": true,
}

// promqlLabelLists are the words followed by a parenthesised list of label
// names.
var promqlLabelLists = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

func identByte(c byte, first bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || !first && c >= '0' && c <= '9'
}

// promqlMetrics returns the metric names a PromQL expression selects, in
// order: identifiers outside label matchers, ranges, strings and label
// lists that are neither a function call nor a PromQL word. Grafana
// variables ($app, $__rate_interval) are not names.
func promqlMetrics(expr string) ([]string, error) {
	var out []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end := i + 1
			for end < len(expr) && expr[end] != c {
				if expr[end] == '\\' && c != '`' {
					end++
				}
				end++
			}
			if end >= len(expr) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			i = end + 1
		case c == '{' || c == '[':
			closer := map[byte]byte{'{': '}', '[': ']'}[c]
			end := i + 1
			for end < len(expr) && expr[end] != closer {
				if q := expr[end]; q == '"' || q == '\'' || q == '`' {
					for end++; end < len(expr) && expr[end] != q; end++ {
						if expr[end] == '\\' {
							end++
						}
					}
				}
				end++
			}
			if end >= len(expr) {
				return nil, fmt.Errorf("unclosed %c at %d", c, i)
			}
			i = end + 1
		case c == '$':
			i++
			for i < len(expr) && identByte(expr[i], false) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			// numbers and durations: 0.5, 1e3, 0x1f, 5m
			for i < len(expr) && (identByte(expr[i], false) || expr[i] == '.') {
				i++
			}
		case identByte(c, true):
			start := i
			for i < len(expr) && identByte(expr[i], false) {
				i++
			}
			word := expr[start:i]
			next := i
			for next < len(expr) && (expr[next] == ' ' || expr[next] == '\t' || expr[next] == '\n') {
				next++
			}
			call := next < len(expr) && expr[next] == '('
			switch {
			case promqlLabelLists[word] && call:
				end := strings.IndexByte(expr[next:], ')')
				if end < 0 {
					return nil, fmt.Errorf("unclosed label list after %s", word)
				}
				i = next + end + 1
			case promqlWords[strings.ToLower(word)], call:
			default:
				out = append(out, word)
			}
		default:
			i++
		}
	}
	return out, nil
}

func TestPromqlMetrics(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`adgate_queue_pending`, []string{"adgate_queue_pending"}},
		{`sum by (app, partner) (rate(adgate_x_total{app=~"$app", partner!="a}b"}[$__rate_interval]))`, []string{"adgate_x_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(adgate_d_bucket[5m])))`, []string{"adgate_d_bucket"}},
		{"(a_total or 0 * b_count) / on (app) group_left (partner) c < 0.5 and d >= 20", []string{"a_total", "b_count", "c", "d"}},
		{`max by (partner, host) (min_over_time(adgate_breaker_state[5m:1m] offset 1h)) >= 1e3`, []string{"adgate_breaker_state"}},
		{`count without (hash) (adgate_config_info) unless bool sum(nope_total)`, []string{"adgate_config_info", "nope_total"}},
		{`topk(3, x{a="\"}"})`, []string{"x"}},
	} {
		got, err := promqlMetrics(tc.expr)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("promqlMetrics(%s) = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	for _, bad := range []string{`x{a="b"`, `rate(x[5m)`, `"open`, `sum by (a`} {
		if _, err := promqlMetrics(bad); err == nil {
			t.Errorf("promqlMetrics(%s): no error", bad)
		}
	}
}

// grafanaDashboard is the part of a Grafana dashboard JSON model the test
// checks.
type grafanaDashboard struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// dashboardExprs checks the dashboard's structure and returns its PromQL
// (panel targets and the selectors of label_values variables), each with
// where it is.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 || len(d.Panels) == 0 {
		t.Errorf("%s: uid %q, title %q, schemaVersion %d, %d panels", dashboardFile, d.UID, d.Title, d.SchemaVersion, len(d.Panels))
	}
	exprs := map[string]string{}
	hasDatasourceVar := false
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$`)
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			hasDatasourceVar = v.Name == "datasource"
		case "query":
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
				continue
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(<selector>, <label>)", v.Name, q.Query)
				continue
			}
			exprs["variable "+v.Name] = m[1]
		}
	}
	if !hasDatasourceVar {
		t.Errorf("%s: no datasource variable named datasource", dashboardFile)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Type == "" || p.Title == "" || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %d %q: type %q, gridPos %+v", p.ID, p.Title, p.Type, p.GridPos)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q: target %+v without refId or expr", p.Title, tg)
			}
			exprs[fmt.Sprintf("panel %q %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	return exprs
}

// alertRules is a Prometheus rule file, strictly: an unknown key (a
// misspelt "annotation") fails the decoding.
type alertRules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// alertExprs checks the alert rules' structure and returns their PromQL.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, ds := yamlx.Parse(alertsFile, b, yamlx.Options{Rules: yamlx.Rules{Syntax: "yaml", Duplicate: "duplicate-key"}})
	if len(ds) > 0 || doc == nil || doc.Root == nil {
		t.Fatalf("%s: %v", alertsFile, ds)
	}
	js, err := yamlx.JSON(doc.Root, doc.Budget, yamlx.JSONOptions{StrictNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var rf alertRules
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	exprs := map[string]string{}
	if len(rf.Groups) == 0 {
		t.Errorf("%s: no groups", alertsFile)
	}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: no name or no rules", g.Name)
		}
		for _, r := range g.Rules {
			d, err := time.ParseDuration(r.For)
			switch {
			case r.Alert == "" || strings.TrimSpace(r.Expr) == "":
				t.Errorf("rule %q: no alert name or expr", r.Alert)
			case err != nil || d <= 0:
				t.Errorf("rule %s: for %q: want a duration", r.Alert, r.For)
			case !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]):
				t.Errorf("rule %s: severity %q", r.Alert, r.Labels["severity"])
			case r.Annotations["summary"] == "" || r.Annotations["description"] == "":
				t.Errorf("rule %s: summary or description missing", r.Alert)
			case !strings.HasSuffix(r.Annotations["runbook_url"], "docs/operations.md#"+strings.ToLower(r.Alert)):
				t.Errorf("rule %s: runbook_url %q, want docs/operations.md#%s", r.Alert, r.Annotations["runbook_url"], strings.ToLower(r.Alert))
			}
			exprs["alert "+r.Alert] = r.Expr
		}
	}
	return exprs
}

// TestDashboardAndAlertMetricsExist: every metric the dashboard and the
// alert rules query is one the gateway exports, once traffic made every
// series appear: events accepted and rejected, deliveries, a retry, dead
// letters, skips, a reload, and a queue message no worker can read.
func TestDashboardAndAlertMetricsExist(t *testing.T) {
	exprs := dashboardExprs(t)
	for k, v := range alertExprs(t) {
		exprs[k] = v
	}
	used := map[string][]string{}
	for where, e := range exprs {
		names, err := promqlMetrics(e)
		if err != nil {
			t.Errorf("%s: %s: %v", where, e, err)
		}
		if len(names) == 0 {
			t.Errorf("%s: %s selects no metric", where, e)
		}
		for _, n := range names {
			if !slices.Contains(used[n], where) {
				used[n] = append(used[n], where)
			}
		}
	}

	ns := startNATS(t)
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: externalQueue(ns.ClientURL())})
	trafficForStats(e, sink, 9401)
	// One retry: the first beacon postback of the next event gets a 503.
	var retried atomic.Bool
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/beacon/") {
			if retried.CompareAndSwap(false, true) {
				w.WriteHeader(http.StatusServiceUnavailable)
			} else {
				w.WriteHeader(http.StatusBadRequest)
			}
			return true
		}
		return false
	})
	e.ingest(mkEvent(9410, "INSTALL", nil))
	if code, _, _ := e.do("POST", "/v1/apps/shop/events", mkEvent(9411, "INSTALL", nil), bearer("wrong-token")); code != http.StatusForbidden {
		t.Errorf("ingest with a wrong token: %d", code)
	}
	if code, _, b := e.do("POST", "/v1/reload", nil, bearer("test-admin-token-1")); code != http.StatusOK {
		t.Errorf("reload: %d %s", code, b)
	}
	// A message on a work subject that is no job: the worker
	// dead-letters it raw and counts it lost (undecodable).
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Request("adgate.pb.shop.acme", []byte("not a job"), 5*time.Second); err != nil {
		t.Fatalf("publishing an unreadable job: %v", err)
	}

	var missing []string
	deadline := time.Now().Add(40 * time.Second)
	for {
		have := map[string]dto.MetricType{}
		mfs, err := e.srv.m.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			have[mf.GetName()] = mf.GetType()
		}
		missing = missing[:0]
		for n := range used {
			_, ok := have[n]
			// A histogram's (or summary's) series carry a suffix its
			// family name has not; a counter's do not.
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if b, cut := strings.CutSuffix(n, suf); cut {
					typ, found := have[b]
					ok = ok || found && (typ == dto.MetricType_HISTOGRAM || typ == dto.MetricType_SUMMARY && suf != "_bucket")
				}
			}
			if !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(missing)
	for _, n := range missing {
		t.Errorf("metric %s is not in the gateway's registry; used by %s", n, strings.Join(used[n], ", "))
	}
}
