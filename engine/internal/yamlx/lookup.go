package yamlx

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"
)

// Found is the result of Lookup.
type Found struct {
	// Key is the last mapping key on the path (nil for a sequence item);
	// Val is the node at the path. Both are nil when the path does not
	// exist.
	Key, Val *yaml.Node
	// Nearest is the deepest node the path reached.
	Nearest *yaml.Node
}

// Lookup follows a path of mapping keys and sequence indexes from n,
// through aliases. When a mapping holds a key twice, the last one counts,
// as it does when decoding.
func Lookup(n *yaml.Node, segs []string) Found {
	var f Found
	val := Deref(n)
	for val != nil && val.Kind == yaml.DocumentNode && len(val.Content) > 0 {
		val = Deref(val.Content[0])
	}
	f.Nearest = val
	for _, s := range segs {
		val = Deref(val)
		if val == nil {
			return Found{Nearest: f.Nearest}
		}
		f.Nearest = val
		switch val.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			f.Key = nil
			for i := 0; i+1 < len(val.Content); i += 2 {
				if val.Content[i].Value == s {
					f.Key, next = val.Content[i], val.Content[i+1]
				}
			}
			if next == nil {
				return Found{Nearest: f.Nearest}
			}
			val = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(val.Content) {
				return Found{Nearest: f.Nearest}
			}
			f.Key, val = nil, val.Content[i]
		default:
			return Found{Nearest: f.Nearest}
		}
	}
	f.Val = val
	f.Nearest = val
	return f
}

// SchemaResult validates the document rooted at root against schema. The
// document is converted with JSON within the budget, so the schema never
// sees more than Parse allowed; non-JSON numbers (.inf) are validated as
// the strings they are written as.
func SchemaResult(schema *gojsonschema.Schema, root *yaml.Node, b Budget) (*gojsonschema.Result, error) {
	text, err := JSON(root, b, JSONOptions{})
	if err != nil {
		return nil, err
	}
	res, err := schema.Validate(gojsonschema.NewBytesLoader(text))
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return res, nil
}

// SchemaPath returns a schema error's path as segments, exactly: a key
// may itself hold a dot.
func SchemaPath(e gojsonschema.ResultError) []string {
	return strings.Split(e.Context().String("\x00"), "\x00")[1:] // drop "(root)"
}

// SchemaNode returns the node a schema error is about: an unknown
// property's key, else the value at the error's path, else the nearest
// node on it.
func SchemaNode(root *yaml.Node, e gojsonschema.ResultError) *yaml.Node {
	segs := SchemaPath(e)
	if e.Type() == "additional_property_not_allowed" {
		prop := fmt.Sprint(e.Details()["property"])
		if f := Lookup(root, append(append([]string(nil), segs...), prop)); f.Key != nil {
			return f.Key
		}
	}
	f := Lookup(root, segs)
	switch {
	case f.Val != nil:
		return f.Val
	case f.Key != nil:
		return f.Key
	}
	return f.Nearest
}
