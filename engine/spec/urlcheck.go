package spec

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/internal/hostname"
	"github.com/adgate/adgate/engine/template"
)

// unit is one piece of a URL template's top-level output: a literal code
// point, or an opaque part (a {macro}, a ${...} or a whole directive block)
// whose text is only known at render time.
type unit struct {
	r     rune   // the literal, 0 for an opaque unit
	off   int    // code-point offset in the URL template
	macro string // the macro name when the unit is a {macro}
}

func (u unit) literal() bool { return u.r != 0 }

// urlShape flattens a URL template into its top-level units. Text inside
// directive blocks (<#if>...</#if>, <@x>...</@x>) may or may not be output,
// so a block counts as one opaque unit: the query-key rules then never
// compare keys of different branches. Tags that write nothing
// (<#assign x = 1>, <@break/>, comments) are no unit.
func urlShape(t *parsed) []unit {
	var out []unit
	for _, n := range t.tree.Nodes {
		switch n := n.(type) {
		case *template.TextNode:
			i := t.cp.at(n.Start.Offset)
			macros := t.textMacros(n)
			mi := 0
			for _, r := range n.Text {
				switch {
				case mi < len(macros) && i == macros[mi].Start:
					out = append(out, unit{off: i, macro: macros[mi].Name})
				case mi < len(macros) && i > macros[mi].Start:
					// inside the macro
				default:
					out = append(out, unit{r: r, off: i})
				}
				i++
				if mi < len(macros) && i == macros[mi].End {
					mi++
				}
			}
		case *template.InterpNode, *template.IfNode, *template.CaptureNode, *template.ListNode,
			*template.ItemsNode, *template.SepNode:
			out = append(out, unit{off: t.cp.at(n.Pos().Offset)})
		case *template.UserNode:
			if n.Body != nil {
				out = append(out, unit{off: t.cp.at(n.Pos().Offset)})
			}
		case *template.BadNode:
			// a ${...} or a block that did not parse (reported) is
			// opaque like one that did
			if n.Name == "" || n.Body != nil {
				out = append(out, unit{off: t.cp.at(n.Pos().Offset)})
			}
		}
	}
	return out
}

// strayTrailing are characters found glued to the end of URLs in partner
// docs: the remains of JSON quoting, spaces, and invisible characters.
func strayTrailing(r rune) bool {
	switch r {
	case '"', '\'', '}', ' ', '\t', '\n', '\r', '\u00a0', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2028', '\u2029', '\u2060', '\ufeff':
		return true
	}
	return false
}

// urlSafe reports whether r may stand unescaped in a URL (RFC 3986
// unreserved and reserved characters, and % of an escape).
func urlSafe(r rune) bool {
	if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return true
	}
	return strings.ContainsRune("-._~:/?#[]@!$&'()*+,;=%", r)
}

func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case unicode.IsPrint(r) && r < 0x80:
		return fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("%q (U+%04X)", r, r)
}

// HostProblem reports a character in the host of an absolute http(s) URL
// template that no host name can hold (https://branch.io&{x}), with its
// code-point offset; the importer uses it to keep such a URL out of a
// spec, as the lint would reject it.
func HostProblem(url string) (offset int, msg string, ok bool) {
	units := urlShape(parseTemplate(url))
	schemeLen := urlScheme(units)
	if schemeLen == 0 || len(units) <= schemeLen {
		return 0, "", false
	}
	bad, found := badHostChar(units[schemeLen:])
	if !found {
		return 0, "", false
	}
	return bad.off, hostMessage(bad), true
}

// urlScheme returns the length of a literal http:// or https:// (any
// case) at the start of units, 0 without one.
func urlScheme(units []unit) int {
	var prefix strings.Builder
	for _, u := range units {
		if !u.literal() || prefix.Len() >= 8 {
			break
		}
		prefix.WriteRune(u.r)
	}
	lp := strings.ToLower(prefix.String())
	switch {
	case strings.HasPrefix(lp, "https://"):
		return len("https://")
	case strings.HasPrefix(lp, "http://"):
		return len("http://")
	}
	return 0
}

func hostMessage(bad unit) string {
	return "the host has " + describeRune(bad.r) + ", which no host name has: the host ends at the first /, ? or #"
}

// badHostChar finds a literal in the authority's host (after any
// userinfo@, before the first / ? #) that a DNS name, an IP address or a
// port cannot hold: the sign of a placeholder such as https://branch.io&{x}.
// Opaque units (macros, ${...}) are the templated parts of a host, as in
// Criteo's regional widget.${...}.criteo.com.
func badHostChar(authority []unit) (unit, bool) {
	for _, u := range hostUnits(authority) {
		if !u.literal() {
			continue
		}
		if !hostRune(u.r) {
			return u, true
		}
	}
	return unit{}, false
}

// hostRune reports whether r may stand in the host part of a URL: a
// DNS label's byte (hostname.LabelByte), '.', a port's ':', an IPv6
// literal's brackets, or a non-ASCII letter (url-unescaped-char's to
// report).
func hostRune(r rune) bool {
	if r < 0x80 {
		return hostname.LabelByte(byte(r)) || strings.ContainsRune(".:[]", r)
	}
	return unicode.IsLetter(r)
}

// checkURL applies the URL rules to a postback URL template.
func (c *checker) checkURL(n *yaml.Node, t *parsed, defined map[string]int) {
	units := urlShape(t)

	// Scheme and host.
	schemeLen := urlScheme(units)
	if schemeLen == len("http://") {
		c.atOffset(n, 0, RuleURLInsecure, "URL uses http; postbacks carry device ids and credentials")
	}
	if schemeLen == 0 || len(units) <= schemeLen || (units[schemeLen].literal() && units[schemeLen].r == '/') {
		off := 0
		if len(units) > 0 {
			off = units[0].off
		}
		c.atOffset(n, off, RuleURLNotAbsolute, "URL must be absolute: http(s)://host/...")
	} else if bad, ok := badHostChar(units[schemeLen:]); ok {
		c.atOffset(n, bad.off, RuleURLNotAbsolute, hostMessage(bad))
	}

	// Stray text after the URL.
	stray := map[int]bool{}
	end := len(units)
	for end > 0 && units[end-1].literal() && strayTrailing(units[end-1].r) {
		end--
	}
	if end < len(units) {
		var s strings.Builder
		for _, u := range units[end:] {
			s.WriteString(describeRune(u.r) + " ")
			stray[u.off] = true
		}
		c.atSpan(n, units[end].off, utf8.RuneCountInString(t.text), RuleURLTrailingText, "stray text after the URL: "+strings.TrimSpace(s.String()))
	}

	// Characters that must be escaped, in all literal text that reaches
	// the URL as written (<@urlencode> bodies are encoded at render time).
	t.tree.Walk(func(nd template.Node) bool {
		if u, ok := nd.(*template.UserNode); ok && u.Name == "urlencode" {
			return false
		}
		text, ok := nd.(*template.TextNode)
		if !ok {
			return true
		}
		i := t.cp.at(text.Start.Offset)
		macros := t.textMacros(text)
		mi := 0
		for _, r := range text.Text {
			inMacro := mi < len(macros) && i >= macros[mi].Start
			if !inMacro && !urlSafe(r) && !stray[i] {
				c.atSpan(n, i, i+1, RuleURLUnescaped, fmt.Sprintf("%s must be percent-encoded in a URL", describeRune(r)))
				break
			}
			i++
			if mi < len(macros) && i == macros[mi].End {
				mi++
			}
		}
		return true
	})

	// Query keys.
	q := -1
	for i := schemeLen; i < end; i++ {
		if units[i].literal() && units[i].r == '?' {
			q = i
			break
		}
	}
	if q < 0 {
		return
	}
	type keyAt struct{ off int }
	keys := map[string]keyAt{}
	part := []unit{}
	flushPart := func() {
		defer func() { part = part[:0] }()
		eq := -1
		for i, u := range part {
			if u.literal() && u.r == '=' {
				eq = i
				break
			}
			if !u.literal() {
				return // a templated key: unknown until render time
			}
		}
		if eq <= 0 {
			return
		}
		var kb strings.Builder
		for _, u := range part[:eq] {
			kb.WriteRune(u.r)
		}
		key, koff := kb.String(), part[0].off
		if first, dup := keys[key]; dup {
			fp := c.offsetPos(n, first.off)
			c.atSpan(n, koff, part[eq].off, RuleDuplicateQueryKey, fmt.Sprintf("query key %q appears twice in this URL (first at line %d, column %d)", key, fp.Line, fp.Col))
		} else {
			keys[key] = keyAt{koff}
		}
		if val := part[eq+1:]; len(val) == 1 && val[0].macro != "" && val[0].macro != key {
			if _, ok := defined[key]; ok {
				c.atOffset(n, val[0].off, RuleMacroKeyMismatch, fmt.Sprintf("macro {%s} is under query key %q, and a parameter {%s} exists: did you mean %s={%s} or %s={%s}?", val[0].macro, key, key, key, key, val[0].macro, val[0].macro))
			}
		}
	}
	for _, u := range units[q+1 : end] {
		if u.literal() && u.r == '#' {
			break
		}
		if u.literal() && u.r == '&' {
			flushPart()
			continue
		}
		part = append(part, u)
	}
	flushPart()
}
