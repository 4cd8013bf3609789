package config

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/diag"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testEnv(vars map[string]string) Options {
	return Options{LookupEnv: func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}}
}

func TestLoadValid(t *testing.T) {
	env := testEnv(map[string]string{
		"ADGATE_TEST_ADMIN":     "admin-secret-xyz",
		"ADGATE_TEST_METRICS":   "metrics-secret-abc",
		"ADGATE_TEST_NATS_PASS": "natspw",
		"ADGATE_TEST_TOKEN":     "rotated-token-456",
		"ADGATE_TEST_CT_ID":     "CT-ACCOUNT-1",
	})
	cfg, ds, err := Load(context.Background(), "testdata/valid.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if ds.HasErrors() || cfg == nil {
		t.Fatalf("diagnostics: %v", ds)
	}
	if cfg.Listen != "0.0.0.0:9000" || cfg.DataDir != "/var/lib/adgate" || cfg.PartnersDir != filepath.Join("testdata", "partners") {
		t.Errorf("paths: listen %q data %q partners %q", cfg.Listen, cfg.DataDir, cfg.PartnersDir)
	}
	if cfg.MetricsToken != "metrics-secret-abc" {
		t.Errorf("metrics token %q", cfg.MetricsToken)
	}
	if cfg.AdminToken != "admin-secret-xyz" || cfg.Queue.URL != "nats://user:natspw@nats:4222" {
		t.Errorf("env not resolved: admin %q queue %q", cfg.AdminToken, cfg.Queue.URL)
	}
	wantQueue := Queue{URL: "nats://user:natspw@nats:4222", Replicas: 3, PlacementCluster: "east", PlacementTags: []string{"ssd"},
		TLSCAFile: filepath.Join("testdata", "nats", "ca.pem"), TLSCertFile: filepath.Join("testdata", "nats", "client.pem"),
		TLSKeyFile: "/etc/adgate/client-key.pem", TLSServerName: "nats.internal"}
	if !reflect.DeepEqual(cfg.Queue, wantQueue) {
		t.Errorf("queue %+v\nwant %+v", cfg.Queue, wantQueue)
	}
	if cfg.Limits != (Limits{MaxBodyBytes: 65536, MaxBatchEvents: 10, MaxConcurrentIngest: 4, ShutdownTimeout: 3 * time.Second, MaxNumberLength: 32, MaxErrorFields: 5}) {
		t.Errorf("limits %+v", cfg.Limits)
	}
	app := cfg.App("shop")
	if app == nil {
		t.Fatal("app shop missing")
	}
	if !reflect.DeepEqual(app.Ingest.BearerTokens, []string{"shop-token-123", "rotated-token-456"}) || app.Ingest.TimestampTolerance != 90*time.Second {
		t.Errorf("ingest %+v", app.Ingest)
	}
	if len(app.Bundles) != 2 || app.Bundles[1].ITunesID != "id42" || app.Bundles[0].PackageName != "com.shop" {
		t.Errorf("bundles %+v", app.Bundles)
	}
	ct := app.Partner("clevertap")
	if ct.Scope != ScopeAll || ct.Credentials["account_id"] != "CT-ACCOUNT-1" || !ct.SendRevenue {
		t.Errorf("clevertap %+v", ct)
	}
	if ct.CustomEvents["signup"] != "Sign Up" {
		t.Errorf("custom events are keyed lower-case: %v", ct.CustomEvents)
	}
	wantFilters := []Filter{
		{Field: "user_data.os", Path: []string{"user_data", "os"}, Op: OpEquals, Values: []string{"ANDROID"}},
		{Field: "event_data.revenue", Path: []string{"event_data", "revenue"}, Op: OpIn, Values: []string{"1", "2.5", "3"}},
		{Field: "custom_data.identity", Path: []string{"custom_data", "identity"}, Op: OpExists, Exists: true, Negate: true},
	}
	if !reflect.DeepEqual(ct.Filters, wantFilters) {
		t.Errorf("filters\n got %+v\nwant %+v", ct.Filters, wantFilters)
	}
	jp := app.Partner("jampp")
	if jp.Scope != ScopeAttributed || jp.WindowDays != 7 || jp.SendRevenue || !jp.PostbackOn("install") || jp.PostbackOn("OPEN") {
		t.Errorf("jampp %+v", jp)
	}
	if !jp.CountryAllowed("us") || jp.CountryAllowed("FR") || jp.CountryAllowed("") {
		t.Errorf("country lists %v %v", jp.CountryAllow, jp.CountryDeny)
	}
	d := jp.Delivery
	if d.Timeout != 1500*time.Millisecond || d.MaxAttempts != 3 || d.MaxAge != time.Hour || d.Concurrency != 2 || d.RatePerSecond != 5.5 ||
		!reflect.DeepEqual(d.SuccessCodes, []int{200}) || !d.SuccessBody.MatchString(`{"status": "ok"}`) {
		t.Errorf("delivery %+v", d)
	}
	if d.Breaker != (Breaker{FailureRatio: 0.8, MinRequests: 50, Window: time.Minute, OpenFor: 10 * time.Second, HalfOpenProbes: 3}) {
		t.Errorf("breaker %+v", d.Breaker)
	}
	// Left out, the breaker takes the delivery engine's defaults.
	if b := ct.Delivery.Breaker; b != (Breaker{}) {
		t.Errorf("clevertap breaker %+v, want zero", b)
	}
	secrets := cfg.Secrets()
	for _, s := range []string{"admin-secret-xyz", "metrics-secret-abc", "shop-token-123", "rotated-token-456", "shop-hmac-secret-0123456", "CT-ACCOUNT-1", "tok+en/=", "nats://user:natspw@nats:4222"} {
		if !contains(secrets, s) {
			t.Errorf("Secrets() misses %q", s)
		}
	}
	if len(cfg.Hash) != 12 {
		t.Errorf("hash %q", cfg.Hash)
	}
}

func TestDefaults(t *testing.T) {
	cfg, ds := Parse("/etc/adgate/gateway.yaml", []byte("apps:\n  - id: a\n    ingest: {hmac_secret: 0123456789abcdef}\n    partners: [{id: x}]\n"), Options{})
	if cfg == nil {
		t.Fatal(ds)
	}
	if cfg.Listen != DefaultListen || cfg.PartnersDir != "/etc/partners" || cfg.DataDir != "/etc/adgate/data" {
		t.Errorf("defaults: %+v", cfg)
	}
	p := cfg.Apps[0].Partners[0]
	if p.Scope != ScopeAttributed || !p.SendRevenue || !p.PostbackOn("anything") || !p.CountryAllowed("") {
		t.Errorf("partner defaults %+v", p)
	}
	if cfg.Apps[0].Ingest.TimestampTolerance != DefaultTimestampTolerance || cfg.Limits.MaxBodyBytes != DefaultMaxBodyBytes ||
		cfg.Limits.MaxNumberLength != DefaultMaxNumberLength || cfg.Limits.MaxErrorFields != DefaultMaxErrorFields {
		t.Errorf("limit defaults %+v %+v", cfg.Apps[0].Ingest, cfg.Limits)
	}
}

// TestBadConfigs compares the diagnostics of each testdata/bad file with
// its golden file; run with -update after an intended change.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, ds, err := Load(context.Background(), f, testEnv(nil))
			if err != nil {
				t.Fatal(err)
			}
			if cfg != nil || !ds.HasErrors() {
				t.Fatalf("bad config accepted; diagnostics %v", ds)
			}
			var b strings.Builder
			// The goldens hold the findings, not the snippets under them.
			if err := (diag.Printer{Format: diag.Text}).Print(&b, ds); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("diagnostics differ\n got:\n%s\nwant:\n%s", b.String(), want)
			}
		})
	}
}

func TestExampleConfig(t *testing.T) {
	cfg, ds, err := Load(context.Background(), "../../../examples/gateway.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		t.Fatalf("examples/gateway.yaml: %v", ds)
	}
	if len(ds) != 0 {
		t.Errorf("examples/gateway.yaml has findings: %v", ds)
	}
	app := cfg.App("demo")
	if app == nil || !contains(app.Ingest.BearerTokens, "demo-token") {
		t.Fatalf("quick start needs app demo with token demo-token: %+v", app)
	}
	if p := app.Partner("clevertap"); p == nil || p.Scope != ScopeAll {
		t.Errorf("clevertap must be enabled with scope all: %+v", p)
	}
	attributed := 0
	for _, p := range app.Partners {
		if p.Scope == ScopeAttributed {
			attributed++
		}
	}
	if attributed == 0 {
		t.Error("the example needs an attributed-scope partner")
	}
}

// The cluster example of docs/cluster.md loads clean and points at the
// sample cluster's nodes with three replicas.
func TestClusterExampleConfig(t *testing.T) {
	cfg, ds, err := Load(context.Background(), "../../../examples/cluster/gateway.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil || len(ds) != 0 {
		t.Fatalf("examples/cluster/gateway.yaml has findings: %v", ds)
	}
	q := cfg.Queue
	if q.URL != "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224" || q.Replicas != 3 || q.PlacementCluster != "adgate" ||
		q.TokenFile != filepath.Join("..", "..", "..", "examples", "cluster", "nats.token") {
		t.Errorf("queue %+v", q)
	}
}

func TestLooksLikeConfig(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want bool
	}{
		{"# yaml-language-server: $schema=../schemas/gateway.schema.json\nlisten: x\n", true},
		{"listen: x\napps:\n  - id: a\n", true},
		{"# yaml-language-server: $schema=../schemas/partner.schema.json\nid: clevertap\npostbacks: []\n", false},
	} {
		if got := LooksLikeConfig([]byte(tc.doc)); got != tc.want {
			t.Errorf("LooksLikeConfig(%q) = %t", tc.doc, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/valid.yaml", "testdata/bad/types.yaml", "testdata/bad/semantic.yaml", "../../../examples/gateway.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apps: [{id: a, ingest: {bearer_tokens: ['${env:X}']}, partners: [{id: p, filters: [{field: a.b, in: [1]}]}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, ds := Parse("fuzz.yaml", data, testEnv(map[string]string{"X": "0123456789"}))
		if cfg == nil && !ds.HasErrors() {
			t.Fatalf("nil config without an error diagnostic")
		}
		if cfg != nil && ds.HasErrors() {
			t.Fatalf("config returned with errors: %v", ds)
		}
	})
}

func TestValidateFile(t *testing.T) {
	ds, files, err := ValidateFile(context.Background(), "testdata/check/gateway.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join("testdata/check/partners", "tiny.yaml")}; !slices.Equal(files, want) {
		t.Errorf("checked spec files %q, want %q", files, want)
	}
	var b strings.Builder
	// The goldens hold the findings, not the snippets under them.
	if err := (diag.Printer{Format: diag.Text}).Print(&b, ds); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/check/check.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("diagnostics differ\n got:\n%s\nwant:\n%s", b.String(), want)
	}
	if !ds.HasErrors() {
		t.Error("unknown partner and postback must be errors")
	}
}

func TestValidateExample(t *testing.T) {
	ds, _, err := ValidateFile(context.Background(), "../../../examples/gateway.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.HasErrors() {
		t.Errorf("examples/gateway.yaml does not validate against partners/:\n%v", ds)
	}
}

// TestValidateFileBrokenSpec checks that a finding is reported once, by the
// file that has it: a config naming a spec that exists but has an error
// gets that error, at the spec's position, and no "no partner spec".
func TestValidateFileBrokenSpec(t *testing.T) {
	dir := t.TempDir()
	cfg := "partners_dir: partners\napps:\n  - id: shop\n    ingest:\n      bearer_tokens: [shop-token-123]\n    partners:\n      - id: acme\n"
	spec := "id: acme\nname: Acme\npostbacks:\n  - events: [INSTALL]\n    url: https://pb.acme.example/i?aaid={aaid}&c={clik}\nparameters:\n  - macro: aaid\n    branch: AAID\n"
	if err := os.MkdirAll(filepath.Join(dir, "partners"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"gateway.yaml": cfg, "partners/acme.yaml": spec} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ds, files, err := ValidateFile(context.Background(), filepath.Join(dir, "gateway.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(dir, "partners", "acme.yaml")
	if len(ds) != 1 || ds[0].File != specFile || ds[0].Rule != "undefined-macro" || ds[0].Line() != 5 || ds[0].Col() != 50 {
		t.Errorf("diagnostics = %v, want only undefined-macro at %s:5:50", ds, specFile)
	}
	if len(files) != 1 || files[0] != specFile {
		t.Errorf("checked spec files %q, want %s", files, specFile)
	}
}

// Breaker settings: left out they stay zero (the delivery engine's
// defaults); a zero duration, which the schema's pattern lets through, is
// reported at its place.
func TestBreakerSettings(t *testing.T) {
	tests := []struct {
		name    string
		breaker string
		want    Breaker
		diag    string
	}{
		{"left out", "", Breaker{}, ""},
		{"some set", "breaker: {open_for: 2m, half_open_probes: 5}", Breaker{OpenFor: 2 * time.Minute, HalfOpenProbes: 5}, ""},
		{"all set", "breaker: {failure_ratio: 1, min_requests: 1, window: 500ms, open_for: 1s, half_open_probes: 1}",
			Breaker{FailureRatio: 1, MinRequests: 1, Window: 500 * time.Millisecond, OpenFor: time.Second, HalfOpenProbes: 1}, ""},
		{"zero open_for", "breaker: {open_for: 0s}", Breaker{}, "gateway.yaml:5:48: error gateway-duration: apps.0.partners.0.delivery.breaker.open_for: \"0s\" is not a positive duration (write e.g. 500ms, 5s or 1h)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "apps:\n  - id: a\n    ingest: {hmac_secret: 0123456789abcdef}\n    partners:\n      - {id: x, delivery: {" + tt.breaker + "}}\n"
			cfg, ds := Parse("gateway.yaml", []byte(src), Options{})
			var b strings.Builder
			if err := ds.Write(&b, diag.Text); err != nil {
				t.Fatal(err)
			}
			if tt.diag != "" {
				if cfg != nil || !strings.Contains(b.String(), tt.diag) {
					t.Fatalf("diagnostics %q, want %q", b.String(), tt.diag)
				}
				return
			}
			if cfg == nil {
				t.Fatalf("rejected: %s", b.String())
			}
			if got := cfg.Apps[0].Partners[0].Delivery.Breaker; got != tt.want {
				t.Fatalf("breaker %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSampleSettings(t *testing.T) {
	tests := []struct {
		name, sample string
		want         Sample
		diag         string
	}{
		{"left out: off", "", Sample{PerSecond: DefaultSamplePerSecond}, ""},
		{"size only", "sample: {events_per_app: 500}\n", Sample{EventsPerApp: 500, PerSecond: DefaultSamplePerSecond}, ""},
		{"both", "sample: {events_per_app: 50, per_second: 0.5}\n", Sample{EventsPerApp: 50, PerSecond: 0.5}, ""},
		{"negative size", "sample: {events_per_app: -1}\n", Sample{}, "gateway.yaml:1:26: error gateway-schema: sample.events_per_app"},
		{"zero rate", "sample: {events_per_app: 5, per_second: 0}\n", Sample{}, "per_second"},
		{"unknown key", "sample: {size: 5}\n", Sample{}, "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.sample + "apps:\n  - id: a\n    ingest: {hmac_secret: 0123456789abcdef}\n    partners: [{id: x}]\n"
			cfg, ds := Parse("gateway.yaml", []byte(src), Options{})
			var b strings.Builder
			if err := ds.Write(&b, diag.Text); err != nil {
				t.Fatal(err)
			}
			if tt.diag != "" {
				if cfg != nil || !strings.Contains(b.String(), tt.diag) {
					t.Fatalf("diagnostics %q, want %q", b.String(), tt.diag)
				}
				return
			}
			if cfg == nil {
				t.Fatalf("rejected: %s", b.String())
			}
			if cfg.Sample != tt.want {
				t.Fatalf("sample %+v, want %+v", cfg.Sample, tt.want)
			}
		})
	}
}

func TestRetentionSettings(t *testing.T) {
	tests := []struct {
		name, retention string
		want            Retention
		diag            string
	}{
		{"left out: defaults", "", Retention{HistoryMaxAge: DefaultHistoryMaxAge}, ""},
		{"all set", "retention: {history_max_age: 24h, history_max_bytes: 10485760, events_max_age: 48h, events_max_bytes: 2097152}\n",
			Retention{HistoryMaxAge: 24 * time.Hour, HistoryMaxBytes: 10 << 20, EventsMaxAge: 48 * time.Hour, EventsMaxBytes: 2 << 20}, ""},
		{"explicitly unbounded in size", "retention: {history_max_bytes: 0}\n", Retention{HistoryMaxAge: DefaultHistoryMaxAge}, ""},
		{"age too short", "retention: {history_max_age: 30s}\n", Retention{}, "gateway.yaml:1:30: error gateway-retention: retention.history_max_age is 30s: at least 1m is kept"},
		{"events age too short", "retention: {events_max_age: 1s}\n", Retention{}, "error gateway-retention: retention.events_max_age is 1s"},
		{"not a duration", "retention: {history_max_age: 7d}\n", Retention{}, "retention.history_max_age"},
		{"zero age", "retention: {history_max_age: 0s}\n", Retention{}, "is not a positive duration"},
		{"bytes too small", "retention: {history_max_bytes: 1000}\n", Retention{}, "history_max_bytes"},
		{"negative bytes", "retention: {events_max_bytes: -1}\n", Retention{}, "events_max_bytes"},
		{"unknown key", "retention: {attempts_max_age: 1h}\n", Retention{}, `unknown key "attempts_max_age"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.retention + "apps:\n  - id: a\n    ingest: {hmac_secret: 0123456789abcdef}\n    partners: [{id: x}]\n"
			cfg, ds := Parse("gateway.yaml", []byte(src), Options{})
			var b strings.Builder
			if err := ds.Write(&b, diag.Text); err != nil {
				t.Fatal(err)
			}
			if tt.diag != "" {
				if cfg != nil || !strings.Contains(b.String(), tt.diag) {
					t.Fatalf("diagnostics %q, want %q", b.String(), tt.diag)
				}
				return
			}
			if cfg == nil {
				t.Fatalf("rejected: %s", b.String())
			}
			if cfg.Retention != tt.want {
				t.Fatalf("retention %+v, want %+v", cfg.Retention, tt.want)
			}
		})
	}
}
