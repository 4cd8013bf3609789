package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLinkGoogleAdWords: the tracking link for Google AdWords carries the
// keys of Branch's own AdWords link ($3p=a_google_adwords&~campaign_id=
// {campaignid}&~ad_set_id={adgroupid}&~keyword_text={keyword}&~placement=
// {placement}), with the partner name percent-encoded.
func TestLinkGoogleAdWords(t *testing.T) {
	code, out, errs := runCLI(t, "link", "--partner", "google_adwords", "--partners", filepath.Join("..", "..", "partners"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	out = strings.TrimSuffix(out, "\n")
	base, query, ok := strings.Cut(out, "?")
	if !ok || base != "https://example.app.link/partner" {
		t.Fatalf("link %q", out)
	}
	params := map[string]bool{}
	for _, kv := range strings.Split(query, "&") {
		params[kv] = true
	}
	for _, want := range []string{
		"$3p=a_google_adwords", "~advertising_partner_name=Google%20AdWords",
		"~campaign_id={campaignid}", "~ad_set_id={adgroupid}", "~keyword_text={keyword}", "~placement={placement}",
	} {
		if !params[want] {
			t.Errorf("link lacks %s:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(query, "$3p=a_google_adwords&~advertising_partner_name=") {
		t.Errorf("link does not start with $3p and the partner name: %s", out)
	}
}

// TestEventIDsExact: 18-19 digit event ids and ~id values survive decoding
// and printing exactly, in eval and in a rendered URL.
func TestEventIDsExact(t *testing.T) {
	dir := cleverTapDir(t)
	ev := filepath.Join(t.TempDir(), "ev.json")
	if err := os.WriteFile(ev, []byte(`{"id": 9223372036854775807, "name": "INSTALL", "timestamp": 1767225600999,
		"last_attributed_touch_data": {"~id": 999999999999999999, "utm_campaign": "1234567890123456789"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "eval", "--event", ev, "--template", `${id} ${event.id?c} ${last_attributed_touch_data.tilde_id} ${last_attributed_touch_data["~id"]?string}`)
	if want := "9223372036854775807 9223372036854775807 999999999999999999 999999999999999999"; code != 0 || out != want {
		t.Errorf("eval: exit %d, got %q, want %q (%s)", code, out, want, errs)
	}
	code, out, errs = runCLI(t, "render", "--partner", "clevertap", "--event", ev, "--partners", dir, "--format", "json")
	if code != 0 || !strings.Contains(out, "&event_timestamp=1767225600&") || !strings.Contains(out, "&utm_campaign=1234567890123456789&") {
		t.Errorf("render: exit %d (%s)\n%s", code, errs, out)
	}
}
