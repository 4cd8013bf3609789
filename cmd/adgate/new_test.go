package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewPartner checks that the starter spec validates without a
// finding and that its fixture passes, as written, for any valid id.
func TestNewPartner(t *testing.T) {
	for _, id := range []string{"acme_ads", "x", "9lives_2"} {
		t.Run(id, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "specs", "nested")
			code, out, errOut := runCLI(t, "new", "partner", id, "--dir", dir)
			if code != 0 {
				t.Fatalf("new: exit %d\n%s%s", code, out, errOut)
			}
			specPath := filepath.Join(dir, id+".yaml")
			if !strings.Contains(out, "wrote "+specPath) {
				t.Errorf("new output does not name %s:\n%s", specPath, out)
			}
			code, out, errOut = runCLI(t, "validate", specPath)
			if code != 0 || !strings.Contains(errOut, "0 errors, 0 warnings") {
				t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
			}
			code, out, errOut = runCLI(t, "test", "-v", specPath)
			if code != 0 || strings.Count(out, "--- PASS") != 4 {
				t.Errorf("test: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestNewPartnerName(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "new", "partner", "--dir", dir, "--name", "ACME Ads, Inc.", "acme"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "acme.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nname: ACME Ads, Inc.\n") {
		t.Errorf("--name not written:\n%s", b)
	}
	if got := displayName("acme_ads_2"); got != "Acme Ads 2" {
		t.Errorf("displayName = %q", got)
	}
}

func TestNewPartnerErrors(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "taken.test.yaml")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no id", []string{"new", "partner"}, 2, "give: new partner ID"},
		{"not partner", []string{"new", "spec", "x"}, 2, "give: new partner ID"},
		{"bad id", []string{"new", "partner", "Acme-Ads"}, 2, `partner id "Acme-Ads"`},
		{"exists", []string{"new", "partner", "--dir", dir, "taken"}, 1, existing + " already exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.inStderr) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errOut, c.code, c.inStderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "taken.yaml")); err == nil {
		t.Error("a spec was written beside an existing fixture")
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Error("an existing file was overwritten")
	}
}
