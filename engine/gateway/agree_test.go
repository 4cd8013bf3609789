package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// agreeSpecs are the spec files of the test suite: every lint rule's
// failing and passing specs, the golden and importer specs, the partners
// and the examples.
var agreeSpecs = []string{
	"../spec/testdata/rules/*/fail/*.yaml",
	"../spec/testdata/rules/*/pass/*.yaml",
	"../spec/testdata/golden/specs/*.yaml",
	"../branchdoc/testdata/golden/*.yaml",
	"../branchdoc/testdata/rules/*.yaml",
	"../render/testdata/specs/*.yaml",
	"../../partners/*.yaml",
	"../../examples/partners/*.yaml",
}

// TestValidateAndRenderAgree: `adgate validate` (the loader's findings),
// `adgate render` (the loader, then render.Compile) and `adgate serve`
// (its runtime load of a config enabling the partner) agree on every spec
// of the test suite: validate reports an error exactly when the spec
// cannot be rendered or served. Compile is also run on each file decoded
// without the loader, so that anything Compile refuses is shown to be
// refused by validate too; and each file is checked again with all its
// suppressible errors silenced by adgate:ignore comments, which must not
// let through a spec that Compile refuses.
func TestValidateAndRenderAgree(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pat := range agreeSpecs {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if spec.IsSpecFile(f) {
				files = append(files, f)
			}
		}
	}
	if len(files) < 150 {
		t.Fatalf("found %d spec files; the globs are stale", len(files))
	}
	refused, suppressed := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimPrefix(f, "../"), func(t *testing.T) {
			p, ds := l.Check(f, data)
			if verdict := agree(t, l, f, data, p, ds); verdict != "" {
				t.Error(verdict)
			}
			if served := serves(t, l.Catalog(), f, data); served != !ds.HasErrors() {
				t.Errorf("validate errors: %v, but serve loads the spec: %v\n%v", ds.HasErrors(), served, ds)
			}
			if ds.HasErrors() {
				refused++
			}
			variant, n := suppressAll(l, f, data, ds)
			if n == 0 {
				return
			}
			suppressed++
			vp, vds := l.Check(f, variant)
			if verdict := agree(t, l, f, variant, vp, vds); verdict != "" {
				t.Errorf("with its errors suppressed:\n%s\n%s", variant, verdict)
			}
		})
	}
	// the suite must exercise both sides and the suppressions
	if refused < 30 || suppressed < 10 {
		t.Errorf("%d of %d specs refused, %d suppressed: the suite no longer covers both sides", refused, len(files), suppressed)
	}
}

// agree checks one spec's validate findings against what Compile does
// with it, and returns the disagreement, if any.
func agree(t *testing.T, l *spec.Loader, file string, data []byte, p *spec.Partner, ds diag.List) string {
	t.Helper()
	if !ds.HasErrors() {
		if p == nil {
			return "validate reports no error but returns no partner"
		}
		if _, err := render.Compile(p, l.Catalog()); err != nil {
			return fmt.Sprintf("validate passes (%v) but render refuses: %v", ds, err)
		}
		return ""
	}
	if p != nil {
		return "validate reports errors but returns the partner"
	}
	var raw spec.Partner
	if yaml.Unmarshal(data, &raw) != nil {
		return "" // not a spec to compile at all
	}
	if _, err := render.Compile(&raw, l.Catalog()); err != nil {
		return ""
	}
	// Compile would run the file, but validate refuses it; that is right
	// only when validate has a reason render does not check.
	for _, d := range ds {
		if d.Severity == diag.Error && !lintOnly[d.Rule] {
			return fmt.Sprintf("validate refuses with %s (%s) but Compile accepts the file", d.Rule, d.Message)
		}
	}
	return ""
}

// serves reports whether the gateway's runtime loads the spec file, as
// `adgate serve` would with an app enabling its partner.
func serves(t *testing.T, cat *catalog.Catalog, file string, data []byte) bool {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "partners"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "partners", filepath.Base(file)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "partners_dir: partners\ndata_dir: data\napps:\n  - id: a\n    ingest: {bearer_tokens: [agree-token-0123456789]}\n    partners:\n      - id: " + spec.SpecID(file) + "\n"
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, _, err := loadRuntime(context.Background(), path, config.Options{}, cat)
	return err == nil && rt != nil
}

// lintOnly are the error rules that Compile has no reason to check: the
// file's form (YAML syntax, a second document, alias expansion, schema
// types; decoding without the loader ignores these) and a spec's quality.
// A spec breaking them would still render; validate, which `adgate
// render` and `adgate serve` run first, refuses it.
var lintOnly = map[string]bool{
	spec.RuleYAMLSyntax: true,
	spec.RuleSchema:     true, spec.RuleUndefinedMacro: true, spec.RuleDuplicateQueryKey: true,
	spec.RuleMissingLinkMacro: true, spec.RuleMissingLabel: true, spec.RuleURLNotAbsolute: true,
	spec.RuleURLTrailingText: true, spec.RuleURLUnescaped: true, spec.RuleFileNameMismatch: true,
	spec.RuleUnknownSuppress: true, spec.RuleDuplicateKey: true, spec.RuleAliasBudget: true,
	// The delivery block is read by the gateway's policy, not by
	// rendering; the loader refuses what the policy could not use.
	spec.RuleDeliveryPattern: true, spec.RuleDeliveryStatus: true,
}

// suppressAll adds an adgate:ignore comment above every suppressible
// error finding (several rounds, as a suppression can uncover no new
// finding but a finding may move), and returns the text and how many
// comments it added.
func suppressAll(l *spec.Loader, file string, data []byte, ds diag.List) ([]byte, int) {
	suppressible := map[string]bool{}
	for _, r := range spec.Rules() {
		suppressible[r.ID] = r.Suppressible
	}
	added := 0
	for round := 0; round < 3; round++ {
		lines := strings.Split(string(data), "\n")
		var at []int
		for _, d := range ds {
			if d.Severity == diag.Error && suppressible[d.Rule] && d.Line() >= 1 && d.Line() <= len(lines) {
				at = append(at, d.Line())
			}
		}
		if len(at) == 0 {
			break
		}
		// bottom up, so the lines above keep their numbers
		slices.Sort(at)
		at = slices.Compact(at)
		rules := map[int][]string{}
		for _, d := range ds {
			if d.Severity == diag.Error && suppressible[d.Rule] && !slices.Contains(rules[d.Line()], d.Rule) {
				rules[d.Line()] = append(rules[d.Line()], d.Rule)
			}
		}
		for i := len(at) - 1; i >= 0; i-- {
			n := at[i]
			line := lines[n-1]
			indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
			var cs []string
			for _, r := range rules[n] {
				cs = append(cs, indent+"# "+spec.SuppressPrefix+" "+r+" agreement test")
				added++
			}
			lines = slices.Insert(lines, n-1, cs...)
		}
		data = []byte(strings.Join(lines, "\n"))
		_, ds = l.Check(file, data)
	}
	return data, added
}
