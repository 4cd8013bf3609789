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

// import -o never loses a spec silently: an existing file is kept without
// --force (or skipped with --no-clobber), two docs with one id are
// refused before anything is written, and a symbolic link is never
// written through.
func TestImportOutputSafety(t *testing.T) {
	docs := "../../engine/branchdoc/testdata/rules/"
	basic := docs + "basic.md"
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string) // prepares -o DIR
		args     []string
		code     int
		stderr   string
		wantFile string // basic.yaml's content afterwards; "" means the import's
	}{
		{"new file", nil, nil, 0, "1 of 1 docs imported", ""},
		{"existing file kept", writeFile("basic.yaml", "mine\n"), nil, 1, "basic.yaml exists; pass --force to overwrite it", "mine\n"},
		{"existing file skipped", writeFile("basic.yaml", "mine\n"), []string{"--no-clobber"}, 0, "skipped", "mine\n"},
		{"existing file forced", writeFile("basic.yaml", "mine\n"), []string{"--force"}, 0, "1 of 1 docs imported", ""},
		{"symlink refused", symlinkTo("basic.yaml"), nil, 1, "is a symbolic link", "target\n"},
		{"symlink refused with --force", symlinkTo("basic.yaml"), []string{"--force"}, 1, "is a symbolic link", "target\n"},
		{"dangling symlink refused", func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(dir, "nowhere.yaml"), filepath.Join(dir, "basic.yaml")); err != nil {
				t.Skip(err)
			}
		}, nil, 1, "is a symbolic link", "-"},
		{"force and no-clobber", nil, []string{"--force", "--no-clobber"}, 2, "exclude each other", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			args := append([]string{"import", basic, "-o", dir}, tt.args...)
			code, _, stderr := runCLI(t, args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, want %d with %q\n%s", code, tt.code, tt.stderr, stderr)
			}
			if tt.wantFile == "-" {
				return
			}
			got, err := os.ReadFile(filepath.Join(dir, "basic.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantFile == "" {
				if !strings.Contains(string(got), "id: basic\n") {
					t.Errorf("basic.yaml is not the import:\n%s", got)
				}
			} else if string(got) != tt.wantFile {
				t.Errorf("basic.yaml = %q, want %q", got, tt.wantFile)
			}
			if fi, err := os.Lstat(filepath.Join(dir, "basic.yaml")); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				target, _ := os.ReadFile(filepath.Join(dir, "target.yaml"))
				if string(target) != "target\n" {
					t.Errorf("the link's target was written: %q", target)
				}
			}
		})
	}
}

func writeFile(name, content string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// symlinkTo makes dir/name a link to dir/target.yaml, which holds "target".
func symlinkTo(name string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		target := filepath.Join(dir, "target.yaml")
		if err := os.WriteFile(target, []byte("target\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
}

func TestImportSameID(t *testing.T) {
	src := t.TempDir()
	basic, err := os.ReadFile("../../engine/branchdoc/testdata/rules/basic.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a_acme.md", "acme.md", "a_other.md"} {
		if err := os.WriteFile(filepath.Join(src, f), basic, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	code, _, stderr := runCLI(t, "import", filepath.Join(src, "a_acme.md"), filepath.Join(src, "a_other.md"), filepath.Join(src, "acme.md"), "-o", out)
	if code != 1 || !strings.Contains(stderr, "map to one partner id, acme (acme.yaml)") || !strings.Contains(stderr, "nothing written") {
		t.Fatalf("exit %d, want 1 naming the clash\n%s", code, stderr)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("%d files written, want none", len(entries))
	}
	// To stdout nothing is overwritten: both are printed.
	if code, stdout, stderr := runCLI(t, "import", filepath.Join(src, "a_acme.md"), filepath.Join(src, "acme.md")); code != 0 || strings.Count(stdout, "id: acme\n") != 2 {
		t.Errorf("stdout import: exit %d\n%s", code, stderr)
	}
}

func TestImportRefusesReadme(t *testing.T) {
	code, _, stderr := runCLI(t, "import", "../../engine/branchdoc/testdata/family/README.md", "-o", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "README.md:1:1: error import-not-a-partner-doc: not a Branch partner doc") ||
		!strings.Contains(stderr, "0 of 1 docs imported, 0 warnings") {
		t.Errorf("exit %d, want 1 with one finding and no warnings\n%s", code, stderr)
	}
}

// export -o creates the doc's directory; what the doc cannot carry is
// reported, and --strict fails on it without writing.
func TestExportOutput(t *testing.T) {
	partners := t.TempDir()
	spec := `id: acme
name: Acme
postbacks:
  - events: [PURCHASE]
    method: POST
    url: https://x.example.test/p?c={click}
    body: '{"c": "{click}"}'
    content_type: application/json
parameters:
  - {macro: click, branch: CLICK_ID, link_macro: "{click}"}
`
	if err := os.WriteFile(filepath.Join(partners, "acme.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "docs", "partners", "a_acme.md")
	code, _, stderr := runCLI(t, "export", "--partner", "acme", "--partners", partners, "-o", out)
	if code != 0 || !strings.Contains(stderr, "cannot carry the body of the PURCHASE postback (left out)") || !strings.Contains(stderr, "content type of the PURCHASE postback") {
		t.Fatalf("export exit %d, want 0 reporting body and content type\n%s", code, stderr)
	}
	if doc, err := os.ReadFile(out); err != nil || !strings.Contains(string(doc), "PURCHASE | POST | https://x.example.test/p?c={click}") {
		t.Fatalf("doc not written to the new directory: %v\n%s", err, doc)
	}
	strictOut := filepath.Join(t.TempDir(), "strict", "a_acme.md")
	code, stdout, stderr := runCLI(t, "export", "--partner", "acme", "--partners", partners, "-o", strictOut, "--strict")
	if code != 1 || !strings.Contains(stderr, "(--strict); nothing written") || stdout != "" {
		t.Fatalf("--strict: exit %d, want 1\n%s", code, stderr)
	}
	if _, err := os.Stat(strictOut); err == nil {
		t.Error("--strict wrote the doc")
	}
	// A spec the doc carries whole passes --strict.
	if err := os.WriteFile(filepath.Join(partners, "acme.yaml"), []byte(strings.Replace(strings.Replace(spec, "    body: '{\"c\": \"{click}\"}'\n", "", 1), "    content_type: application/json\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI(t, "export", "--partner", "acme", "--partners", partners, "--strict"); code != 0 || !strings.Contains(stdout, "PURCHASE | POST |") {
		t.Errorf("--strict on a spec the doc carries: exit %d\n%s", code, stderr)
	}
}

// A macro with brackets, as Branch writes device ids ({DeviceIds[IFA]}),
// is one macro everywhere: the schema and lint accept it, render and
// explain fill it, export writes it and import reads it back.
func TestBracketMacros(t *testing.T) {
	partners := t.TempDir()
	const spec = `id: brk
name: Brackets
postbacks:
  - events: [PURCHASE]
    url: https://pb.example.test/p?idfa={DeviceIds[IFA]}&c={click}
parameters:
  - {macro: "DeviceIds[IFA]", branch: IDFA}
  - {macro: click, branch: CLICK_ID, link_macro: "{click}"}
`
	if err := os.WriteFile(filepath.Join(partners, "brk.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "validate", partners); code != 0 || !strings.Contains(stderr, "0 errors, 0 warnings") {
		t.Fatalf("validate: exit %d\n%s", code, stderr)
	}
	code, out, stderr := runCLI(t, "render", "--partners", partners, "--partner", "brk", "--event", "../../partners/events/ios-purchase.json", "--explain")
	if code != 0 || !strings.Contains(out, "idfa=27AFDDCC-15DA-3A32-EF33-D0469D36A673&") || !strings.Contains(out, `{DeviceIds[IFA]}  "27AFDDCC-15DA-3A32-EF33-D0469D36A673"  IDFA`) {
		t.Fatalf("render --explain: exit %d\n%s%s", code, out, stderr)
	}
	code, doc, stderr := runCLI(t, "export", "--partner", "brk", "--partners", partners, "--strict")
	if code != 0 || !strings.Contains(doc, "{DeviceIds[IFA]} | IDFA |") {
		t.Fatalf("export: exit %d\n%s%s", code, doc, stderr)
	}
	docFile := filepath.Join(t.TempDir(), "a_brk.md")
	if err := os.WriteFile(docFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, back, stderr := runCLI(t, "import", docFile)
	if code != 0 || !strings.Contains(back, "macro: DeviceIds[IFA]\n") || !strings.Contains(back, "idfa={DeviceIds[IFA]}&c={click}") {
		t.Fatalf("import of the export: exit %d\n%s%s", code, back, stderr)
	}
}
