package spec

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/template"
)

// BodyFormat is what a postback's body is, as the renderer escapes it and
// the lint and the render-time body check read it.
type BodyFormat uint8

// The body formats.
const (
	// BodyText is any other body: macros are inserted as they are.
	BodyText BodyFormat = iota
	// BodyJSON is a JSON body: macros are JSON-escaped as string content.
	BodyJSON
	// BodyForm is an application/x-www-form-urlencoded body: macros are
	// percent-encoded.
	BodyForm
)

// BodyFormat decides the body's format: JSON when the content type
// (content_type, or else a Content-Type header) names JSON, or when none
// is declared and the body starts with { or [; form for
// application/x-www-form-urlencoded; text otherwise.
func (pb *Postback) BodyFormat() BodyFormat {
	ct := pb.ContentType
	for k, v := range pb.Headers {
		if strings.EqualFold(k, "Content-Type") && ct == "" {
			ct = v
		}
	}
	ct = strings.ToLower(ct)
	switch {
	case strings.Contains(ct, "json"):
		return BodyJSON
	case strings.Contains(ct, "x-www-form-urlencoded"):
		return BodyForm
	case ct == "":
		if t := strings.TrimSpace(pb.Body); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			return BodyJSON
		}
	}
	return BodyText
}

// BodyChecked reports whether the rendered body is checked before it is
// sent (body_check is not off).
func (pb *Postback) BodyChecked() bool { return !strings.EqualFold(pb.BodyCheck, BodyCheckOff) }

// FormProblem finds the first thing in an application/x-www-form-urlencoded
// body that form decoders reject (Go's url.ParseQuery among them): a
// malformed %-escape, or a ';', which some decoders take for a separator
// and others refuse. It returns its byte offset and what it is, or -1.
// The renderer checks rendered bodies with it, and the lint the literal
// text of form body templates.
func FormProblem(body string) (int, string) {
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case ';':
			return i, "';'"
		case '%':
			if i+2 >= len(body) || !isHex(body[i+1]) || !isHex(body[i+2]) {
				return i, "a malformed %-escape"
			}
		}
	}
	return -1, ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// formBody finds the problems (FormProblem) of a form body template's
// literal text, by code-point offset; macros are percent-encoded when
// rendered, so only the text around them is the author's.
func (p *parsed) formBody() []placeholder {
	var bad []placeholder
	p.tree.Walk(func(n template.Node) bool {
		t, ok := n.(*template.TextNode)
		if !ok {
			return true
		}
		last := 0
		runs := append(MacroIndexes(t.Text), []int{len(t.Text), len(t.Text)})
		for _, m := range runs {
			for at := last; at < m[0]; {
				off, what := FormProblem(t.Text[at:m[0]])
				if off < 0 {
					break
				}
				from := p.cp.at(t.Start.Offset + at + off)
				bad = append(bad, placeholder{from: from, to: from + 1, macro: what})
				at += off + 1
			}
			last = m[1]
		}
		return true
	})
	return bad
}

// jsonScan follows the JSON structure of a body template's literal text,
// enough to tell where a placeholder ({macro} or ${...}) stands: inside a
// string, where a whole value goes, or elsewhere.
type jsonScan struct {
	inStr, esc bool
	// prev is the last significant character outside strings; 0 at the
	// start, 'v' after a placeholder standing as a value.
	prev byte
	// pending is a placeholder standing where a value starts, which is a
	// whole value only if the next significant character ends one.
	pending *placeholder
}

// placeholder is a {macro} or ${...} of a JSON body, by code-point offsets.
type placeholder struct {
	from, to int
	macro    string // the macro's name; "" for ${...}
}

// jsonBody finds the placeholders of a JSON body template that do not
// stand inside a JSON string or as a whole JSON value. #if branches are
// each followed from the state before the #if; the text after it goes on
// from where the first branch left off, which is where every branch of a
// well-formed body leaves off.
func (p *parsed) jsonBody() []placeholder {
	var s jsonScan
	var bad []placeholder
	var walk func(nodes []template.Node)
	walk = func(nodes []template.Node) {
		for _, n := range nodes {
			switch n := n.(type) {
			case *template.TextNode:
				s.text(p, n, &bad)
			case *template.InterpNode:
				s.hole(placeholder{from: p.cp.at(n.Start.Offset), to: p.cp.at(n.Stop.Offset)}, &bad)
			case *template.IfNode:
				before := s
				var after jsonScan
				for i, b := range n.Branches {
					s = before
					walk(b.Body)
					if i == 0 {
						after = s
					}
				}
				s = after
			case *template.UserNode:
				walk(n.Body)
			}
		}
	}
	walk(p.tree.Nodes)
	return bad
}

// text scans literal text, with its {macro} references as placeholders.
func (s *jsonScan) text(p *parsed, n *template.TextNode, bad *[]placeholder) {
	text := n.Text
	macros := MacroIndexes(text)
	for i := 0; i < len(text); {
		if len(macros) > 0 && macros[0][0] == i {
			m := macros[0]
			macros = macros[1:]
			from := p.cp.at(n.Start.Offset + m[0])
			s.hole(placeholder{from: from, to: from + utf8.RuneCountInString(text[m[0]:m[1]]), macro: text[m[2]:m[3]]}, bad)
			i = m[1]
			continue
		}
		s.char(text[i], bad)
		i++
	}
}

func (s *jsonScan) char(c byte, bad *[]placeholder) {
	if s.inStr {
		switch {
		case s.esc:
			s.esc = false
		case c == '\\':
			s.esc = true
		case c == '"':
			s.inStr = false
		}
		return
	}
	switch c {
	case ' ', '\t', '\n', '\r':
		return
	}
	if s.pending != nil {
		if c != ',' && c != '}' && c != ']' {
			*bad = append(*bad, *s.pending)
		}
		s.pending = nil
	}
	s.inStr = c == '"'
	s.prev = c
}

// hole is a placeholder at the current point of the scan.
func (s *jsonScan) hole(h placeholder, bad *[]placeholder) {
	if s.inStr {
		return
	}
	if s.pending != nil {
		// two placeholders side by side: the first is not a whole value
		*bad = append(*bad, *s.pending)
		s.pending = nil
	}
	atValue := s.prev == 0 || s.prev == ':' || s.prev == '[' || s.prev == ','
	switch {
	case h.macro != "" || !atValue:
		// a macro's value is JSON-escaped as string content: outside
		// quotes it is JSON only when it happens to be a number
		*bad = append(*bad, h)
	default:
		hh := h
		s.pending = &hh
	}
	s.prev = 'v'
}

// checkFormBody reports the literal text of a form body that form
// decoders reject: the rendered body would have it too, and would not be
// sent.
func (c *checker) checkFormBody(n *yaml.Node, t *parsed) {
	for _, h := range t.formBody() {
		c.atSpan(n, h.from, h.to, RuleFormBody, "form body has "+h.macro+", which form decoders reject; the rendered body is not sent")
	}
}

// checkJSONBody reports the placeholders of a JSON body that do not stand
// inside a string or as a whole value: an empty value, or any text, makes
// the body invalid JSON, which the renderer then refuses to send.
func (c *checker) checkJSONBody(n *yaml.Node, t *parsed) {
	for _, h := range t.jsonBody() {
		msg := "${...} in a JSON body stands neither inside a JSON string nor as a whole JSON value; the body is not JSON when it renders"
		if h.macro != "" {
			msg = fmt.Sprintf("macro {%s} in a JSON body stands outside a JSON string; when its value is empty or not a number the body is not JSON", h.macro)
		}
		c.atSpan(n, h.from, h.to, RuleJSONBody, msg)
	}
}
