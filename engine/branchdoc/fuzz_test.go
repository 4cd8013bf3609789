package branchdoc

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/spec"
)

// FuzzImport feeds arbitrary bytes to the importer: it must never panic or
// hang, its YAML must decode back to the same partner, and its export must
// import again to the same partner.
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/rules/*.md")
	family, _ := filepath.Glob("testdata/family/*.md")
	seeds = append(seeds, family...)
	for _, name := range []string{"a_criteo", "a_google_adwords", "a_facebook", "a_art_of_click"} {
		seeds = append(seeds, filepath.Join(corpusDir, name+".md"))
	}
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, _, err := Import("fuzz.md", data)
		if err != nil {
			return
		}
		y, err := res.YAML("fuzz.md")
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		var back spec.Partner
		if err := yaml.Unmarshal(y, &back); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, y)
		}
		if !reflect.DeepEqual(normalize(&back), normalize(res.Partner)) {
			t.Fatalf("YAML does not decode to the imported partner\n%s", y)
		}
		doc, _ := Export(res.Partner)
		again, _, err := Import("fuzz.md", doc)
		if err != nil {
			t.Fatalf("export does not import: %v\n%s", err, doc)
		}
		a, _ := MarshalPartner(res.Partner)
		b, _ := MarshalPartner(again.Partner)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip differs\n--- first ---\n%s\n--- second ---\n%s\n--- doc ---\n%s", a, b, doc)
		}
	})
}

// normalize makes nil and empty slices compare equal.
func normalize(p *spec.Partner) *spec.Partner {
	c := *p
	if len(c.Postbacks) == 0 {
		c.Postbacks = nil
	}
	if len(c.Parameters) == 0 {
		c.Parameters = nil
	}
	if len(c.LinkOnly) == 0 {
		c.LinkOnly = nil
	}
	if len(c.AllowedHosts) == 0 {
		c.AllowedHosts = nil
	}
	if len(c.Unmapped) == 0 {
		c.Unmapped = nil
	}
	return &c
}
