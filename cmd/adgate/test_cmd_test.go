package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// breakCleverTap changes one expected value in dir's CleverTap fixture and
// returns the fixture's path and its original text.
func breakCleverTap(t *testing.T, dir string) (path string, orig []byte) {
	t.Helper()
	path = filepath.Join(dir, "clevertap.test.yaml")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(orig), "identity=user-42&os=ANDROID", "identity=user-43&os=ANDROID", 1)
	if broken == string(orig) {
		t.Fatal("fixture changed: the edit no longer applies")
	}
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, orig
}

func TestTestRun(t *testing.T) {
	dir := cleverTapDir(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
		notOut   string
	}{
		{"one case", []string{"--run", "clevertap/install-android", "-v"}, 0, "--- PASS: clevertap/install-android\nok  \tclevertap\t(1 cases)\n", "", "purchase"},
		{"a case name in any partner", []string{"--run", "/^purchase", "-v"}, 0, "--- PASS: clevertap/purchase", "", "install-android"},
		{"a partner", []string{"--run", "^clever"}, 0, "ok  \tclevertap\t(", "", ""},
		{"go test's single dash", []string{"-run", "clevertap/install-android"}, 0, "(1 cases)", "", ""},
		{"no partner matches", []string{"--run", "nobody"}, 1, "", `adgate test: no case matches --run "nobody"`, "clevertap"},
		{"no case matches", []string{"--run", "clevertap/^zzz"}, 1, "", "no case matches", "clevertap"},
		{"three parts", []string{"--run", "a/b/c"}, 2, "", "--run: pattern \"a/b/c\" has 3 parts", ""},
		{"a bad expression", []string{"--run", "/("}, 2, "", "--run: pattern", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"test", dir}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.err) || (tt.notOut != "" && strings.Contains(out, tt.notOut)) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q, not %q)\nstderr %q (want %q)", code, tt.code, out, tt.out, tt.notOut, errs, tt.err)
			}
		})
	}
	// --run selects among failing cases too: the broken case fails only
	// when it is run.
	breakCleverTap(t, dir)
	if code, out, _ := runCLI(t, "test", dir, "--run", "/purchase"); code != 0 {
		t.Errorf("--run /purchase with install-android broken: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "test", dir, "--run", "/install-android"); code != 1 || !strings.Contains(out, "(1 cases, 1 failed)") {
		t.Errorf("--run /install-android broken: exit %d\n%s", code, out)
	}
}

func TestTestUpdate(t *testing.T) {
	dir := cleverTapDir(t)
	path, orig := breakCleverTap(t, dir)

	// The update restores the shipped fixture byte for byte: only the
	// wrong value changed, every comment and line break is kept.
	code, out, errs := runCLI(t, "test", "--update", dir)
	if code != 0 || !strings.Contains(out, "--- UPDATED: clevertap/install-android ("+path+":") || !strings.Contains(out, "ok  \tclevertap\t(") || !strings.Contains(out, "1 updated)") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(orig) {
		t.Errorf("updated fixture differs from the shipped one:\n%s", got)
	}
	// Idempotent: a second run passes and changes nothing.
	code, out, _ = runCLI(t, "test", "--update", dir)
	if again, _ := os.ReadFile(path); code != 0 || strings.Contains(out, "UPDATED") || string(again) != string(orig) {
		t.Errorf("second --update: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(path + ".adgate-update"); err == nil {
		t.Error("the temporary file was left behind")
	}

	// A case --update cannot rewrite still fails, and says why.
	text := strings.Replace(string(orig), "      query:\n        event: INSTALL\n", "      query:\n        event: INSTALL\n        not_sent: x\n", 1)
	if text == string(orig) {
		t.Fatal("fixture changed: the query edit no longer applies")
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "test", "--update", dir)
	if code != 1 || !strings.Contains(out, "not updated: query parameter not_sent is no longer sent; remove it from query") || !strings.Contains(out, "update it by hand") {
		t.Errorf("exit %d\n%s", code, out)
	}
	if after, _ := os.ReadFile(path); string(after) != text {
		t.Errorf("a case that cannot be updated changed the file")
	}
}

func TestTestJUnit(t *testing.T) {
	dir := cleverTapDir(t)
	breakCleverTap(t, dir)
	// A second partner whose fixture does not load.
	if err := os.WriteFile(filepath.Join(dir, "other.test.yaml"), []byte("cases: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "report.xml")
	code, out, errs := runCLI(t, "test", dir, "--junit", report)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), xml.Header) {
		t.Errorf("no XML header:\n%s", b)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report is not valid XML: %v\n%s", err, b)
	}
	cases := strings.Count(string(mustRead(t, filepath.Join(dir, "clevertap.test.yaml"))), "\n  - name: ")
	if doc.Tests != cases+1 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 2 {
		t.Fatalf("tests %d (want %d), failures %d, errors %d, suites %d", doc.Tests, cases+1, doc.Failures, doc.Errors, len(doc.Suites))
	}
	ct := doc.Suites[0]
	if ct.Name != "clevertap" || len(ct.Cases) != cases || ct.Tests != cases || ct.Failures != 1 {
		t.Fatalf("suite %+v", ct)
	}
	for _, c := range ct.Cases {
		if c.Classname != "clevertap" || c.File != filepath.Join(dir, "clevertap.test.yaml") || c.Line == 0 {
			t.Errorf("testcase %+v", c)
		}
		if (c.Failure != nil) != (c.Name == "install-android") {
			t.Errorf("%s: failure %+v", c.Name, c.Failure)
		}
		if c.Failure != nil && (!strings.Contains(c.Failure.Message, "url differs") || !strings.Contains(c.Failure.Text, "want identity=user-43")) {
			t.Errorf("failure %+v", c.Failure)
		}
	}
	other := doc.Suites[1]
	if other.Name != "other" || other.Errors != 1 || len(other.Cases) != 1 || other.Cases[0].Error == nil || !strings.Contains(other.Cases[0].Error.Text, "fixture-") {
		t.Errorf("suite %+v", other)
	}
	// A passing run writes a report without failures.
	if code, _, _ := runCLI(t, "test", cleverTapDir(t), "--junit", report); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if err := xml.Unmarshal(mustRead(t, report), &doc); err != nil || doc.Failures != 0 || doc.Errors != 0 || doc.Tests != cases {
		t.Errorf("passing report: %v %+v", err, doc)
	}
	// An unwritable report is an error.
	if code, _, errs := runCLI(t, "test", dir, "--junit", filepath.Join(dir, "no", "such", "dir.xml")); code != 1 || !strings.Contains(errs, "junit") {
		t.Errorf("unwritable report: exit %d %s", code, errs)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
