package template

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits of ParseJSON. Events are a few KiB with a depth under 5; the
// limits only stop hostile input from costing memory or stack.
const (
	MaxJSONBytes = 4 << 20
	MaxJSONDepth = 64
)

// ParseJSON decodes one JSON document (RFC 8259) into a Value: objects
// become hashes with their key order, arrays sequences, null missing.
// Numbers are kept exact; integers print back digit for digit however long
// they are. A duplicate key keeps its first position and its last value.
// Input larger than MaxJSONBytes or nested deeper than MaxJSONDepth is
// refused; invalid UTF-8 is replaced by U+FFFD as a Java reader does.
func ParseJSON(b []byte) (Value, error) {
	if len(b) > MaxJSONBytes {
		return Value{}, &Error{Name: "json", Msg: "JSON document larger than " + strconv.Itoa(MaxJSONBytes) + " bytes"}
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	p := jsonParser{s: s}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.ws()
	if p.i != len(p.s) {
		return Value{}, p.err("trailing characters after the JSON value")
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) err(msg string) error {
	line, col := 1, 1
	for _, r := range p.s[:min(p.i, len(p.s))] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &Error{Name: "json", Line: line, Col: col, Msg: msg}
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (Value, error) {
	if p.i >= len(p.s) {
		return Value{}, p.err("unexpected end of JSON")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		if depth >= MaxJSONDepth {
			return Value{}, p.err("JSON nested deeper than " + strconv.Itoa(MaxJSONDepth))
		}
		return p.object(depth + 1)
	case c == '[':
		if depth >= MaxJSONDepth {
			return Value{}, p.err("JSON nested deeper than " + strconv.Itoa(MaxJSONDepth))
		}
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		return Value{kind: KindString, s: s}, err
	case c == 't':
		return Bool(true), p.lit("true")
	case c == 'f':
		return Bool(false), p.lit("false")
	case c == 'n':
		return Value{}, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return Value{}, p.err("unexpected character " + strconv.QuoteRune(rune(c)))
	}
}

func (p *jsonParser) lit(w string) error {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return p.err("invalid literal, expected " + w)
	}
	p.i += len(w)
	return nil
}

func (p *jsonParser) object(depth int) (Value, error) {
	p.i++
	c := &compound{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return Value{kind: KindHash, c: c}, nil
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return Value{}, p.err("expected a string key")
		}
		k, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return Value{}, p.err("expected ':' after key")
		}
		p.i++
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		if j := c.find(k); j >= 0 {
			c.vals[j] = v
		} else {
			c.add(k, v)
		}
		p.ws()
		if p.i >= len(p.s) {
			return Value{}, p.err("unexpected end of JSON in object")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return Value{kind: KindHash, c: c}, nil
		default:
			return Value{}, p.err("expected ',' or '}' in object")
		}
	}
}

func (p *jsonParser) array(depth int) (Value, error) {
	p.i++
	c := &compound{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return Value{kind: KindSeq, c: c}, nil
	}
	for {
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		c.vals = append(c.vals, v)
		p.ws()
		if p.i >= len(p.s) {
			return Value{}, p.err("unexpected end of JSON in array")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return Value{kind: KindSeq, c: c}, nil
		default:
			return Value{}, p.err("expected ',' or ']' in array")
		}
	}
}

// str reads a string starting at the opening quote. Strings without
// escapes share the input's memory.
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			return s, nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", p.err("control character in string")
		}
		p.i++
	}
	return "", p.err("unterminated string")
}

func (p *jsonParser) strSlow(start int) (string, error) {
	var b strings.Builder
	b.WriteString(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", p.err("control character in string")
		case c != '\\':
			b.WriteByte(c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.s) {
			break
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.err("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if strings.HasPrefix(p.s[p.i:], "\\u") {
					save := p.i
					p.i += 2
					lo, ok := p.hex4()
					if ok {
						r2 = utf16.DecodeRune(r, lo)
					}
					if !ok || r2 == utf8.RuneError {
						p.i = save
					}
				}
				r = r2
			}
			b.WriteRune(r)
		default:
			return "", p.err("bad escape \\" + string(rune(e)))
		}
	}
	return "", p.err("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(v), true
}

func (p *jsonParser) number() (Value, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	ds := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == ds || (p.s[ds] == '0' && p.i-ds > 1) {
		return Value{}, p.err("invalid number")
	}
	integral := true
	if p.i < len(p.s) && p.s[p.i] == '.' {
		integral = false
		p.i++
		fs := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == fs {
			return Value{}, p.err("invalid number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		integral = false
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		es := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == es {
			return Value{}, p.err("invalid number")
		}
	}
	txt := p.s[start:p.i]
	if integral && len(txt) < 19 {
		// fast path: no allocation for ordinary integers
		n := int64(0)
		neg := txt[0] == '-'
		for _, c := range []byte(txt[ds-start:]) {
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		return Value{kind: KindNumber, n: dec{u: n}, fl: flavorLong}, nil
	}
	d, _, ok := parseDec(txt)
	if !ok {
		return Value{}, p.err("number out of range")
	}
	if !integral {
		return Value{kind: KindNumber, n: d.asDouble(), fl: flavorDouble}, nil
	}
	return Value{kind: KindNumber, n: d, fl: flavorLong}, nil
}
