package render

import (
	"testing"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/template"
)

// TestTransformMatchesTemplate checks the integer fast path of a catalog
// transform against its defining template, on values it takes and values it
// must leave to the template (which then gives the same output or error).
func TestTransformMatchesTemplate(t *testing.T) {
	for _, path := range []string{"timestamp", "a.ts"} {
		p := catalog.Param{Name: "X", Path: path, Transform: catalog.MillisToSeconds}
		tpl, err := template.Parse("x", p.TransformTemplate(), template.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{
			`1700000000123`, `1700000000999`, `0`, `7`, `999`, `1000`, `1001`,
			`551302741529937217123`, `999999999999999`, `4398046511103999`, `9007199254740993999`, `-1500`, `-1000`, `-0`, `1.5`, `1999.9`, `1e3`, `1.7E12`,
			`"1700000000123"`, `null`, `true`, `{}`, `[1]`,
		} {
			for _, doc := range []string{
				`{"timestamp": ` + v + `, "a": {"ts": ` + v + `}}`,
				`{"a": ` + v + `}`,
				`{}`,
			} {
				root, err := template.ParseJSON([]byte(doc))
				if err != nil {
					t.Fatal(err)
				}
				want, wantErr := tpl.ExecuteString(root, nil)
				got, ok := transformFast(p.Transform, event.ParsePath(path), &root)
				if !ok {
					continue // the renderer runs tpl itself
				}
				if wantErr != nil || got != want {
					t.Errorf("%s on %s: fast %q, template %q (%v)", path, doc, got, want, wantErr)
				}
			}
		}
	}
}

// TestTransformFastTaken makes sure the fast path is actually used for the
// timestamps Branch sends, so the benchmark measures what it claims.
func TestTransformFastTaken(t *testing.T) {
	root, _ := template.ParseJSON([]byte(`{"timestamp": 1700000000123}`))
	if got, ok := transformFast(catalog.MillisToSeconds, event.Path{"timestamp"}, &root); !ok || got != "1700000000" {
		t.Errorf("got %q, %v", got, ok)
	}
}
