package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStdinAndNoEvent: --event -, --template - and --template-file - read
// stdin; eval needs no event.
func TestStdinAndNoEvent(t *testing.T) {
	dir := cleverTapDir(t)
	event, err := os.ReadFile(ctEvent)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string
	}{
		{"eval without an event", "", []string{"eval", "--template", "${1+1}"}, 0, "2", ""},
		{"eval without an event: event fields are missing", "", []string{"eval", "--template", "${name}"}, 1, "", "--template:1:3: error template-eval: name is missing"},
		{"eval without an event, with a partner", "", []string{"eval", "--template", "${ad_network.machine_name}", "--partner", "clevertap", "--partners", dir}, 0, "a_clevertap", ""},
		{"eval --event -", string(event), []string{"eval", "--template", "${user_data.os}", "--event", "-"}, 0, "ANDROID", ""},
		{"eval --template -", "${name}\n", []string{"eval", "--template", "-", "--event", ctEvent}, 0, "INSTALL\n", ""},
		{"eval --template-file -", "${id}", []string{"eval", "--template-file", "-", "--event", ctEvent}, 0, "551302741529937301", ""},
		{"an error in a template from stdin names stdin", "a\n${nope}", []string{"eval", "--template", "-"}, 1, "", "stdin:2:3: error template-eval"},
		{"template and event cannot both be stdin", "{}", []string{"eval", "--template", "-", "--event", "-"}, 2, "", "only one of the template and the event can come from stdin"},
		{"an invalid event from stdin names stdin", `{"name": 3}`, []string{"eval", "--template", "x", "--event", "-"}, 1, "", "adgate eval: stdin: event does not match"},
		{"render --event -", string(event), []string{"render", "--partner", "clevertap", "--partners", dir, "--event", "-", "--format", "curl"}, 0, "# partner clevertap, event INSTALL\n", ""},
		{"render --event - with nothing on stdin", "", []string{"render", "--partner", "clevertap", "--partners", dir, "--event", "-"}, 1, "", "stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLIStdin(t, tt.stdin, tt.args...)
			if code != tt.code || !strings.HasPrefix(out, tt.out) || (tt.out == "" && out != "") || !strings.Contains(errs, tt.err) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tt.code, out, tt.out, errs, tt.err)
			}
		})
	}
}

// TestStdinChildProcess reads a real process's standard input.
func TestStdinChildProcess(t *testing.T) {
	ev, err := filepath.Abs(ctEvent)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runChild(t, "${user_data.os} ${1+1}", "eval", "--template", "-", "--event", ev)
	if code != 0 || out != "ANDROID 2" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = runChild(t, "", "eval", "--template", "${nope}")
	if code != 1 || out != "" || !strings.Contains(errs, "template-eval") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
