package template

import (
	"strconv"
	"strings"
	"sync"
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
	sc := p.init()
	defer p.release(sc)
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

// ParseJSONSeq decodes a sequence of JSON documents, each optionally
// surrounded by whitespace (NDJSON, or values back to back as a
// json.Decoder reads them), calling fn with each value and the byte range
// [start, end) of its text in b; it stops at the first error, which fn can
// return too. Each value is what ParseJSON gives for b[start:end], under
// the same limits per document; maxNumber > 0 also refuses a number longer
// than maxNumber characters before it is converted, since converting a
// huge number is what costs. Input that is not valid UTF-8 is refused as a
// whole (ParseJSON repairs it, which would move the offsets). Values share
// one copy of b, so one document kept alive keeps the sequence's memory.
func ParseJSONSeq(b []byte, maxNumber int, fn func(v Value, start, end int) error) error {
	s := string(b)
	if !utf8.ValidString(s) {
		return &Error{Name: "json", Msg: "JSON sequence is not valid UTF-8"}
	}
	p := jsonParser{s: s, maxNumber: maxNumber}
	sc := p.init()
	defer p.release(sc)
	for {
		p.ws()
		if p.i == len(p.s) {
			return nil
		}
		start := p.i
		v, err := p.value(0)
		if err != nil {
			return err
		}
		if p.i-start > MaxJSONBytes {
			return &Error{Name: "json", Msg: "JSON document larger than " + strconv.Itoa(MaxJSONBytes) + " bytes"}
		}
		if err := fn(v, start, p.i); err != nil {
			return err
		}
	}
}

// init sizes the slabs from the input and takes a working stack from the
// pool, which release gives back.
func (p *jsonParser) init() *jsonScratch {
	s := p.s
	// one slab of values and one of keys for the whole document instead of
	// slices per container, sized from the input (events have a value per
	// 20-30 bytes; a short slab grows by chunks, never by copying)
	nvals, nkeys := len(s)/24+8, len(s)/32+8
	p.slab = make([]Value, 0, nvals)
	p.kslab = make([]string, 0, nkeys)
	sc, _ := scratchPool.Get().(*jsonScratch)
	if sc == nil {
		sc = &jsonScratch{stack: make([]Value, 0, 64), keys: make([]string, 0, 64)}
	}
	p.stack, p.keys = sc.stack[:0], sc.keys[:0]
	return sc
}

func (p *jsonParser) release(sc *jsonScratch) {
	// keep the grown buffers, but no references into this document
	sc.stack, sc.keys = p.stack[:0], p.keys[:0]
	clear(sc.stack[:cap(sc.stack)])
	clear(sc.keys[:cap(sc.keys)])
	scratchPool.Put(sc)
}

// jsonScratch is the parser's working stack. Allocating it per document
// cost as much as the parse itself, so it is recycled; it holds no data
// between documents.
type jsonScratch struct {
	stack []Value
	keys  []string
}

var scratchPool sync.Pool

type jsonParser struct {
	s string
	i int
	// stack holds the members of the containers being parsed; a container
	// moves its members to the slabs when it closes.
	stack []Value
	keys  []string
	slab  []Value
	kslab []string
	cslab []compound
	// maxNumber > 0 bounds the characters of a number (ParseJSONSeq).
	maxNumber int
}

// vals copies vs into slab memory, so that one allocation serves many
// containers.
func (p *jsonParser) vals(vs []Value) []Value {
	if len(vs) == 0 {
		return nil
	}
	if cap(p.slab)-len(p.slab) < len(vs) {
		p.slab = make([]Value, 0, max(len(vs), 64))
	}
	n := len(p.slab)
	p.slab = append(p.slab, vs...)
	return p.slab[n:len(p.slab):len(p.slab)]
}

func (p *jsonParser) strs(ks []string) []string {
	if len(ks) == 0 {
		return nil
	}
	if cap(p.kslab)-len(p.kslab) < len(ks) {
		p.kslab = make([]string, 0, max(len(ks), 64))
	}
	n := len(p.kslab)
	p.kslab = append(p.kslab, ks...)
	return p.kslab[n:len(p.kslab):len(p.kslab)]
}

func (p *jsonParser) compound() *compound {
	if len(p.cslab) == cap(p.cslab) {
		p.cslab = make([]compound, 0, 16)
	}
	p.cslab = p.cslab[:len(p.cslab)+1]
	return &p.cslab[len(p.cslab)-1]
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
	base, kbase := len(p.stack), len(p.keys)
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return Value{kind: KindHash, c: p.compound()}, nil
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
		p.keys = append(p.keys, k)
		p.stack = append(p.stack, v)
		p.ws()
		if p.i >= len(p.s) {
			return Value{}, p.err("unexpected end of JSON in object")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			c := p.compound()
			keys, vals := p.keys[kbase:], p.stack[base:]
			if hasDuplicate(keys) {
				for i, k := range keys {
					if j := c.find(k); j >= 0 {
						c.vals[j] = vals[i]
					} else {
						c.add(k, vals[i])
					}
				}
			} else {
				c.keys, c.vals = p.strs(keys), p.vals(vals)
				if len(keys) > smallHash {
					c.idx = make(map[string]int32, len(keys))
					for i, k := range c.keys {
						c.idx[k] = int32(i)
					}
				}
			}
			clear(p.stack[base:])
			p.keys, p.stack = p.keys[:kbase], p.stack[:base]
			return Value{kind: KindHash, c: c}, nil
		default:
			return Value{}, p.err("expected ',' or '}' in object")
		}
	}
}

// hasDuplicate reports whether a key repeats (rare: then the slow path
// keeps the first position and the last value).
func hasDuplicate(keys []string) bool {
	if len(keys) <= 64 {
		for i := 1; i < len(keys); i++ {
			ki := keys[i]
			for j := 0; j < i; j++ {
				// lengths differ for most pairs: compare them first
				if len(keys[j]) == len(ki) && keys[j] == ki {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, ok := seen[k]; ok {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

func (p *jsonParser) array(depth int) (Value, error) {
	p.i++
	base := len(p.stack)
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return Value{kind: KindSeq, c: p.compound()}, nil
	}
	for {
		p.ws()
		v, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		p.stack = append(p.stack, v)
		p.ws()
		if p.i >= len(p.s) {
			return Value{}, p.err("unexpected end of JSON in array")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			c := p.compound()
			c.vals = p.vals(p.stack[base:])
			clear(p.stack[base:])
			p.stack = p.stack[:base]
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
	j := strings.IndexByte(p.s[start:], '"')
	if j < 0 {
		return "", p.err("unterminated string")
	}
	seg := p.s[start : start+j]
	for k := 0; k < len(seg); k++ {
		if c := seg[k]; c < 0x20 || c == '\\' {
			if c == '\\' {
				return p.strSlow(start)
			}
			p.i = start + k
			return "", p.err("control character in string")
		}
	}
	p.i = start + j + 1
	return seg, nil
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
	if p.maxNumber > 0 && len(txt) > p.maxNumber {
		p.i = start
		return Value{}, p.err("number longer than " + strconv.Itoa(p.maxNumber) + " characters")
	}
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
		return numValue(dec{u: n}, flavorLong), nil
	}
	d, _, ok := parseDec(txt)
	if !ok {
		return Value{}, p.err("number out of range")
	}
	if !integral {
		return numValue(d.asDouble(), flavorDouble), nil
	}
	return numValue(d, flavorLong), nil
}
