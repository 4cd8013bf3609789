package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cleverTapDir copies the shipped CleverTap spec and fixture into a
// temporary partners directory, so these tests do not depend on the
// other partners being present or passing.
func cleverTapDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"clevertap.yaml", "clevertap.test.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "partners", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	ctEvent   = "testdata/render/install-android.json"
	ctAccount = "testdata/render/account.yaml"
	// Worked out from partners/clevertap.yaml and the two files above.
	ctURL = "https://api.clevertap.com/branch?account_id=TEST-R44-4Z5Z&account_token=Zm9v%2BYmFy%2FYmF6%3D%3D&account_passcode=open%20sesame&event=INSTALL&event_timestamp=1700000000&identity=user%2B42%40example.com&os=ANDROID&os_version=13&ip=203.0.113.7&utm_campaign=Spring%20Sale%2050%25&utm_source=news%26letter&utm_medium=email&reinstall=false&google_advertising_id=4cb8a0b6-8f2e-4b2a-9d3c-0f8e7a1c2d3e&idfa="
)

func TestRenderCommand(t *testing.T) {
	dir := cleverTapDir(t)
	code, out, errs := runCLI(t, "render", "--partner", "clevertap", "--event", ctEvent, "--account", ctAccount, "--partners", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Partner, Event string
		Requests       []struct {
			Postback, Method, URL, Body string
			Headers                     map[string]string
		}
		Skipped []struct{ Postback, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if res.Partner != "clevertap" || res.Event != "INSTALL" || len(res.Requests) != 1 || len(res.Skipped) != 0 {
		t.Fatalf("got %+v", res)
	}
	r := res.Requests[0]
	if r.Postback != "INSTALL" || r.Method != "GET" || r.URL != ctURL || r.Body != "" || len(r.Headers) != 0 {
		t.Errorf("request %+v\nwant url %s", r, ctURL)
	}
	for _, want := range []string{`"headers": {}`, `"skipped": []`, `&account_token=`} {
		if !strings.Contains(out, want) {
			t.Errorf("JSON lacks %s:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, "render", "--partner", "clevertap", "--event", ctEvent, "--account", ctAccount, "--partners", dir, "--format", "curl")
	if code != 0 || !strings.Contains(out, "curl '"+ctURL+"'") {
		t.Errorf("curl format (exit %d):\n%s", code, out)
	}
	code, out, _ = runCLI(t, "render", "--partner", "clevertap", "--event", ctEvent, "--account", ctAccount, "--partners", dir, "--explain")
	for _, want := range []string{"INSTALL: GET " + ctURL, `{account_token}`, `"Zm9v+YmFy/YmF6=="`, "credential: ad_network.credentials.account_token", "template: parameter template ${(custom_data.identity)!}"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("explain (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = runCLI(t, "render", "--partner", "clevertap", "--event", ctEvent, "--partners", dir, "--postback", "custom_event", "--format", "json")
	if code != 0 || !strings.Contains(out, `"postback": "custom_event"`) || !strings.Contains(out, "account_id=&") {
		t.Errorf("forced postback without account (exit %d):\n%s", code, out)
	}
}

func TestRenderCommandErrors(t *testing.T) {
	dir := cleverTapDir(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no partner", []string{"render", "--event", ctEvent}, 2, "--partner and --event are required"},
		{"bad format", []string{"render", "--partner", "clevertap", "--event", ctEvent, "--format", "xml"}, 2, `unknown format "xml"`},
		{"unknown partner", []string{"render", "--partner", "nobody", "--event", ctEvent, "--partners", dir}, 1, `no spec for partner "nobody" in ` + dir + " (nobody.yaml or nobody.yml)"},
		{"invalid event", []string{"render", "--partner", "clevertap", "--event", "testdata/render/bad-event.json", "--partners", dir}, 1, "user_data.os"},
		{"bad account", []string{"render", "--partner", "clevertap", "--event", ctEvent, "--account", ctEvent, "--partners", dir}, 1, "account-"},
		{"unknown postback", []string{"render", "--partner", "clevertap", "--event", ctEvent, "--partners", dir, "--postback", "CLICK"}, 1, `no postback "CLICK"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d (want %d), stderr lacks %q:\n%s%s", code, tt.code, tt.want, errs, out)
			}
		})
	}
	// A spec that fails validation is never rendered.
	broken := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(dir, "clevertap.yaml"))
	os.WriteFile(filepath.Join(broken, "clevertap.yaml"), []byte(strings.Replace(string(b), "{os}&", "{os_name}&", 1)), 0o644)
	code, _, errs := runCLI(t, "render", "--partner", "clevertap", "--event", ctEvent, "--partners", broken)
	if code != 1 || !strings.Contains(errs, "os_name") || !strings.Contains(errs, "does not validate") {
		t.Errorf("broken spec: exit %d\n%s", code, errs)
	}
}

func TestEvalCommand(t *testing.T) {
	dir := cleverTapDir(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"fields and aliases", []string{"--template", `${user_data.os}|${event.id}|${last_attributed_touch_data.tilde_click_id}|${(custom_data.nope)!"-"}`}, 0, "ANDROID|551302741529937301|594174602|-", ""},
		{"account and partner", []string{"--template", `${ad_network.machine_name}/${ad_network.credentials.account_id}/${app.app_bundles[0].android.package_name}`, "--account", ctAccount, "--partner", "clevertap", "--partners", dir}, 0, "a_clevertap/TEST-R44-4Z5Z/com.acme.shop", ""},
		{"newlines kept", []string{"--template", "a\n${name}\n"}, 0, "a\nINSTALL\n", ""},
		{"missing value", []string{"--template", "x ${user_data.idfa}"}, 1, "", "--template:1:5: error template-eval:"},
		{"syntax", []string{"--template", "<#if x>"}, 1, "", "--template:1:"},
		{"blocked", []string{"--template", `<#include "x">`}, 1, "", "template-blocked"},
		{"list runs", []string{"--template", `<#list ["a", "b"] as x>${x?counter}${x}<#sep>,</#list>`}, 0, "1a,2b", ""},
		{"no template", []string{}, 2, "", "give one of --template and --template-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"eval", "--event", ctEvent}, tt.args...)
			code, out, errs := runCLI(t, args...)
			if code != tt.code || out != tt.out || !strings.Contains(errs, tt.err) {
				t.Errorf("exit %d (want %d), stdout %q (want %q), stderr %q (want %q)", code, tt.code, out, tt.out, errs, tt.err)
			}
		})
	}
	f := filepath.Join(t.TempDir(), "t.ftl")
	os.WriteFile(f, []byte("line1\n${user_data.nope}"), 0o644)
	code, _, errs := runCLI(t, "eval", "--event", ctEvent, "--template-file", f)
	if code != 1 || !strings.Contains(errs, f+":2:3: error template-eval") {
		t.Errorf("template file error: exit %d, %s", code, errs)
	}
}

func TestLinkCommand(t *testing.T) {
	dir := cleverTapDir(t)
	code, out, errs := runCLI(t, "link", "--partner", "clevertap", "--partners", dir, "--base", "https://acme.app.link/abc")
	want := "https://acme.app.link/abc?$3p=a_clevertap&~advertising_partner_name=CleverTap&utm_campaign={utm_campaign}&utm_source={utm_source}&utm_medium={utm_medium}&reinstall={reinstall}&$aaid={google_advertising_id}&$idfa={idfa}\n"
	if code != 0 || out != want {
		t.Errorf("exit %d %s\ngot  %s\nwant %s", code, errs, out, want)
	}
	if code, _, _ := runCLI(t, "link"); code != 2 {
		t.Errorf("link without --partner: exit %d, want 2", code)
	}
}

func TestTestCommand(t *testing.T) {
	dir := cleverTapDir(t)
	code, out, errs := runCLI(t, "test", dir)
	if code != 0 || !strings.HasPrefix(out, "ok  \tclevertap\t(") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	// The spec path and the fixture path select the same fixture.
	for _, p := range []string{filepath.Join(dir, "clevertap.yaml"), filepath.Join(dir, "clevertap.test.yaml")} {
		if code, out, _ := runCLI(t, "test", p); code != 0 || !strings.HasPrefix(out, "ok  \tclevertap") {
			t.Errorf("test %s: exit %d\n%s", p, code, out)
		}
	}

	// A wrong expectation fails with a readable diff and exit 1.
	b, _ := os.ReadFile(filepath.Join(dir, "clevertap.test.yaml"))
	broken := strings.Replace(string(b), "identity=user-42&os=ANDROID", "identity=user-43&os=ANDROID", 1)
	if broken == string(b) {
		t.Fatal("fixture changed: the edit below no longer applies")
	}
	os.WriteFile(filepath.Join(dir, "clevertap.test.yaml"), []byte(broken), 0o644)
	os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("# not a fixture, and no spec either\n"), 0o644)
	code, out, _ = runCLI(t, "test", filepath.Join(dir, "clevertap.test.yaml"))
	for _, want := range []string{"--- FAIL: clevertap/install-android (", "want identity=user-43", "got identity=user-42", "FAIL\tclevertap\t(", "cases, 1 failed)", "\nFAIL\n"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = runCLI(t, "test", dir)
	if code != 1 || !strings.Contains(out, "?   \tother\t[no fixture file]") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "test", "no/such/dir"); code != 1 || errs == "" {
		t.Errorf("missing path: exit %d %s", code, errs)
	}
}
