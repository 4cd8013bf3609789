package event

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/template"
)

// errFull tells ParseSelected to hand the document to the full decoder:
// the input is invalid (the full decoder words the error, with its
// position) or has a construct the scanner leaves to it (escaped keys,
// numbers with exponents, whose range the full decoder checks).
var errFull = errors.New("use the full decoder")

// Selection is the set of event paths a reader needs: a path of one
// segment keeps that root field whole, a longer one keeps only that leaf
// (and the objects on the way to it). Build it once; it is immutable.
type Selection struct {
	root *selNode
}

// selNode lists the wanted keys of one object; a nil kid keeps the value
// whole.
type selNode struct {
	keys []string
	kids []*selNode
}

// NewSelection builds a selection from paths (name and id are always kept:
// Event needs them). A nil or empty path list selects nothing but those.
func NewSelection(paths []Path) *Selection {
	root := &selNode{}
	for _, p := range append([]Path{{"name"}, {"id"}}, paths...) {
		n := root
		for i, k := range p {
			j := slices.Index(n.keys, k)
			if j < 0 {
				n.keys = append(n.keys, k)
				n.kids = append(n.kids, &selNode{})
				j = len(n.keys) - 1
			}
			if i == len(p)-1 {
				n.kids[j] = nil // the whole value
				break
			}
			if n.kids[j] == nil {
				break // already wanted whole
			}
			n = n.kids[j]
		}
	}
	return &Selection{root: root}
}

// ParseSelected decodes a Branch event but materialises only the paths in
// sel; everything else is checked for JSON validity and skipped without
// allocating. What it keeps is exactly what Parse gives at those paths
// (same values, key order and duplicate-key rule; anything unusual, such
// as escaped strings, fractions or whole subtrees, is decoded by Parse's
// own decoder), and an input Parse refuses is refused with Parse's error.
// A nil sel decodes everything, as Parse.
//
// The returned Event holds only those paths: it serves a reader known to
// read nothing else, such as a compiled partner (render.Partner.ParseEvent).
func ParseSelected(b []byte, sel *Selection) (*Event, error) {
	if sel == nil || len(b) > template.MaxJSONBytes {
		return Parse(b)
	}
	// one copy of the document; every kept string is a slice of it
	s := scanner{b: string(b)}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return Parse(b)
	}
	v, err := s.object(sel.root, 1)
	if err != nil {
		return Parse(b)
	}
	s.ws()
	if s.i != len(s.b) {
		return Parse(b)
	}
	return FromValue(v)
}

// object scans the object at s.i and returns a hash of only the members n
// wants.
func (s *scanner) object(n *selNode, depth int) (template.Value, error) {
	var kbuf [16]string
	var vbuf [16]template.Value
	keys, vals := kbuf[:0], vbuf[:0]
	s.i++
	s.ws()
	if s.eat('}') {
		return template.NewHash(nil, nil), nil
	}
	for {
		s.ws()
		ks, ke, err := s.key()
		if err != nil {
			return template.Value{}, err
		}
		s.ws()
		if !s.eat(':') {
			return template.Value{}, errFull
		}
		s.ws()
		j := -1
		for i, k := range n.keys {
			if s.b[ks:ke] == k {
				j = i
				break
			}
		}
		var v template.Value
		switch {
		case j >= 0 && n.kids[j] != nil && s.i < len(s.b) && s.b[s.i] == '{':
			if depth >= template.MaxJSONDepth {
				return template.Value{}, errFull
			}
			if v, err = s.object(n.kids[j], depth+1); err != nil {
				return template.Value{}, err
			}
		default:
			vs := s.i
			if err := s.value(depth); err != nil {
				return template.Value{}, err
			}
			if j >= 0 {
				if v, err = leaf(s.b[vs:s.i]); err != nil {
					return template.Value{}, err
				}
			}
		}
		if j >= 0 {
			keys = append(keys, n.keys[j])
			vals = append(vals, v)
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			// NewHash keeps a duplicate key's first position and last
			// value, as the full decoder does
			return template.NewHash(keys, vals), nil
		}
		return template.Value{}, errFull
	}
}

// leaf decodes one already validated JSON value. The common shapes (a
// string without escapes, an integer, a literal) are built directly;
// anything else goes through the full decoder, so it is decoded the same.
func leaf(raw string) (template.Value, error) {
	switch c := raw[0]; {
	case c == '"':
		body := raw[1 : len(raw)-1]
		if strings.IndexByte(body, '\\') < 0 && utf8.ValidString(body) {
			return template.String(body), nil
		}
	case c == 't':
		return template.Bool(true), nil
	case c == 'f':
		return template.Bool(false), nil
	case c == 'n':
		return template.Missing(), nil
	case c == '-' || (c >= '0' && c <= '9'):
		if !strings.ContainsAny(raw, ".eE") {
			if len(raw) < 19 {
				n, err := strconv.ParseInt(raw, 10, 64)
				if err == nil {
					return template.Int(n), nil
				}
			}
			return template.Number(raw)
		}
	}
	return template.ParseJSON([]byte(raw))
}

// scanner validates JSON exactly as template.ParseJSON's grammar does
// (same depth limit, same number and string rules) without building
// anything. Anything it is unsure of returns errFull.
type scanner struct {
	b string
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) && space[s.b[s.i]] {
		s.i++
	}
}

// space marks JSON's four whitespace bytes (a pretty-printed event is a
// fifth whitespace, so this loop is hot).
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// key scans an object key and returns the bounds of its text. Keys with
// escapes are left to the full decoder: Branch's field names have none.
func (s *scanner) key() (int, int, error) {
	if !s.eat('"') {
		return 0, 0, errFull
	}
	start := s.i
	for s.i < len(s.b) && plain[s.b[s.i]] {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '"' {
		s.i++
		return start, s.i - 1, nil
	}
	return 0, 0, errFull // an escape, a control character or the end
}

// plain marks the bytes a JSON string holds as they are: not a quote, a
// backslash or a control character. A table keeps the scanning loop to
// one load and one branch per byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return errFull
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		if depth >= template.MaxJSONDepth {
			return errFull
		}
		return s.container(depth + 1)
	case c == '"':
		return s.str()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return errFull
}

func (s *scanner) container(depth int) error {
	obj := s.b[s.i] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	s.i++
	s.ws()
	if s.eat(end) {
		return nil
	}
	for {
		s.ws()
		if obj {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return errFull
			}
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if !s.eat(':') {
				return errFull
			}
			s.ws()
		}
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat(end) {
			return nil
		}
		return errFull
	}
}

func (s *scanner) lit(w string) error {
	if len(s.b)-s.i < len(w) || s.b[s.i:s.i+len(w)] != w {
		return errFull
	}
	s.i += len(w)
	return nil
}

// str scans a string: no raw control characters, only JSON's escapes,
// \u with four hex digits (lone surrogates are accepted, as the decoder
// replaces them).
func (s *scanner) str() error {
	s.i++
	for s.i < len(s.b) {
		for s.i < len(s.b) && plain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return nil
		case c < 0x20:
			return errFull
		case c == '\\':
			if s.i >= len(s.b) {
				return errFull
			}
			e := s.b[s.i]
			s.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i < 4 {
					return errFull
				}
				for k := s.i; k < s.i+4; k++ {
					if !isHex(s.b[k]) {
						return errFull
					}
				}
				s.i += 4
			default:
				return errFull
			}
		}
	}
	return errFull
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number scans JSON's number grammar; an exponent sends the document to the
// full decoder, which bounds it.
func (s *scanner) number() error {
	s.eat('-')
	ds := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == ds || (s.b[ds] == '0' && s.i-ds > 1) {
		return errFull
	}
	if s.eat('.') {
		fs := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		if s.i == fs {
			return errFull
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return errFull
	}
	return nil
}
