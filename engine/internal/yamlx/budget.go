package yamlx

import (
	"fmt"
	"math"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
)

// Budget bounds the size of a document once its aliases are expanded, as
// a JSON Schema check, a decoder or a JSON writer would see it. Sizes
// count nodes (keys included) and bytes (scalar text plus a little per
// node, about the JSON size). A document is refused only when aliases
// push it past the budget: text without aliases is as large as the file
// that was already read, and the file size limit bounds that.
type Budget struct {
	Nodes int64
	Bytes int64
}

// DefaultBudget is far above what real files use (no partner spec or
// fixture uses an alias at all) and keeps any expansion within a few tens
// of MB of Go values.
var DefaultBudget = Budget{Nodes: 200_000, Bytes: 4 << 20}

func (b Budget) orDefault() Budget {
	if b.Nodes <= 0 || b.Bytes <= 0 {
		return DefaultBudget
	}
	return b
}

// size is a node's expanded size.
type size struct{ nodes, bytes int64 }

func (s size) add(t size) size { return size{sat(s.nodes, t.nodes), sat(s.bytes, t.bytes)} }

// sat adds without overflow: nested aliases reach 2^63 quickly.
func sat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// sizer computes expanded sizes with memoization, so a document whose
// aliases name exponentially many nodes is measured in time linear in
// its written nodes, before anything expands it.
type sizer struct {
	memo   map[*yaml.Node]size
	active map[*yaml.Node]bool
	cycle  *yaml.Node // an alias that names a node containing it
	// biggest is the alias whose target expands the most, to name in
	// the diagnostic.
	biggest     *yaml.Node
	biggestSize size
}

func (z *sizer) size(n *yaml.Node) size {
	if s, ok := z.memo[n]; ok {
		return s
	}
	if z.active[n] {
		if z.cycle == nil {
			z.cycle = n
		}
		return size{math.MaxInt64, math.MaxInt64}
	}
	z.active[n] = true
	defer delete(z.active, n)
	s := size{1, 2}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			break
		}
		t := z.size(n.Alias)
		if z.cycle == n.Alias {
			z.cycle = n
		}
		// The first of the largest, in document order.
		if z.biggest == nil || t.bytes > z.biggestSize.bytes {
			z.biggest, z.biggestSize = n, t
		}
		s = t
	case yaml.ScalarNode:
		s.bytes = scalarBytes(n)
	default:
		for _, ch := range n.Content {
			s = s.add(z.size(ch))
			s.bytes = sat(s.bytes, 1) // a separator
		}
	}
	z.memo[n] = s
	return s
}

// scalarBytes is at least the length of the JSON a scalar converts to,
// so that a document within the budget converts within it.
func scalarBytes(n *yaml.Node) int64 {
	b := int64(2) // quotes
	for _, r := range n.Value {
		switch {
		case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
			b += 2
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == utf8.RuneError || r == '\u2028' || r == '\u2029':
			b += 6 // \u00XX, as encoding/json writes them
		default:
			b += int64(utf8.RuneLen(r))
		}
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		// 0x7FFFFFFFFFFFFFFF and .5 are written in decimal; no int64 or
		// float64 takes more than 24 characters.
		b = max(b, 24)
	}
	return b
}

// writtenSize counts the nodes and bytes as written, as sizer does but
// with an alias as one node, and reports whether there are aliases.
func writtenSize(n *yaml.Node) (size, bool) {
	s := size{1, 2}
	if n.Kind == yaml.ScalarNode {
		s.bytes = scalarBytes(n)
	}
	aliases := n.Kind == yaml.AliasNode
	for _, ch := range n.Content {
		cs, ca := writtenSize(ch)
		s = s.add(cs)
		s.bytes = sat(s.bytes, 1)
		aliases = aliases || ca
	}
	return s, aliases
}

// checkBudget refuses a document whose aliases expand past the budget, or
// whose aliases name a node that contains them. Conversions of the
// document get a budget of at least its written size: text without
// aliases is as large as the file, which was read already and is bounded
// by its own size limit.
func (d *Doc) checkBudget(root *yaml.Node) (diag.Diagnostic, bool) {
	written, aliases := writtenSize(root)
	limit := d.Budget
	limit.Nodes = max(limit.Nodes, written.nodes)
	limit.Bytes = max(limit.Bytes, written.bytes)
	if !aliases {
		d.Budget = limit
		return diag.Diagnostic{}, false
	}
	z := &sizer{memo: map[*yaml.Node]size{}, active: map[*yaml.Node]bool{}}
	total := z.size(root)
	if z.cycle != nil {
		return diag.Diagnostic{File: d.File, Range: diag.Point(z.cycle.Line, z.cycle.Column), Severity: diag.Error, Rule: RuleAliasBudget,
			Message: fmt.Sprintf("alias *%s names a value that contains the alias itself, which expands without end", z.cycle.Value),
			Hint:    "write the value out instead of the alias"}, true
	}
	if total.nodes <= limit.Nodes && total.bytes <= limit.Bytes {
		d.Budget = limit // conversions of this document stop there too
		return diag.Diagnostic{}, false
	}
	a := z.biggest
	return diag.Diagnostic{File: d.File, Range: diag.Point(a.Line, a.Column), Severity: diag.Error, Rule: RuleAliasBudget,
		Message: fmt.Sprintf("aliases expand this document to %s and %s, over the limit of %s and %s; alias *%s alone stands for %s and %s",
			count(total.nodes), bytesText(total.bytes), count(limit.Nodes), bytesText(limit.Bytes), a.Value, count(z.biggestSize.nodes), bytesText(z.biggestSize.bytes)),
		Hint: "write the repeated values out, or use fewer aliases of large values; a real file never needs this much"}, true
}

func count(n int64) string {
	switch {
	case n == math.MaxInt64:
		return "more than 9e18 nodes"
	case n == 1:
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

func bytesText(n int64) string {
	switch {
	case n == math.MaxInt64:
		return "more than 9 EB"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
