package spec

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"testing"

	"github.com/adgate/adgate/engine/template"
	"github.com/adgate/adgate/schemas"
)

// schemaMacroPattern is the macro name pattern of the partner schema.
func schemaMacroPattern(t testing.TB) *regexp.Regexp {
	t.Helper()
	raw, err := fs.ReadFile(schemas.FS, SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Pattern string `json:"pattern"`
			} `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	p := s.Defs["parameter"].Properties["macro"].Pattern
	if p == "" {
		t.Fatal("partner schema has no definitions.parameter.properties.macro.pattern")
	}
	return regexp.MustCompile(p)
}

// The schema's macro pattern and the scanner that the lint, the renderer
// and the importer use are one syntax.
func TestSchemaMacroPatternIsTheScanners(t *testing.T) {
	re := schemaMacroPattern(t)
	for _, name := range []string{
		"os", "~click_id", "android_id-idfa", "a+b", "$x", "v2.0", "DeviceIds[IFA]", "DeviceIds[AID]",
		"a[b][c]", "a[b]c", "a[b].c[d]", "", "[IFA]", "a[]", "a[b", "a]", "a[b[c]]", "a b", "a/b", "a}", "{a}", "é",
	} {
		if got, want := template.IsMacroName(name), re.MatchString(name); got != want {
			t.Errorf("IsMacroName(%q) = %v, schema pattern says %v", name, got, want)
		}
	}
}

func FuzzSchemaMacroPattern(f *testing.F) {
	for _, s := range []string{"DeviceIds[IFA]", "a[b]c[d]", "a[", "~x-y"} {
		f.Add(s)
	}
	re := schemaMacroPattern(f)
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := template.IsMacroName(name), re.MatchString(name); got != want {
			t.Fatalf("IsMacroName(%q) = %v, schema pattern says %v", name, got, want)
		}
	})
}
