package branchdoc

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/adgate/adgate/engine/spec"
)

// TestOutputLoads writes the import of every corpus doc and rule doc and
// loads it through spec.LoadFile, the loader every command uses: the
// output must validate against the schema and lint without errors.
func TestOutputLoads(t *testing.T) {
	files, _ := filepath.Glob("testdata/rules/*.md")
	if all, _ := filepath.Glob(filepath.Join(corpusDir, "*.md")); len(all) > 0 {
		files = append(files, all...)
	} else {
		t.Logf("partner-doc corpus not found at %s; loading the rule docs only", corpusDir)
	}
	dir := t.TempDir()
	ctx := context.Background()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := Import(file, data)
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
			t.Errorf("%s: import output does not load: %v\n%s", file, err, diagText(diags))
			continue
		}
		if p.ID != res.Partner.ID || len(p.Postbacks) != len(res.Partner.Postbacks) || len(p.Parameters) != len(res.Partner.Parameters) {
			t.Errorf("%s: loaded spec differs from the import: %+v", file, p)
		}
	}
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
