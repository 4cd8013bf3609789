package gateway

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReloadKeepsLastGoodConfig(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{opt: func(o *Options) { o.WatchEvery = 20 * time.Millisecond }})
	v1 := e.srv.rt.Load().version

	// A broken config: the reload is refused, the running one stays.
	good, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "scope: all", "scope: everything", 1)
	if err := os.WriteFile(e.cfg, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(context.Background()); err == nil {
		t.Fatal("reload of a broken config succeeded")
	}
	if e.srv.rt.Load().version != v1 {
		t.Fatal("a failed reload replaced the running config")
	}
	if !strings.Contains(logs.String(), "gateway.yaml:") || !strings.Contains(logs.String(), "scope") {
		t.Errorf("the refused reload did not log its diagnostics:\n%s", logs.String())
	}
	// Ingest still works on the last good config.
	if pl := e.ingest(mkEvent(1, "INSTALL", nil)); len(pl.Postbacks) != 2 {
		t.Errorf("after a refused reload: %+v", pl)
	}

	// A broken partner spec is refused the same way, by the file watcher.
	specPath := filepath.Join(e.dir, "partners", "acme.yaml")
	spec, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	// Order matters for the reload count below: every state the watcher
	// can see until the spec is fixed again is broken.
	if err := os.WriteFile(specPath, []byte(strings.Replace(string(spec), "events: [PURCHASE]", "events: PURCHASE: [", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfg, good, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed reload of the broken spec", func() bool {
		return strings.Contains(logs.String(), "acme.yaml:")
	})
	if e.srv.rt.Load().version != v1 {
		t.Fatal("a broken spec replaced the running partners")
	}

	// Changing the config and fixing the spec is picked up by the watcher:
	// acme's country list now denies US.
	if err := os.WriteFile(e.cfg, []byte(strings.Replace(string(good), "deny: [CN]", "deny: [CN, US]", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specPath, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to reload", func() bool { return e.srv.rt.Load().version != v1 })
	pl := e.ingest(mkEvent(2, "INSTALL", nil))
	if len(pl.Postbacks) != 1 || pl.Postbacks[0].Partner != "beacon" {
		t.Errorf("reloaded country list not applied: %+v", pl)
	}
	_, _, metrics := e.do(http.MethodGet, "/metrics", nil, bearer("test-metrics-token-1"))
	for _, s := range []string{`adgate_config_reloads_total{result="failed"}`, `adgate_config_reloads_total{result="ok"} 1`, `adgate_config_info{hash="` + e.srv.rt.Load().version + `"} 1`} {
		if !strings.Contains(string(metrics), s) {
			t.Errorf("metrics lack %s", s)
		}
	}
	if strings.Contains(string(metrics), `adgate_config_info{hash="`+v1+`"}`) {
		t.Error("the old config hash is still exported")
	}
}

// Only errors reject a reload: a warning found beside them is logged as a
// warning, not as the reason the reload was rejected.
func TestReloadLogsWarningsAsWarnings(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{})
	good, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// An unknown credential name is a warning; an unknown partner an error.
	bad := strings.Replace(string(good), "credentials: {api_key: \"acme key+/=\"}", "credentials: {api_key: \"acme key+/=\", api_kee: typo-value}", 1)
	bad = strings.Replace(bad, "      - id: beacon\n", "      - id: no_such_partner\n      - id: beacon\n", 1)
	if err := os.WriteFile(e.cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(context.Background()); err == nil {
		t.Fatal("reload with an unknown partner succeeded")
	}
	var sawWarning, sawError bool
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(line, "api_kee"):
			sawWarning = true
			if !strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, "rejected") {
				t.Errorf("warning logged as a rejection: %s", line)
			}
		case strings.Contains(line, "no_such_partner") && strings.Contains(line, "diagnostic"):
			sawError = true
			if !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, "reload rejected") {
				t.Errorf("error not logged as the rejection: %s", line)
			}
		}
	}
	if !sawWarning || !sawError {
		t.Errorf("warning logged %v, error logged %v:\n%s", sawWarning, sawError, logs.String())
	}
}

// A spec that exists but has an error rejects the reload as an invalid
// spec, reported once at the spec's position, never as a missing partner.
func TestReloadBrokenSpecIsInvalidNotMissing(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{})
	specPath := filepath.Join(e.dir, "partners", "acme.yaml")
	spec, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(spec), "&event={event}", "&event={evnt}", 1)
	if broken == string(spec) {
		t.Fatal("the test spec changed; fix the replacement")
	}
	if err := os.WriteFile(specPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(context.Background()); err == nil {
		t.Fatal("reload with a broken spec succeeded")
	}
	var rejected []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "diagnostic") && strings.Contains(line, "reload rejected") {
			rejected = append(rejected, line)
		}
	}
	if len(rejected) != 1 || !strings.Contains(rejected[0], "invalid partner spec") || !strings.Contains(rejected[0], "acme.yaml:8:") ||
		!strings.Contains(rejected[0], "undefined-macro") || !strings.Contains(rejected[0], `"partner":"acme"`) {
		t.Errorf("want one rejection, the undefined macro in acme.yaml; logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "gateway-unknown-partner") {
		t.Errorf("the broken spec was reported missing too:\n%s", logs.String())
	}
}

// waitFor polls cond until it holds. The deadline is generous: it bounds
// a hang and times nothing;
// a loaded 2-core CI machine needs more than 10s to restart a child and
// drain a backlog.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReloadRefusesAliasBombs: an alias bomb hot-reloaded into a running
// gateway, in its config or in a partner spec, is refused with a
// positioned diagnostic before anything expands it (it used to end the
// process with a fatal out-of-memory error), and the last good config
// keeps serving.
func TestReloadRefusesAliasBombs(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{})
	v1 := e.srv.rt.Load().version
	var nested strings.Builder
	nested.WriteString("x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&nested, "x%d: &x%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*x%d, ", i-1), 10), ", "))
	}
	long := "xs: &xs " + strings.Repeat("A", 100_000) + "\nxl: [" + strings.TrimSuffix(strings.Repeat("*xs, ", 10_000), ", ") + "]\n"
	specPath := filepath.Join(e.dir, "partners", "acme.yaml")
	for _, tt := range []struct{ name, file, bomb string }{
		{"config nested", e.cfg, nested.String()},
		{"config long string", e.cfg, long},
		{"config self alias", e.cfg, "xa: &xa [*xa]\n"},
		{"spec nested", specPath, nested.String()},
		{"spec long string", specPath, long},
	} {
		t.Run(tt.name, func(t *testing.T) {
			good, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := os.WriteFile(tt.file, good, 0o644); err != nil {
					t.Error(err)
				}
			})
			if err := os.WriteFile(tt.file, append(append([]byte(nil), good...), tt.bomb...), 0o644); err != nil {
				t.Fatal(err)
			}
			start := len(logs.String())
			if err := e.srv.Reload(context.Background()); err == nil {
				t.Fatal("reload of an alias bomb succeeded")
			}
			if e.srv.rt.Load().version != v1 {
				t.Fatal("the alias bomb replaced the running config")
			}
			if got := logs.String()[start:]; !strings.Contains(got, filepath.Base(tt.file)+":") || !strings.Contains(got, "yaml-alias-budget") {
				t.Errorf("the refused reload did not log a positioned yaml-alias-budget finding:\n%s", got)
			}
			if pl := e.ingest(mkEvent(1, "INSTALL", nil)); len(pl.Postbacks) != 2 {
				t.Errorf("after a refused reload: %+v", pl)
			}
		})
	}
}
