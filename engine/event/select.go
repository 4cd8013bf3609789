package event

import (
	"errors"

	"github.com/adgate/adgate/engine/template"
)

// errFull tells ParseFields to hand the document to the full decoder: the
// input is invalid (the full decoder words the error, with its position)
// or has a construct the scanner leaves to it (escaped top-level keys,
// numbers with exponents, whose range the full decoder checks).
var errFull = errors.New("use the full decoder")

// ParseFields decodes a Branch event but materialises only the top-level
// fields named in roots (plus name and id, which Event needs); every other
// field is checked for JSON validity and skipped without allocating. The
// fields it keeps are exactly what Parse gives them (it decodes them with
// the same decoder), in the same order, with the same duplicate-key rule;
// an input Parse refuses is refused with Parse's own error. A nil roots
// decodes everything, as Parse.
//
// The returned Event holds only those fields: it serves a reader that is
// known to read nothing else, such as a compiled partner whose templates
// reference no other root name (render.Partner.ParseEvent).
func ParseFields(b []byte, roots []string) (*Event, error) {
	if roots == nil || len(b) > template.MaxJSONBytes {
		return Parse(b)
	}
	v, err := selectFields(b, roots)
	if err != nil {
		return Parse(b)
	}
	return FromValue(v)
}

func selectFields(b []byte, roots []string) (template.Value, error) {
	s := scanner{b: b}
	s.ws()
	if !s.eat('{') {
		return template.Value{}, errFull
	}
	var keys []string
	var vals []template.Value
	s.ws()
	if !s.eat('}') {
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
			vs := s.i
			if err := s.value(1); err != nil {
				return template.Value{}, err
			}
			if name, ok := wanted(b[ks:ke], roots); ok {
				v, err := template.ParseJSON(b[vs:s.i])
				if err != nil {
					return template.Value{}, errFull
				}
				// a duplicate key keeps its first position and its last
				// value, as the full decoder does
				dup := false
				for i, k := range keys {
					if k == name {
						vals[i], dup = v, true
					}
				}
				if !dup {
					keys = append(keys, name)
					vals = append(vals, v)
				}
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				break
			}
			return template.Value{}, errFull
		}
	}
	s.ws()
	if s.i != len(b) {
		return template.Value{}, errFull
	}
	return template.NewHash(keys, vals), nil
}

// wanted returns the root name k spells, if it is one of roots. Comparing
// string(k) in the loop does not allocate.
func wanted(k []byte, roots []string) (string, bool) {
	for _, r := range roots {
		if string(k) == r {
			return r, true
		}
	}
	if string(k) == "name" {
		return "name", true
	}
	if string(k) == "id" {
		return "id", true
	}
	return "", false
}

// scanner validates JSON exactly as template.ParseJSON's grammar does
// (same depth limit, same number and string rules) without building
// anything. Anything it is unsure of returns errFull.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// key scans an object key and returns its bounds. Keys with escapes are
// left to the full decoder: they are never among Branch's field names.
func (s *scanner) key() (int, int, error) {
	if !s.eat('"') {
		return 0, 0, errFull
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return start, s.i - 1, nil
		case c == '\\' || c < 0x20:
			return 0, 0, errFull
		}
		s.i++
	}
	return 0, 0, errFull
}

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
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
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
				for _, h := range s.b[s.i : s.i+4] {
					if !isHex(h) {
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
