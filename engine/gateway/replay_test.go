package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/deliver"
	"github.com/adgate/adgate/engine/spec"
)

type deadPage struct {
	DeadLetters []deadLetterView `json:"dead_letters"`
	NextCursor  string           `json:"next_cursor"`
}

func (e *testEnv) deadLetters(query string) deadPage {
	e.t.Helper()
	code, _, b := e.do(http.MethodGet, "/v1/deadletters"+query, nil, bearer("test-admin-token-1"))
	if code != http.StatusOK {
		e.t.Fatalf("GET /v1/deadletters%s: %d %s", query, code, b)
	}
	var p deadPage
	if err := json.Unmarshal(b, &p); err != nil {
		e.t.Fatalf("dead letters %s: %v", b, err)
	}
	return p
}

func (e *testEnv) replay(body string) (int, map[string]any) {
	e.t.Helper()
	code, _, b := e.do(http.MethodPost, "/v1/deadletters/replay", []byte(body), bearer("test-admin-token-1"))
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("replay answer %s: %v", b, err)
	}
	return code, out
}

// deadEnv starts a gateway whose sink refuses every beacon postback with
// a 400 and answers acme's with a 503 (one attempt: dead at once), and
// dead-letters n events' postbacks.
func deadEnv(t *testing.T, n int) (*testEnv, *capture, func(bool)) {
	sink := newCapture(t)
	var mu sync.Mutex
	broken := true
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if !broken {
			return false
		}
		if strings.HasPrefix(r.URL.Path, "/beacon/") {
			w.WriteHeader(http.StatusBadRequest)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return true
	})
	e, _ := startEnv(t, sink, envOpts{mutate: func(cfg string) string {
		return strings.Replace(cfg, "          timeout: 2s", "          timeout: 2s\n          max_attempts: 1", 1)
	}})
	for i := range n {
		e.ingest(mkEvent(int64(500+i), "INSTALL", nil))
	}
	waitFor(t, "every postback dead", func() bool {
		return len(e.deadLetters("?limit=1000").DeadLetters) == 2*n
	})
	return e, sink, func(b bool) {
		mu.Lock()
		broken = b
		mu.Unlock()
	}
}

// The named attack: a misspelt filter must not replay every dead
// letter. Unknown parameters and fields, and an empty request, are 400s
// that change nothing.
func TestReplayRefusesUnknownInput(t *testing.T) {
	e, sink, setBroken := deadEnv(t, 2)
	setBroken(false)
	admin := bearer("test-admin-token-1")
	tests := []struct {
		name, path, body, want string
	}{
		{"misspelt query parameter", "/v1/deadletters/replay?partnr=x", `{"partner":"beacon"}`, `unknown query parameter "partnr"`},
		{"any query parameter", "/v1/deadletters/replay?partner=beacon", `{"partner":"beacon"}`, `unknown query parameter "partner"`},
		{"misspelt field", "/v1/deadletters/replay", `{"partnr":"x"}`, `unknown field "partnr"`},
		{"empty body", "/v1/deadletters/replay", ``, `say what to replay`},
		{"empty object", "/v1/deadletters/replay", `{}`, `say what to replay`},
		{"only a limit", "/v1/deadletters/replay", `{"limit":5}`, `say what to replay`},
		{"all and a filter", "/v1/deadletters/replay", `{"all":true,"app":"shop"}`, `leave out ids and filters`},
		{"bad class", "/v1/deadletters/replay", `{"error_class":"5XX"}`, `unknown error_class "5XX"`},
		{"bad time", "/v1/deadletters/replay", `{"since":"yesterday"}`, `since must be an RFC 3339 time`},
		{"two objects", "/v1/deadletters/replay", `{"app":"shop"}{"all":true}`, `unexpected data after the JSON value`},
		{"negative limit", "/v1/deadletters/replay", `{"app":"shop","limit":-1}`, `limit must not be negative`},
		{"list: misspelt parameter", "/v1/deadletters?partnr=x", ``, `unknown query parameter "partnr"`},
		{"list: repeated parameter", "/v1/deadletters?app=a&app=b", ``, `given 2 times`},
		{"list: limit too big", "/v1/deadletters?limit=1001", ``, `limit must be an integer from 1 to 1000`},
		{"list: limit zero", "/v1/deadletters?limit=0", ``, `limit must be an integer from 1 to 1000`},
		{"list: bad cursor", "/v1/deadletters?cursor=abc", ``, `cursor is not one this endpoint returned`},
		{"list: bad class", "/v1/deadletters?error_class=teapot", ``, `unknown error_class`},
		{"list: until before since", "/v1/deadletters?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", ``, `until is before since`},
	}
	for _, tc := range tests {
		method := http.MethodPost
		if !strings.HasSuffix(strings.SplitN(tc.path, "?", 2)[0], "/replay") {
			method = http.MethodGet
		}
		code, _, b := e.do(method, tc.path, []byte(tc.body), admin)
		var eb struct{ Error string }
		_ = json.Unmarshal(b, &eb)
		if code != http.StatusBadRequest || !strings.Contains(eb.Error, tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.name, code, b, tc.want)
		}
	}
	if n := len(e.deadLetters("").DeadLetters); n != 4 {
		t.Errorf("%d dead letters after refused replays, want all 4 kept", n)
	}
	if got := sink.matching("/"); len(got) != 0 {
		t.Errorf("refused replays sent %d postbacks", len(got))
	}
}

// A dry run counts and samples what a replay would send without sending
// or removing anything; filters by class, time and ids narrow it; ids
// that match no dead letter are reported.
func TestReplayDryRunAndFilters(t *testing.T) {
	e, sink, setBroken := deadEnv(t, 12)
	all := e.deadLetters("?limit=1000").DeadLetters
	for _, d := range all {
		want := "5xx"
		if d.Partner == "beacon" {
			want = "4xx"
		}
		if d.ErrorClass != want || d.DecidedBy == "" || d.ConfigVersion == "" {
			t.Fatalf("dead letter %+v: want class %s, decided_by and config_version", d, want)
		}
	}
	first, last := all[0].DeadAt, all[len(all)-1].DeadAt
	tests := []struct {
		name    string
		body    string
		matched int
	}{
		{"all", `{"all":true,"dry_run":true}`, 24},
		{"class 4xx", `{"error_class":"4xx","dry_run":true}`, 12},
		{"class 5xx of acme", `{"error_class":"5xx","partner":"acme","dry_run":true}`, 12},
		{"class and wrong partner", `{"error_class":"5xx","partner":"beacon","dry_run":true}`, 0},
		{"class timeout", `{"error_class":"timeout","dry_run":true}`, 0},
		{"limit", `{"app":"shop","limit":3,"dry_run":true}`, 3},
		{"future", `{"since":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `","dry_run":true}`, 0},
		{"past", `{"until":"` + first.Add(-time.Hour).Format(time.RFC3339) + `","dry_run":true}`, 0},
		{"whole range", `{"since":"` + first.Add(-time.Second).Format(time.RFC3339) + `","until":"` + last.Add(time.Second).Format(time.RFC3339) + `","dry_run":true}`, 24},
	}
	for _, tc := range tests {
		code, out := e.replay(tc.body)
		sample, _ := out["sample"].([]any)
		if code != http.StatusOK || out["dry_run"] != true || out["matched"] != float64(tc.matched) || len(sample) != min(tc.matched, 10) {
			t.Errorf("%s: %d %v, want %d matched", tc.name, code, out, tc.matched)
		}
	}
	// Paging the list sees every dead letter once, oldest first.
	var paged []string
	q := "?limit=5"
	for range 10 {
		p := e.deadLetters(q)
		for _, d := range p.DeadLetters {
			paged = append(paged, d.PostbackID)
		}
		if p.NextCursor == "" {
			break
		}
		q = "?limit=5&cursor=" + url.QueryEscape(p.NextCursor)
	}
	if len(paged) != 24 {
		t.Fatalf("paged %d dead letters, want 24", len(paged))
	}
	for i, d := range all {
		if paged[i] != d.PostbackID {
			t.Fatalf("page order differs at %d", i)
		}
	}
	if n := len(e.deadLetters("?error_class=4xx&partner=beacon").DeadLetters); n != 12 {
		t.Errorf("list by class: %d, want 12", n)
	}
	if got := sink.matching("/"); len(got) != 0 {
		t.Fatalf("dry runs sent %d postbacks", len(got))
	}

	// By ids: two real ones and one unknown, with the sink fixed.
	setBroken(false)
	id1, id2 := all[0].PostbackID, all[1].PostbackID
	code, out := e.replay(`{"ids":["` + id1 + `","` + id2 + `","no-such-id"],"dry_run":true}`)
	if code != http.StatusOK || out["matched"] != float64(2) || !slices.Equal(toStrings(out["not_found"]), []string{"no-such-id"}) {
		t.Fatalf("dry run by ids: %d %v", code, out)
	}
	code, out = e.replay(`{"ids":["` + id1 + `","` + id2 + `","no-such-id"]}`)
	if code != http.StatusOK || out["replayed"] != float64(2) || !slices.Equal(toStrings(out["not_found"]), []string{"no-such-id"}) {
		t.Fatalf("replay by ids: %d %v", code, out)
	}
	sink.waitFor(t, "/", 2, 30*time.Second)
	waitFor(t, "the replayed dead letters gone", func() bool {
		return len(e.deadLetters("?limit=1000").DeadLetters) == 22
	})
	// Replayed: no longer a dead letter, so now not found.
	if _, out := e.replay(`{"ids":["` + id1 + `"]}`); out["replayed"] != float64(0) || !slices.Equal(toStrings(out["not_found"]), []string{id1}) {
		t.Errorf("second replay of %s: %v", id1, out)
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// A spec whose URL the partner refuses dead-letters its postbacks; after
// the spec is fixed and reloaded, a replay with rerender renders them
// again from the archived event and delivers them under the same
// Idempotency-Key, and the attempt records both config versions. A
// postback whose event is not archived is reported, not dropped.
func TestReplayRerenderAfterSpecFix(t *testing.T) {
	sink := newCapture(t)
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/beacon/v0/") {
			w.WriteHeader(http.StatusNotFound)
			return true
		}
		return false
	})
	var mu sync.Mutex
	var attempts []Attempt
	e, _ := startEnv(t, sink, envOpts{
		spec: func(id, text string) string {
			return strings.Replace(text, "/beacon/events", "/beacon/v0/events", 1)
		},
		opt: func(o *Options) {
			o.OnAttempt = func(a Attempt) {
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
			}
		},
	})
	pl := e.ingest(mkEvent(901, "INSTALL", nil))
	var id string
	for _, pb := range pl.Postbacks {
		if pb.Partner == "beacon" {
			id = pb.ID
		}
	}
	var dead deadLetterView
	waitFor(t, "beacon's dead letter", func() bool {
		l := e.deadLetters("?partner=beacon").DeadLetters
		if len(l) == 1 {
			dead = l[0]
		}
		return len(l) == 1
	})
	if dead.PostbackID != id || dead.ErrorClass != "4xx" || !strings.Contains(dead.URL, "/beacon/v0/") {
		t.Fatalf("dead letter %+v", dead)
	}
	v1 := dead.ConfigVersion

	// Fix the spec and reload.
	path := filepath.Join(e.dir, "partners", "beacon.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "/beacon/v0/events", "/beacon/events", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, rb := e.do(http.MethodPost, "/v1/reload", nil, bearer("test-admin-token-1"))
	var rel struct{ Version string }
	_ = json.Unmarshal(rb, &rel)
	if code != http.StatusOK || rel.Version == v1 {
		t.Fatalf("reload: %d %s", code, rb)
	}

	code, out := e.replay(`{"partner":"beacon","rerender":true}`)
	if code != http.StatusOK || out["replayed"] != float64(1) || out["failed"] != nil {
		t.Fatalf("rerender replay: %d %v", code, out)
	}
	got := sink.waitFor(t, "/beacon/events", 1, 30*time.Second)
	if got[0].Header.Get("Idempotency-Key") != id {
		t.Errorf("rerendered postback has key %q, want %q", got[0].Header.Get("Idempotency-Key"), id)
	}
	waitFor(t, "the rerendered attempt", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range attempts {
			if a.PostbackID == id && a.Status == "delivered" {
				return true
			}
		}
		return false
	})
	mu.Lock()
	for _, a := range attempts {
		if a.PostbackID != id || a.Status != "delivered" {
			continue
		}
		if a.ConfigVersion != rel.Version || a.Replay == nil || a.Replay.OfConfigVersion != v1 || !a.Replay.Rerendered {
			t.Errorf("rerendered attempt %+v (replay %+v): want config %s, replay of %s", a, a.Replay, rel.Version, v1)
		}
	}
	mu.Unlock()

}

// A dead letter whose event the archive no longer holds stays, with the
// reason per id.
func TestReplayRerenderWithoutArchivedEvent(t *testing.T) {
	sink := newCapture(t)
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadRequest)
		return true
	})
	e, _ := startEnv(t, sink, envOpts{opt: func(o *Options) { o.Queue.ArchiveMaxAge = time.Second }})
	e.ingest(mkEvent(902, "INSTALL", nil))
	waitFor(t, "the dead letters", func() bool { return len(e.deadLetters("?partner=beacon").DeadLetters) == 1 })
	// Until the archive lets the event go, a rerender sends it again and
	// the sink kills it again: poll until the replay says why it cannot.
	var out map[string]any
	waitFor(t, "the archive to drop the event", func() bool {
		var code int
		code, out = e.replay(`{"partner":"beacon","rerender":true}`)
		if code != http.StatusOK {
			t.Fatalf("replay: %d %v", code, out)
		}
		return out["failed"] != nil
	})
	failed, _ := out["failed"].([]any)
	if out["replayed"] != float64(0) || len(failed) != 1 ||
		!strings.Contains(failed[0].(map[string]any)["error"].(string), "no longer archived") {
		t.Fatalf("rerender without the event: %v", out)
	}
	if n := len(e.deadLetters("?partner=beacon").DeadLetters); n != 1 {
		t.Errorf("%d dead letters after a failed rerender, want 1 kept", n)
	}
}

// A spec's delivery block decides what is retried (beacon retries 5xx
// only: a 429 is dead at once), the app's config overrides it (acme's
// config retries 429), and every verdict says which rule made it.
func TestDeliveryPolicyFromSpecAndConfig(t *testing.T) {
	sink := newCapture(t)
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	})
	e, _ := startEnv(t, sink, envOpts{
		spec: func(id, text string) string {
			return text + "delivery:\n  retry_status: [\"5xx\"]\n  retry_network_errors: false\n"
		},
		mutate: func(cfg string) string {
			return strings.Replace(cfg, "          timeout: 2s", "          timeout: 2s\n          max_attempts: 2\n          retry_status: [429]", 1)
		},
	})
	e.ingest(mkEvent(777, "INSTALL", nil))
	var dead []deadLetterView
	waitFor(t, "both postbacks dead", func() bool {
		dead = e.deadLetters("").DeadLetters
		return len(dead) == 2
	})
	for _, d := range dead {
		want := map[string]struct {
			attempts  int
			decidedBy string
		}{
			"beacon": {1, "spec beacon delivery.retry_status"},
			"acme":   {2, "retry budget (max_attempts, max_age) after config apps[shop].partners[acme].delivery.retry_status"},
		}[d.Partner]
		if d.Attempts != want.attempts || d.DecidedBy != want.decidedBy || d.ErrorClass != "4xx" || d.StatusCode != 429 {
			t.Errorf("%s dead letter %+v, want %d attempts decided by %q", d.Partner, d, want.attempts, want.decidedBy)
		}
	}
	att := listAttemptsT(t, e.srv, attemptFilter{Partner: "acme", Limit: 10}) // newest first
	if len(att) != 2 || att[1].Status != "retry" || att[1].DecidedBy != "config apps[shop].partners[acme].delivery.retry_status" {
		t.Errorf("acme attempts %+v", att)
	}
}

func TestPolicyForMergesSpecThenConfig(t *testing.T) {
	no := false
	sp := &spec.Partner{ID: "p", Delivery: &spec.Delivery{
		SuccessStatus: []int{200}, SuccessBody: `ok`, FailureBody: `error`, RetryStatus: []string{"5xx", "429"}, RetryNetworkErrors: &no,
	}}
	tests := []struct {
		name string
		cfg  config.Delivery
		want deliver.Rules
	}{
		{"spec only", config.Delivery{}, deliver.Rules{
			SuccessStatus: "spec p delivery.success_status", SuccessBody: "spec p delivery.success_body", FailureBody: "spec p delivery.failure_body",
			RetryStatus: "spec p delivery.retry_status", RetryNetwork: "spec p delivery.retry_network_errors",
		}},
		{"config overrides two", config.Delivery{SuccessCodes: []int{204}, RetryStatus: []string{"503"}}, deliver.Rules{
			SuccessStatus: "config apps[a].partners[p].delivery.success_codes", SuccessBody: "spec p delivery.success_body", FailureBody: "spec p delivery.failure_body",
			RetryStatus: "config apps[a].partners[p].delivery.retry_status", RetryNetwork: "spec p delivery.retry_network_errors",
		}},
	}
	for _, tc := range tests {
		pol := policyFor(sp, "a", tc.cfg)
		if pol.Rules != tc.want {
			t.Errorf("%s: rules %+v, want %+v", tc.name, pol.Rules, tc.want)
		}
		if !pol.NoNetworkRetry || pol.SuccessBody == nil || pol.FailureBody == nil || pol.RetryStatus == nil {
			t.Errorf("%s: policy %+v", tc.name, pol)
		}
	}
	if pol := policyFor(sp, "a", config.Delivery{RetryStatus: []string{"503"}}); !pol.RetryStatus.Match(503) || pol.RetryStatus.Match(429) || pol.RetryStatus.Match(500) {
		t.Errorf("config retry_status does not replace the spec's: %+v", pol.RetryStatus)
	}
	if pol := policyFor(&spec.Partner{ID: "p"}, "a", config.Delivery{}); pol.Rules != (deliver.Rules{}) || pol.RetryStatus != nil {
		t.Errorf("no delivery block: %+v", pol)
	}
}
