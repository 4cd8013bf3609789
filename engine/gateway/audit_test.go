package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestEnvCredentials: a partner credential written as ${env:NAME} is read
// from the environment at load time, reaches the partner (query-encoded),
// and never appears in the logs; with the variable unset the gateway does
// not start and the error names the variable.
func TestEnvCredentials(t *testing.T) {
	const secret = "env+secret/value= 42"
	t.Setenv("ADGATE_AUDIT_ACME_KEY", secret)
	useEnv := func(c string) string {
		return strings.Replace(c, `credentials: {api_key: "acme key+/="}`, `credentials: {api_key: "${env:ADGATE_AUDIT_ACME_KEY}"}`, 1)
	}
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{mutate: useEnv})
	pl := e.ingest(mkEvent(4242, "INSTALL", nil))
	if len(pl.Postbacks) != 2 {
		t.Fatalf("planned %+v (skipped %+v)", pl.Postbacks, pl.Skipped)
	}
	acme := sink.waitFor(t, "/acme/", 1, 10*time.Second)[0]
	if got := acme.Query.Get("key"); got != secret {
		t.Errorf("acme key = %q, want the environment value %q", got, secret)
	}
	e.stop()
	for _, s := range []string{secret, "env+secret", "env%2Bsecret"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs contain the credential %q", s)
		}
	}

	t.Setenv("ADGATE_AUDIT_ACME_KEY", "")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, sink.host(), envOpts{mutate: func(c string) string {
		return strings.Replace(useEnv(c), "ADGATE_AUDIT_ACME_KEY", "ADGATE_AUDIT_UNSET_VAR", 1)
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := New(ctx, Options{ConfigPath: cfg, Listen: "127.0.0.1:0", WatchEvery: -1,
		Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		_ = srv
		t.Fatal("New accepted a config whose ${env:...} variable is unset")
	}
	if !strings.Contains(err.Error(), "ADGATE_AUDIT_UNSET_VAR") {
		t.Errorf("error does not name the variable: %v", err)
	}
}

// TestPlanningSelection covers the per-partner settings TestPlanningRules
// leaves out: the postbacks list (a postback not listed is skipped as
// disabled), a country allow list, and equals / exists filters.
func TestPlanningSelection(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		c = strings.Replace(c, "      - id: acme\n", "      - id: acme\n        postbacks: [INSTALL, PURCHASE]\n", 1)
		c = strings.Replace(c, "        countries: {deny: [CN]}\n", "        countries: {allow: [US, FR]}\n", 1)
		return strings.Replace(c, "        filters:\n          - field: user_data.os\n            in: [ANDROID, IOS]\n",
			"        filters:\n          - field: user_data.os\n            equals: ANDROID\n          - field: user_data.aaid\n            exists: true\n", 1)
	}})
	for i, tc := range []struct {
		name  string
		event string
		edits map[string]any
		sent  string // acme postback planned, or ""
		skip  string // acme skip class, or ""
	}{
		{"listed postback", "INSTALL", nil, "INSTALL", ""},
		{"postback not in the postbacks list", "OPEN", nil, "", skipDisabled},
		{"country on the allow list, any case", "INSTALL", map[string]any{"user_data.country": "fr"}, "INSTALL", ""},
		{"country not on the allow list", "INSTALL", map[string]any{"user_data.country": "DE"}, "", skipCountry},
		{"country absent with an allow list", "INSTALL", map[string]any{"user_data.country": nil}, "", skipCountry},
		{"equals filter not met", "INSTALL", map[string]any{"user_data.os": "IOS", "user_data.idfa": "AEBE52E7-03EE-455A-B3C4-E57283966239"}, "", skipFilter},
		{"exists filter not met", "INSTALL", map[string]any{"user_data.aaid": nil}, "", skipFilter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := e.ingest(mkEvent(int64(6000+i), tc.event, tc.edits))
			sent, skip := "", ""
			for _, pb := range pl.Postbacks {
				if pb.Partner == "acme" {
					sent = pb.Postback
				}
			}
			for _, s := range pl.Skipped {
				if s.Partner == "acme" {
					skip = s.Class
				}
			}
			if sent != tc.sent || skip != tc.skip {
				t.Errorf("acme: sent %q skipped %q, want sent %q skipped %q (plan %s)",
					sent, skip, tc.sent, tc.skip, fmt.Sprintf("%+v", pl))
			}
		})
	}
}
