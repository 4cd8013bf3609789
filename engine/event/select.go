package event

import "github.com/adgate/adgate/engine/template"

// Selection is the set of event paths a reader needs, for ParseSelected:
// a path of one segment keeps that root field whole, a longer one keeps
// only that leaf (and the objects on the way to it). Build it once; it is
// immutable.
type Selection struct {
	json *template.JSONSelection
}

// NewSelection builds a selection from paths (name and id are always kept:
// Event needs them). A nil or empty path list selects nothing but those.
func NewSelection(paths []Path) *Selection {
	keys := make([][]string, 0, len(paths)+2)
	keys = append(keys, []string{"name"}, []string{"id"})
	for _, p := range paths {
		keys = append(keys, p)
	}
	return &Selection{json: template.NewJSONSelection(keys...)}
}

// ParseSelected decodes a Branch event but materialises only the paths in
// sel (see template.ParseJSONSelected): what it keeps is exactly what
// Parse gives at those paths, and an input Parse refuses is refused with
// Parse's error. A nil sel decodes everything, as Parse.
//
// The returned Event holds only those paths: it serves a reader known to
// read nothing else, such as a compiled partner (render.Partner.ParseEvent).
func ParseSelected(b []byte, sel *Selection) (*Event, error) {
	var js *template.JSONSelection
	if sel != nil {
		js = sel.json
	}
	return fromJSON(template.ParseJSONSelected(b, js))
}
