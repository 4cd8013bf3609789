package branchdoc

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
)

// TestOutputLoads writes the import of every corpus doc and rule doc and
// loads it through spec.LoadFile, the loader every command uses: the
// output must validate against the schema and lint without errors, but for
// the errors the import already reported at the doc line (an unknown
// Branch parameter is kept as the doc wrote it, not guessed).
func TestOutputLoads(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, file := range allDocs(t) {
		res, idiags, err := importFile(t, file)
		if err != nil {
			continue
		}
		y, err := res.YAML(filepath.Base(file))
		if err != nil {
			t.Fatal(err)
		}
		// Each spec in its own directory: rule docs reuse partner ids.
		sub := filepath.Join(dir, filepath.Base(file))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(sub, res.Partner.ID+".yaml")
		if err := os.WriteFile(path, y, 0o644); err != nil {
			t.Fatal(err)
		}
		p, diags, err := spec.LoadFile(ctx, path)
		if err != nil || p == nil {
			// Only what the import announced at the doc line may keep the
			// spec from loading.
			announced := true
			for _, d := range diags {
				if d.Severity != diag.Error || pendingTemplate(file, d.Rule) {
					continue
				}
				rule, ok := announcedBy[d.Rule]
				if !ok || countRule(idiags, rule) == 0 {
					announced = false
				}
			}
			if !announced || len(diags) == 0 {
				t.Errorf("%s: import output does not load: %v\n%s", file, err, diagText(diags))
			}
			continue
		}
		if p.ID != res.Partner.ID || len(p.Postbacks) != len(res.Partner.Postbacks) || len(p.Parameters) != len(res.Partner.Parameters) {
			t.Errorf("%s: loaded spec differs from the import: %+v", file, p)
		}
	}
}

// pendingTemplate reports a template finding of a family doc whose
// templates use <#list>, which the engine on this branch still refuses
// (template-blocked, and #break as template-syntax): issue 10 item 3 makes
// the lint report it as the warning branch-blocked instead.
func pendingTemplate(file, rule string) bool {
	return filepath.Base(file) == "a_list_directive.md" && (rule == spec.RuleTemplateBlocked || rule == spec.RuleTemplateSyntax)
}

// announcedBy maps a spec lint error to the import warning that names the
// same problem at the doc line.
var announcedBy = map[string]string{
	spec.RuleUnknownBranch:    RuleUnknownBranch,
	spec.RuleMissingLinkMacro: RuleNoLinkMacro,
	spec.RuleMissingLabel:     RuleNoLabel,
	spec.RuleUndefinedMacro:   RuleUndefinedMacro,
	// A doc's extra postbacks for one event are named postbacks; the lint
	// accepts an event in several named postbacks once the spec format
	// has them (issue 10 item 4), and until then rejects what the import
	// announced.
	spec.RuleDuplicateEvent: RuleExtraPostback,
}

// TestLintReportsOriginal pins a corpus defect the catalog fixes by hand
// that the importer leaves as the doc has it: the spec lint must report
// the import's output. (MediaMath maps {mt_uuid} to the link-only
// CLICK_AAID; partners/mediamath.yaml uses CUSTOM_LINK_MACRO.)
func TestLintReportsOriginal(t *testing.T) {
	corpusDocs(t)
	for _, tc := range []struct{ doc, rule string }{
		{"a_mediamath", "link-only-parameter"},
	} {
		res, _ := mustImport(t, filepath.Join(corpusDir, tc.doc+".md"))
		y, err := res.YAML(tc.doc + ".md")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), res.Partner.ID+".yaml")
		if err := os.WriteFile(path, y, 0o644); err != nil {
			t.Fatal(err)
		}
		_, diags, _ := spec.LoadFile(context.Background(), path)
		if countRule(diags, tc.rule) == 0 {
			t.Errorf("%s: lint does not report %s on the import:\n%s", tc.doc, tc.rule, diagText(diags))
		}
	}
}
