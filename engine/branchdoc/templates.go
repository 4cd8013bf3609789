package branchdoc

import (
	"cmp"
	"slices"
)

// Templates returns every template text of a doc — postback URLs, webhook
// templates, and parameter descriptions that hold FreeMarker — already
// de-mangled and repaired as Import writes them, each with its position in
// the doc, in doc order. It is Import without the spec, for tools such as
// the template engine's differential test.
func Templates(file string, data []byte) ([]Template, error) {
	r, _, err := Import(file, data)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(r.Templates)
	slices.SortStableFunc(out, func(a, b Template) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return out, nil
}
