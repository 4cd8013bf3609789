package template

import (
	"errors"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// errFull tells ParseJSONSelected to hand the document to ParseJSON: the
// input is invalid (ParseJSON words the error, with its position) or has a
// construct the scanner leaves to it (escaped keys, numbers with
// exponents, whose range ParseJSON checks).
var errFull = errors.New("use ParseJSON")

// A JSONSelection names the parts of a JSON object that ParseJSONSelected
// builds: a path of one key keeps that member of the root object whole, a
// longer one keeps only the value at its end (and the objects on the way
// to it). Build it once with NewJSONSelection; it is immutable and safe to
// share.
type JSONSelection struct {
	root *selNode
	// members and hashes bound what a document without duplicate keys
	// keeps: the selection's keys and objects (see hashSlab)
	members, hashes int
}

// selNode lists the wanted keys of one object; a nil kid keeps the value
// whole.
type selNode struct {
	keys []string
	kids []*selNode
}

// NewJSONSelection builds a selection of paths, each a list of object
// keys from the root. A key may be given whole and also as the start of a
// longer path: the whole value is kept. No paths select nothing.
func NewJSONSelection(paths ...[]string) *JSONSelection {
	root := &selNode{}
	for _, p := range paths {
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
	sel := &JSONSelection{root: root}
	var count func(n *selNode)
	count = func(n *selNode) {
		sel.hashes++
		sel.members += len(n.keys)
		for _, k := range n.kids {
			if k != nil {
				count(k)
			}
		}
	}
	count(root)
	return sel
}

// ParseJSONSelected decodes a JSON object as ParseJSON does but builds
// only the values sel names: everything else is checked for validity and
// skipped without allocating. What it keeps is exactly what ParseJSON
// gives at those paths (same values, key order and duplicate-key rule;
// anything unusual, such as escaped strings, fractions or whole subtrees,
// is decoded by ParseJSON's own decoder), and an input ParseJSON refuses
// is refused with ParseJSON's error. A nil sel, or a document that is not
// an object, is decoded whole, by ParseJSON.
//
// The result serves a reader known to read nothing but sel's paths, such
// as a template whose Refs are selected. It does not refer to b.
func ParseJSONSelected(b []byte, sel *JSONSelection) (Value, error) {
	if sel == nil || len(b) > MaxJSONBytes {
		return ParseJSON(b)
	}
	// The scanner reads b in place: the document is not copied. A kept
	// string is copied into the scanner's arena (see keep); nothing else
	// it keeps refers to b, and b is not used once ParseJSONSelected
	// returns.
	s := selScanner{b: unsafe.String(unsafe.SliceData(b), len(b))}
	s.slab.reserve(sel.members, sel.hashes)
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return ParseJSON(b)
	}
	v, err := s.object(sel.root, 1)
	if err != nil {
		return ParseJSON(b)
	}
	s.ws()
	if s.i != len(s.b) {
		return ParseJSON(b)
	}
	return v, nil
}

// hashSlab builds a document's small hashes with a few allocations: the
// scanner takes their parts from one slab instead of three allocations a
// hash. The zero hashSlab is ready to use; reserve sizes it.
type hashSlab struct {
	vals []Value
	keys []string
	cs   []compound
}

// reserve makes room for members members in total, across hashes hashes.
func (s *hashSlab) reserve(members, hashes int) {
	s.vals = make([]Value, 0, members)
	s.keys = make([]string, 0, members)
	s.cs = make([]compound, 0, hashes)
}

// region returns empty slices with room for n members, taken from the
// slab, for the scanner to append an object's members to as it reads
// them and then give to own. Appending more than n reallocates, as append
// does, so regions never overlap.
func (s *hashSlab) region(n int) ([]string, []Value) {
	if cap(s.vals)-len(s.vals) < n {
		s.vals = make([]Value, 0, max(n, 16))
		s.keys = make([]string, 0, max(n, 16))
	}
	off := len(s.vals)
	s.vals = s.vals[:off+n]
	s.keys = s.keys[:off+n]
	return s.keys[off : off : off+n], s.vals[off : off : off+n]
}

// own returns NewHash(keys, vals) with the hash itself taken from the
// slab.
func (s *hashSlab) own(keys []string, vals []Value) Value {
	if len(s.cs) == cap(s.cs) {
		s.cs = make([]compound, 0, 4)
	}
	s.cs = s.cs[:len(s.cs)+1]
	return Value{kind: KindHash, c: fillHash(&s.cs[len(s.cs)-1], keys, vals)}
}

// object scans the object at s.i and returns a hash of only the members n
// wants.
func (s *selScanner) object(n *selNode, depth int) (Value, error) {
	s.i++
	s.ws()
	if s.eat('}') {
		return s.slab.own(nil, nil), nil
	}
	// members go straight to slab memory: n.keys bounds them but for a
	// repeated key, which append then moves elsewhere
	keys, vals := s.slab.region(len(n.keys))
	for {
		s.ws()
		ks, ke, err := s.key()
		if err != nil {
			return Value{}, err
		}
		s.ws()
		if !s.eat(':') {
			return Value{}, errFull
		}
		s.ws()
		j := -1
		key := s.b[ks:ke]
		for i, k := range n.keys {
			if key == k {
				j = i
				break
			}
		}
		if j < 0 {
			if err := s.value(depth); err != nil {
				return Value{}, err
			}
		} else {
			var v Value
			switch c := s.peek(); {
			case c == '{' && n.kids[j] != nil:
				if depth >= MaxJSONDepth {
					return Value{}, errFull
				}
				if v, err = s.object(n.kids[j], depth+1); err != nil {
					return Value{}, err
				}
			case c == '"':
				if v, err = s.keptString(); err != nil {
					return Value{}, err
				}
			default:
				vs := s.i
				if err := s.value(depth); err != nil {
					return Value{}, err
				}
				if v, err = leaf(s.b[vs:s.i]); err != nil {
					return Value{}, err
				}
			}
			keys = append(keys, n.keys[j])
			vals = append(vals, v)
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			// own keeps a duplicate key's first position and last
			// value, as ParseJSON does
			return s.slab.own(keys, vals), nil
		}
		return Value{}, errFull
	}
}

// keptString decodes the string at s.i. One without escapes and of valid
// UTF-8 (printable ASCII, the commonest by far, is recognised in the same
// pass that finds its end) is copied as it is; any other goes through
// ParseJSON, so it is decoded the same.
func (s *selScanner) keptString() (Value, error) {
	b, start := s.b, s.i+1
	i := stringRun(b, start, true)
	if i < len(b) && b[i] == '"' {
		s.i = i + 1
		return String(s.keep(b[start:i])), nil
	}
	if err := s.str(); err != nil {
		return Value{}, err
	}
	raw := b[start-1 : s.i]
	if body := raw[1 : len(raw)-1]; strings.IndexByte(body, '\\') < 0 && utf8.ValidString(body) {
		return String(s.keep(body)), nil
	}
	return ParseJSON([]byte(raw)) // escapes or invalid UTF-8
}

// keep copies a string of the document into the arena: the document is
// the caller's, and kept values must not change if the caller reuses it.
// Arena memory is only ever appended to, so the strings stay as they are.
func (s *selScanner) keep(str string) string {
	if str == "" {
		return ""
	}
	if cap(s.arena)-len(s.arena) < len(str) {
		s.arena = make([]byte, 0, max(len(str), arenaChunk))
	}
	off := len(s.arena)
	s.arena = append(s.arena, str...)
	return unsafe.String(&s.arena[off], len(str))
}

// arenaChunk is the arena's allocation size: the strings a partner keeps
// from an event (ids, os, ip, a few link fields) fit in one.
const arenaChunk = 256

// jsonPlainASCII marks the printable ASCII bytes a JSON string holds as they
// are (valid UTF-8 by themselves).
var jsonPlainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// leaf decodes one already validated JSON value other than a string
// (keptString decodes those). The common shapes (an integer, a literal)
// are built directly; anything else goes through ParseJSON, so it
// is decoded the same, into memory of its own.
func leaf(raw string) (Value, error) {
	switch c := raw[0]; {
	case c == 't':
		return Bool(true), nil
	case c == 'f':
		return Bool(false), nil
	case c == 'n':
		return Missing(), nil
	case c == '-' || (c >= '0' && c <= '9'):
		if !strings.ContainsAny(raw, ".eE") {
			if len(raw) < 19 {
				n, err := strconv.ParseInt(raw, 10, 64)
				if err == nil {
					return Int(n), nil
				}
			}
			return Number(raw)
		}
	}
	return ParseJSON([]byte(raw))
}

// selScanner validates JSON exactly as ParseJSON's grammar does
// (same depth limit, same number and string rules) without building
// anything. Anything it is unsure of returns errFull.
type selScanner struct {
	b     string
	i     int
	slab  hashSlab
	arena []byte // kept strings, see keep
}

func (s *selScanner) ws() {
	b, i := s.b, s.i
	for i < len(b) && space[b[i]] {
		i++
	}
	s.i = i
}

// peek returns the byte at s.i, 0 at the end.
func (s *selScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// space marks JSON's four whitespace bytes (a pretty-printed event is a
// fifth whitespace, so this loop is hot).
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (s *selScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// key scans an object key and returns the bounds of its text. Keys with
// escapes are left to ParseJSON: Branch's field names have none.
func (s *selScanner) key() (int, int, error) {
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '"' {
		return 0, 0, errFull
	}
	i++
	start := i
	i = stringRun(b, i, false)
	if i < len(b) && b[i] == '"' {
		s.i = i + 1
		return start, i, nil
	}
	return 0, 0, errFull // an escape, a control character or the end
}

// jsonPlain marks the bytes a JSON string holds as they are: not a quote, a
// backslash or a control character. A table keeps the scanning loop to
// one load and one branch per byte.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *selScanner) value(depth int) error {
	if s.i >= len(s.b) {
		return errFull
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		if depth >= MaxJSONDepth {
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

func (s *selScanner) container(depth int) error {
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

func (s *selScanner) lit(w string) error {
	if len(s.b)-s.i < len(w) || s.b[s.i:s.i+len(w)] != w {
		return errFull
	}
	s.i += len(w)
	return nil
}

// str scans a string: no raw control characters, only JSON's escapes,
// \u with four hex digits (lone surrogates are accepted, as the decoder
// replaces them).
func (s *selScanner) str() error {
	b, i := s.b, s.i+1
	for i < len(b) {
		i = stringRun(b, i, false)
		if i >= len(b) {
			break
		}
		c := b[i]
		i++
		switch {
		case c == '"':
			s.i = i
			return nil
		case c < 0x20:
			return errFull
		case c == '\\':
			if i >= len(b) {
				return errFull
			}
			e := b[i]
			i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 4 {
					return errFull
				}
				for k := i; k < i+4; k++ {
					if !isHex(b[k]) {
						return errFull
					}
				}
				i += 4
			default:
				return errFull
			}
		}
	}
	return errFull
}

// stringRun returns the index of the first byte at or after i that a
// JSON string does not hold as it is: a quote, a backslash, a control
// character or, with ascii, any byte of 0x80 or more. It tests eight
// bytes at a time (the lowest byte a test flags is always a true match:
// a borrow only carries upwards), then finishes with the tables.
func stringRun(b string, i int, ascii bool) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := b[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q := x ^ (lsb * '"')
		e := x ^ (lsb * '\\')
		m := (q - lsb) &^ q
		m |= (e - lsb) &^ e
		m |= (x - lsb*0x20) &^ x
		if ascii {
			m |= x
		}
		if m &= msb; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	t := &jsonPlain
	if ascii {
		t = &jsonPlainASCII
	}
	for i < len(b) && t[b[i]] {
		i++
	}
	return i
}

// number scans JSON's number grammar; an exponent sends the document to the
// full decoder, which bounds it.
func (s *selScanner) number() error {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	ds := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == ds || (b[ds] == '0' && i-ds > 1) {
		return errFull
	}
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == fs {
			return errFull
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		return errFull
	}
	s.i = i
	return nil
}
