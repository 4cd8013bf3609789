// Package yamlx is the one YAML reader behind every file kind adgate
// loads: partner specs, gateway configs, account files and fixtures. It
// parses exactly one document (recovering from parser panics), refuses
// alias expansion over a budget before anything expands it, reports keys
// written twice, places syntax errors at a line and column with a hint,
// converts nodes to the JSON text a JSON Schema check sees (merge keys
// applied, numbers exact), and maps schema errors back to nodes. Each file
// kind keeps only its own rule ids and messages.
package yamlx

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
)

// RuleAliasBudget is the rule id of a document whose aliases expand past
// the budget. It is shared by every file kind: the fix is the same.
const RuleAliasBudget = "yaml-alias-budget"

// Rules names the rule ids a file kind reports YAML problems under.
type Rules struct {
	// Syntax is for text that is not YAML, a second document, or a
	// parser failure.
	Syntax string
	// Duplicate is for a mapping key written twice; "" leaves duplicates
	// to the caller.
	Duplicate string
}

// Options adjusts Parse.
type Options struct {
	Rules Rules
	// Budget bounds alias expansion; the zero value means DefaultBudget.
	Budget Budget
}

// Doc is one parsed YAML document.
type Doc struct {
	File string
	// Root is the document's top-level node; nil for an empty document.
	Root *yaml.Node
	// Node is the document node above Root; comments before the content
	// may be attached to it.
	Node *yaml.Node
	// Lines is the source text by line, line breaks normalised as yaml.v3
	// counts them.
	Lines [][]rune
	// Budget is the budget Parse checked Root against; conversions of
	// Root stop at it too.
	Budget Budget
}

// Parse reads exactly one YAML document from data. A document with an
// error diagnostic comes back with a nil Root, except for duplicate keys,
// which leave the tree usable so the caller can report more.
func Parse(file string, data []byte, opt Options) (d *Doc, ds diag.List) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // some editors write a BOM
	// Findings here know line:col; their byte offsets come from the text.
	defer func() { ds.Locate(file, diag.NewSource(data)) }()
	d = &Doc{File: file, Lines: Lines(data), Budget: opt.Budget.orDefault()}
	doc, ds := d.parse(data, opt.Rules.Syntax)
	if ds.HasErrors() || doc == nil || len(doc.Content) == 0 {
		return d, ds
	}
	root := doc.Content[0]
	if bd, over := d.checkBudget(root); over {
		return d, append(ds, bd)
	}
	if opt.Rules.Duplicate != "" {
		ds = append(ds, duplicateKeys(file, root, opt.Rules.Duplicate)...)
	}
	d.Node, d.Root = doc, root
	return d, ds
}

func (d *Doc) parse(data []byte, rule string) (doc *yaml.Node, ds diag.List) {
	defer func() {
		// yaml.v3 has panicked on hostile input before; no file may take
		// the process (a running gateway on reload) down.
		if r := recover(); r != nil {
			doc = nil
			ds = diag.List{{File: d.File, Range: diag.Point(1, 1), Severity: diag.Error, Rule: rule,
				Message: fmt.Sprintf("the YAML parser failed: %v", r), Hint: "check the file is YAML text"}}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = &yaml.Node{}
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, diag.List{d.syntaxError(err, rule)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		ds = append(ds, diag.Diagnostic{File: d.File, Range: diag.Point(extra.Line, extra.Column), Severity: diag.Error, Rule: rule,
			Message: "a second YAML document; the file holds one", Hint: "remove the --- line and what follows, or move it to its own file"})
	case errors.Is(err, io.EOF):
	default:
		ds = append(ds, d.syntaxError(err, rule))
	}
	return doc, ds
}

// duplicateKeys reports mapping keys written twice: yaml.v3 keeps the last
// one silently when building a node tree. Aliased nodes are visited where
// they are written, not through each alias.
func duplicateKeys(file string, n *yaml.Node, rule string) diag.List {
	var ds diag.List
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			seen := map[string]*yaml.Node{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
					continue
				}
				if first, dup := seen[k.Value]; dup {
					ds = append(ds, diag.Diagnostic{File: file, Range: diag.Point(k.Line, k.Column), Severity: diag.Error, Rule: rule,
						Message: fmt.Sprintf("key %q is already set at line %d", k.Value, first.Line), Hint: "remove or rename one of the keys"})
				} else {
					seen[k.Value] = k
				}
			}
		}
		for _, ch := range n.Content {
			walk(ch)
		}
	}
	walk(n)
	return ds
}

// Deref follows aliases to the node they name.
func Deref(n *yaml.Node) *yaml.Node {
	// Parse refused alias cycles, but a caller may build nodes itself.
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 64; i++ {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is an explicit or empty null value.
func IsNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// At is a diagnostic about node n.
func At(file string, n *yaml.Node, rule, msg, hint string) diag.Diagnostic {
	d := diag.Diagnostic{File: file, Severity: diag.Error, Rule: rule, Message: msg, Hint: hint}
	if n != nil {
		d.Range = diag.Point(n.Line, n.Column)
	}
	return d
}
