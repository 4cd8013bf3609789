package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportExport drives the two commands end to end: import docs into a
// directory, export one back, import the export, and get the same spec.
func TestImportExport(t *testing.T) {
	dir := t.TempDir()
	docs := "../../engine/branchdoc/testdata/rules/"
	code, _, stderr := runCLI(t, "import", docs+"basic.md", docs+"stray.md", "-o", dir)
	if code != 0 {
		t.Fatalf("import exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "stray.md:6:") || !strings.Contains(stderr, "warning import-stray-suffix") {
		t.Errorf("import did not report the stray suffix with its doc line:\n%s", stderr)
	}
	spec1, err := os.ReadFile(filepath.Join(dir, "basic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(spec1), "# yaml-language-server: $schema=../schemas/partner.schema.json\n") {
		t.Errorf("spec does not start with the schema comment:\n%s", spec1)
	}

	code, doc, stderr := runCLI(t, "export", "--partner", "basic", "--partners", dir)
	if code != 0 {
		t.Fatalf("export exit %d\n%s", code, stderr)
	}
	if !strings.Contains(doc, "INSTALL | https://pb.example.test/i?click={click_id}&os={os}") {
		t.Errorf("export lacks the INSTALL row:\n%s", doc)
	}
	redoc := filepath.Join(t.TempDir(), "new", "dir", "basic.md")
	if code, _, stderr := runCLI(t, "export", "--partner", "basic", "--partners", dir, "-o", redoc); code != 0 {
		t.Fatalf("export -o into a directory that does not exist yet: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(redoc); err != nil || string(b) != doc {
		t.Fatalf("export -o wrote %q (%v), export to stdout %q", b, err, doc)
	}
	code, spec2, stderr := runCLI(t, "import", redoc)
	if code != 0 {
		t.Fatalf("re-import exit %d\n%s", code, stderr)
	}
	strip := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "#") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if strip(string(spec1)) != strip(spec2) {
		t.Errorf("import -> export -> import differs\n--- first ---\n%s\n--- second ---\n%s", spec1, spec2)
	}
}

func TestImportFailures(t *testing.T) {
	docs := "../../engine/branchdoc/testdata/rules/"
	if code, _, stderr := runCLI(t, "import", docs+"not_a_doc.md", "-o", t.TempDir()); code != 1 || !strings.Contains(stderr, "not a Branch partner doc") {
		t.Errorf("not a doc: exit %d, want 1\n%s", code, stderr)
	}
	// What the importer lets through, the lint on its output still
	// catches: a space inside a postback URL.
	basic, err := os.ReadFile(docs + "basic.md")
	if err != nil {
		t.Fatal(err)
	}
	spaced := filepath.Join(t.TempDir(), "a_spaced.md")
	if err := os.WriteFile(spaced, []byte(strings.Replace(string(basic), "https://pb.example.test/i?", "https://pb.example.test/a b?", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if code, _, stderr := runCLI(t, "import", spaced, "-o", out); code != 1 || !strings.Contains(stderr, filepath.Join(out, "spaced.yaml")+":") || !strings.Contains(stderr, "error url-unescaped-char") {
		t.Errorf("lint error in the output: exit %d, want 1 naming %s and url-unescaped-char\n%s", code, filepath.Join(out, "spaced.yaml"), stderr)
	}
	if code, _, _ := runCLI(t, "import", "no/such/file.md"); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
	if code, _, _ := runCLI(t, "import"); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "export", "--partner", "nope", "--partners", t.TempDir()); code != 1 {
		t.Errorf("missing partner: exit %d, want 1", code)
	}
}
