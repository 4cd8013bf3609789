package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/diag"
)

// defectCopy writes partners/clevertap.yaml with the doc's original
// utm_source={utm_medium} into a temp dir and returns the dir and the
// position where the second utm_source key stands.
func defectCopy(t *testing.T) (dir string, line, col int) {
	t.Helper()
	b, err := os.ReadFile("../../partners/clevertap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "&utm_medium={utm_medium}&", "&utm_source={utm_medium}&", 1)
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "clevertap.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "    url: ") {
			first := strings.Index(l, "utm_source=")
			second := first + 1 + strings.Index(l[first+1:], "utm_source=")
			return dir, i + 1, second + 1
		}
	}
	t.Fatal("no url line")
	return
}

func TestValidateShippedPartners(t *testing.T) {
	code, out, errOut := runCLI(t, "validate", "../../partners/")
	if code != 0 || out != "" {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestValidateCatchesCleverTapDefect(t *testing.T) {
	dir, line, col := defectCopy(t)
	code, out, _ := runCLI(t, "validate", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := filepath.Join(dir, "clevertap.yaml") + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(col) + ": error duplicate-query-key: query key \"utm_source\" appears twice"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}

	code, out, _ = runCLI(t, "validate", "--format", "json", dir)
	var ds []diag.Diagnostic
	if err := json.Unmarshal([]byte(out), &ds); err != nil || code != 1 {
		t.Fatalf("json output (exit %d) does not decode: %v\n%s", code, err, out)
	}
	found := false
	for _, d := range ds {
		found = found || (d.Rule == "duplicate-query-key" && d.Line() == line && d.Col() == col && d.Severity == diag.Error)
	}
	if !found {
		t.Errorf("json lacks the duplicate key at %d:%d: %s", line, col, out)
	}

	code, out, _ = runCLI(t, "validate", dir, "--format=github")
	if code != 1 {
		t.Errorf("github: exit %d", code)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "::error ") && !strings.HasPrefix(l, "::warning ") {
			t.Errorf("not a workflow command: %q", l)
		}
	}
	if !strings.Contains(out, "::error file="+filepath.Join(dir, "clevertap.yaml")+",line="+strconv.Itoa(line)+",col="+strconv.Itoa(col)+",endColumn="+strconv.Itoa(col+len("utm_source")-1)+",title=duplicate-query-key::") {
		t.Errorf("github output lacks the duplicate key annotation:\n%s", out)
	}
}

func TestValidateExitCodes(t *testing.T) {
	warnDir := t.TempDir()
	spec := "id: w\nname: W\npostbacks:\n  - events: [INSTALL]\n    url: http://ex.com/p?a={a}\nparameters:\n  - {macro: a, branch: AAID}\n"
	if err := os.WriteFile(filepath.Join(warnDir, "w.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"warnings pass", []string{"validate", warnDir}, 0},
		{"warnings fail under --strict", []string{"validate", "--strict", warnDir}, 1},
		{"flags after paths", []string{"validate", warnDir, "--strict"}, 1},
		{"a file path", []string{"validate", filepath.Join(warnDir, "w.yaml")}, 0},
		{"unknown format", []string{"validate", "--format", "xml", warnDir}, 2},
		{"unknown flag", []string{"validate", "--bogus"}, 2},
		{"missing path", []string{"validate", filepath.Join(warnDir, "nope")}, 2},
		{"help", []string{"validate", "--help"}, 0},
		{"rules", []string{"validate", "--rules"}, 0},
		{"schema", []string{"schema"}, 0},
		{"schema catalog", []string{"schema", "--catalog"}, 0},
		{"schema help", []string{"schema", "-h"}, 0},
		{"schema extra arg", []string{"schema", "x"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
		})
	}
}

func TestValidateHelpDescribesEveryFlag(t *testing.T) {
	_, out, _ := runCLI(t, "validate", "--help")
	for _, f := range []string{"-format", "-strict", "-rules", "text", "json", "github", "adgate:ignore", "Exit status"} {
		if !strings.Contains(out, f) {
			t.Errorf("validate --help does not mention %q:\n%s", f, out)
		}
	}
	_, out, _ = runCLI(t, "schema", "--help")
	if !strings.Contains(out, "-catalog") {
		t.Errorf("schema --help does not mention -catalog:\n%s", out)
	}
}

func TestSchemaPrintsEmbeddedFiles(t *testing.T) {
	for args, file := range map[string]string{"schema": "../../schemas/partner.schema.json", "schema --catalog": "../../schemas/branch-parameters.yaml"} {
		_, out, _ := runCLI(t, strings.Fields(args)...)
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("adgate %s does not print %s", args, file)
		}
	}
}

// TestValidateRoutesGatewayConfig: a gateway config given as a file is
// checked as a config, not as a partner spec.
func TestValidateRoutesGatewayConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(path, []byte("apps: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "validate", "--format", "json", path)
	var ds []diag.Diagnostic
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if code != 1 || len(ds) == 0 {
		t.Fatalf("exit %d, %v", code, ds)
	}
	for _, d := range ds {
		if d.Rule == "file-name-mismatch" || d.Rule == "schema" {
			t.Errorf("config checked as a partner spec: %+v", d)
		}
	}
}

// TestValidateConfigWithBrokenSpec: a gateway.yaml naming a spec with one
// undefined macro gets exactly that error, at the spec's file:line:col with
// its snippet, and no "no partner spec" for the config; the summary counts
// the config and the spec it checked.
func TestValidateConfigWithBrokenSpec(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"gateway.yaml":       "partners_dir: partners\napps:\n  - id: shop\n    ingest:\n      bearer_tokens: [shop-token-123]\n    partners:\n      - id: acme\n",
		"partners/acme.yaml": "id: acme\nname: Acme\npostbacks:\n  - events: [INSTALL]\n    url: https://pb.acme.example/i?aaid={aaid}&c={clik}\nparameters:\n  - macro: aaid\n    branch: AAID\n",
	}
	if err := os.MkdirAll(filepath.Join(dir, "partners"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, "validate", filepath.Join(dir, "gateway.yaml"))
	checkBrokenSpecOutput(t, code, out, errOut, filepath.Join(dir, "partners", "acme.yaml"))

	// The spec given as well, once absolute and reached relative through
	// the config: still one finding, one spec.
	t.Chdir(dir)
	code, out, errOut = runCLI(t, "validate", filepath.Join(dir, "partners"), "gateway.yaml")
	checkBrokenSpecOutput(t, code, out, errOut, filepath.Join(dir, "partners", "acme.yaml"))
}

func checkBrokenSpecOutput(t *testing.T, code int, out, errOut, file string) {
	t.Helper()
	want := file + ":5:50: error undefined-macro: macro {clik} has no parameter definition (add a parameter with that macro, or fix the macro's spelling)\n" +
		"  |\n" +
		"5 |     url: https://pb.acme.example/i?aaid={aaid}&c={clik}\n" +
		"  |                                                  ^~~~~~\n"
	if code != 1 || out != want {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, want)
	}
	if s := "1 config, 1 partner spec checked: 1 error, 0 warnings\n"; errOut != s {
		t.Errorf("summary %q, want %q", errOut, s)
	}
}

func TestValSummary(t *testing.T) {
	tests := []struct {
		configs, specs, errs, warns int
		strict                      bool
		want                        string
	}{
		{0, 66, 0, 0, false, "66 partner specs checked: 0 errors, 0 warnings"},
		{1, 3, 0, 1, false, "1 config, 3 partner specs checked: 0 errors, 1 warning"},
		{1, 0, 2, 0, false, "1 config, 0 partner specs checked: 2 errors, 0 warnings"},
		{2, 1, 1, 2, true, "2 configs, 1 partner spec checked: 1 error, 2 warnings (--strict: warnings fail)"},
		{0, 1, 0, 0, true, "1 partner spec checked: 0 errors, 0 warnings"},
	}
	for _, tt := range tests {
		if got := valSummary(tt.configs, tt.specs, tt.errs, tt.warns, tt.strict); got != tt.want {
			t.Errorf("valSummary(%d, %d, %d, %d, %v) = %q, want %q", tt.configs, tt.specs, tt.errs, tt.warns, tt.strict, got, tt.want)
		}
	}
}

// A spec given directly and reached through the config's partners_dir is
// counted, and reported, once.
func TestValidateCountsEachSpecOnce(t *testing.T) {
	_, _, errOut := runCLI(t, "validate", "../../partners/", "../../examples/gateway.yaml")
	n, err := os.ReadDir("../../partners")
	if err != nil {
		t.Fatal(err)
	}
	specs := 0
	for _, e := range n {
		if strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".test.yaml") {
			specs++
		}
	}
	if want := fmt.Sprintf("1 config, %d partner specs checked: 0 errors, 0 warnings\n", specs); errOut != want {
		t.Errorf("summary %q, want %q", errOut, want)
	}
}
