package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ymlDir holds the CleverTap spec as clevertap.yml, with its fixture.
func ymlDir(t *testing.T) string {
	t.Helper()
	dir := cleverTapDir(t)
	if err := os.Rename(filepath.Join(dir, "clevertap.yaml"), filepath.Join(dir, "clevertap.yml")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSpecDirectories: *.yml specs are read like *.yaml ones, and a
// directory with nothing to check is an error naming it as given.
func TestSpecDirectories(t *testing.T) {
	yml := ymlDir(t)
	empty := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"validate a directory of *.yml", []string{"validate", yml}, 0, "", "1 partner spec checked: 0 errors"},
		{"validate a *.yml file", []string{"validate", filepath.Join(yml, "clevertap.yml")}, 0, "", "1 partner spec checked: 0 errors"},
		{"validate an empty directory", []string{"validate", empty}, 2, "", "adgate validate: " + empty + ": no partner spec (*.yaml, *.yml) in this directory"},
		{"validate a directory without specs, named as given", []string{"validate", "testdata/"}, 2, "", "adgate validate: testdata/: no partner spec"},
		{"validate one empty directory among others", []string{"validate", yml, empty}, 2, "", empty + ": no partner spec"},
		{"test a *.yml spec's fixture", []string{"test", yml}, 0, "ok  \tclevertap\t(", ""},
		{"test a *.yml spec", []string{"test", filepath.Join(yml, "clevertap.yml")}, 0, "ok  \tclevertap\t(", ""},
		{"test an empty directory", []string{"test", empty}, 1, "", "adgate test: " + empty + ": no fixture (*.test.yaml) and no spec (*.yaml, *.yml) in this directory"},
		{"render a *.yml spec", []string{"render", "--partner", "clevertap", "--partners", yml, "--event", ctEvent}, 0, "partner clevertap, event INSTALL", ""},
		{"link with no spec names the directory", []string{"link", "--partner", "nope", "--partners", empty}, 1, "", `no spec for partner "nope" in ` + empty + " (nope.yaml or nope.yml)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.err) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tt.code, out, tt.out, errs, tt.err)
			}
		})
	}
}

func TestFindUpFrom(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(filepath.Join(root, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, "examples", "gateway.yaml")
	if err := os.WriteFile(want, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := findUpFrom(deep, filepath.Join("examples", "gateway.yaml")); err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	_, err := findUpFrom(deep, "no-such-file")
	if err == nil || err.Error() != "no-such-file not found in "+deep+" or its parents" {
		t.Errorf("error %v, want it to name %s", err, deep)
	}
}

// TestServeDemoOutsideTheRepository runs `adgate serve --demo` in a
// directory outside the repository: the error names that directory.
func TestServeDemoOutsideTheRepository(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runChildIn(t, dir, "", "serve", "--demo")
	want := "adgate serve --demo: " + filepath.Join("examples", "gateway.yaml") + " not found in " + dir + " or its parents (run it from the adgate repository)"
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("exit %d, stderr %q, want %q", code, errs, want)
	}
}
