package template

import (
	"math/big"
	"strconv"
)

// Kind is the type of a Value as templates see it.
type Kind uint8

// The kinds of values a data model holds. KindMissing stands for both an
// absent key and a JSON null: FreeMarker treats the two the same way.
const (
	KindMissing Kind = iota
	KindString
	KindNumber
	KindBool
	KindHash
	KindSeq
)

func (k Kind) String() string {
	switch k {
	case KindMissing:
		return "missing"
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindBool:
		return "boolean"
	case KindHash:
		return "hash"
	case KindSeq:
		return "sequence"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// numFlavor records which Java type FreeMarker would hold for a number. It
// changes nothing in arithmetic or in ${...} output, but <@jsonmap> prints a
// Java Double with Double.toString ("100.0"), a Long plainly and a BigDecimal
// with BigDecimal.toString, and the oracle's JSON reader makes integers Longs
// and every other JSON number a Double.
type numFlavor uint8

const (
	flavorLong   numFlavor = iota // JSON integer, Int()
	flavorDouble                  // JSON number with a fraction or exponent
	flavorBig                     // template literal, arithmetic result, Number()
)

// Value is an immutable template value: a string, an exact decimal number,
// a boolean, a hash with ordered keys, a sequence, or missing. The zero
// Value is missing. Values are safe to share between goroutines.
type Value struct {
	s     string    // string contents
	c     *compound // hash or sequence parts; a number's big unscaled value
	u     int64     // a number's unscaled value when it fits
	scale int32     // a number's scale: value = unscaled * 10^-scale
	kind  Kind
	fl    numFlavor
	b     bool
}

// compound holds the parts of a hash or sequence, or the unscaled value of
// a number too large for an int64 (kept out of Value so Values stay small).
type compound struct {
	keys []string
	vals []Value
	// idx speeds up lookups in large hashes; nil for small ones, which a
	// linear scan serves faster than a map.
	idx map[string]int32
	big *big.Int
}

// num returns the number held by a KindNumber value.
func (v Value) num() dec {
	if v.c != nil {
		return dec{b: v.c.big, scale: v.scale}
	}
	return dec{u: v.u, scale: v.scale}
}

func numValue(d dec, fl numFlavor) Value {
	v := Value{kind: KindNumber, u: d.u, scale: d.scale, fl: fl}
	if d.b != nil {
		v.c = &compound{big: d.b}
	}
	return v
}

// smallHash is the size up to which a hash is searched linearly.
const smallHash = 32

// String returns a string value.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Int returns an integral number.
func Int(i int64) Value { return numValue(dec{u: i}, flavorLong) }

// Missing returns the missing value (what an absent key or a JSON null is).
func Missing() Value { return Value{} }

// Number returns the number written in decimal text (an optional minus
// sign, digits, an optional fraction and an optional exponent). The value
// is exact: an 19-digit id prints back digit for digit.
func Number(decimalText string) (Value, error) {
	d, integral, ok := parseDec(decimalText)
	if !ok {
		return Value{}, &Error{Msg: "invalid number " + strconv.Quote(decimalText)}
	}
	fl := flavorBig
	if integral {
		fl = flavorLong
	}
	return numValue(d, fl), nil
}

// Seq returns a sequence of the items.
func Seq(items ...Value) Value {
	return Value{kind: KindSeq, c: &compound{vals: items}}
}

// NewHash returns a hash with keys in the given order; vals[i] belongs to
// keys[i]. A key given twice keeps its first position and its last value,
// as a Java LinkedHashMap does. Extra keys or values are ignored.
//
// The hash may keep keys and vals as they are rather than copy them: the
// caller must not modify them afterwards.
func NewHash(keys []string, vals []Value) Value {
	return Value{kind: KindHash, c: fillHash(new(compound), keys, vals)}
}

// fillHash makes c the hash of keys and vals. Few and distinct keys (no
// index to build, no duplicate to drop) are kept as they are; others are
// copied.
func fillHash(c *compound, keys []string, vals []Value) *compound {
	n := min(len(keys), len(vals))
	if n <= smallHash && distinct(keys[:n]) {
		c.keys, c.vals = keys[:n:n], vals[:n:n]
		return c
	}
	c.keys, c.vals = make([]string, 0, n), make([]Value, 0, n)
	for i := 0; i < n; i++ {
		if j := c.find(keys[i]); j >= 0 {
			c.vals[j] = vals[i]
			continue
		}
		c.add(keys[i], vals[i])
	}
	return c
}

func distinct(keys []string) bool {
	for i := 1; i < len(keys); i++ {
		for _, k := range keys[:i] {
			if k == keys[i] {
				return false
			}
		}
	}
	return true
}

func (c *compound) add(k string, v Value) {
	c.keys = append(c.keys, k)
	c.vals = append(c.vals, v)
	switch {
	case c.idx != nil:
		c.idx[k] = int32(len(c.keys) - 1)
	case len(c.keys) > smallHash:
		c.idx = make(map[string]int32, len(c.keys)*2)
		for i, k := range c.keys {
			c.idx[k] = int32(i)
		}
	}
}

func (c *compound) find(k string) int {
	if c.idx != nil {
		if i, ok := c.idx[k]; ok {
			return int(i)
		}
		return -1
	}
	// comparing the first byte before the rest saves a call to the
	// runtime's memequal for most keys of the same length (ip and os,
	// utm_source and utm_medium)
	for i, kk := range c.keys {
		if len(kk) == len(k) && (len(k) == 0 || kk[0] == k[0]) && kk == k {
			return i
		}
	}
	return -1
}

// Kind reports the value's kind.
func (v Value) Kind() Kind { return v.kind }

// IsMissing reports whether the value is missing (absent or null).
func (v Value) IsMissing() bool { return v.kind == KindMissing }

// Get returns the value of key in a hash, including the Branch key
// aliases (see aliasTarget), or missing.
func (v Value) Get(key string) Value {
	if v.kind != KindHash {
		return Value{}
	}
	if i := v.c.lookup(key); i >= 0 {
		return v.c.vals[i]
	}
	return Value{}
}

// lookup finds key in a hash, or the key it is an alias of (see
// aliasTarget); -1 when neither is there.
func (c *compound) lookup(key string) int {
	i := c.find(key)
	if i < 0 {
		if t, ok := aliasTarget(key); ok {
			i = c.find(t)
		}
	}
	return i
}

// lookupAt is lookup with a guess: where an earlier lookup of the same
// key found it, in this or another hash. Events of one kind have their
// keys in the same order, so the guess is mostly right, and checking it
// is one comparison where lookup scans the keys. A hash's keys are
// distinct, so a key found at the guess is the one lookup finds.
func (c *compound) lookupAt(key string, guess *int32) int {
	if g := int(*guess); g < len(c.keys) && c.keys[g] == key {
		return g
	}
	i := c.lookup(key)
	if i >= 0 {
		*guess = int32(i)
	}
	return i
}

// Lookup follows keys from v as a template's (a.b.c)! reads them and
// returns the value at the end, with depth len(keys). An absent key or a
// null gives missing, and so does the rest of the path. A step into a
// value that is neither a hash nor missing cannot be taken (a template
// stops there with an error): Lookup then returns that value and depth,
// the number of keys that led to it, less than len(keys). Keys are
// resolved as Get resolves them.
func (v Value) Lookup(keys ...string) (found Value, depth int) {
	x, d, _, _ := walk(&v, keys, false)
	if x == nil {
		return Value{}, d
	}
	return *x, d
}

// LookupText returns what a template's ${(a.b.c)!} prints for keys
// followed from v: the text of the value found, as AsString gives it, ""
// when a step is absent or null. ok is false where the template stops
// with an error: a step into a value that is neither a hash nor missing,
// or a final hash or sequence; Lookup tells which. LookupText copies no
// Value on the way, which makes it cheaper than Lookup and AsString.
func (v Value) LookupText(keys ...string) (text string, ok bool) {
	// small enough to be inlined, which spares a caller that holds a
	// *Value passing the whole Value
	_, _, text, ok = walk(&v, keys, true)
	return text, ok
}

// walk is Lookup without copying a Value: it returns the value found and
// its depth, or nil and len(keys) where an absent key or a null makes the
// rest of the path missing. With text it also returns what LookupText
// does (one walk serves both, and the text costs no second call).
func walk(v *Value, keys []string, text bool) (found *Value, depth int, s string, ok bool) {
	for i, key := range keys {
		switch v.kind {
		case KindHash:
		case KindMissing:
			return nil, len(keys), "", true
		default:
			return v, i, "", false
		}
		j := v.c.lookup(key)
		if j < 0 {
			return nil, len(keys), "", true
		}
		v = &v.c.vals[j]
	}
	switch {
	case !text:
		return v, len(keys), "", false
	case v.kind == KindString:
		return v, len(keys), v.s, true
	}
	s, ok = v.asText()
	return v, len(keys), s, ok
}

// Index returns item i of a sequence, or missing when out of range.
func (v Value) Index(i int) Value {
	if v.kind != KindSeq || i < 0 || i >= len(v.c.vals) {
		return Value{}
	}
	return v.c.vals[i]
}

// Len returns the number of items of a sequence or of own keys of a hash
// (aliases not counted); 0 for other kinds.
func (v Value) Len() int {
	if v.kind == KindSeq || v.kind == KindHash {
		return len(v.c.vals)
	}
	return 0
}

// Keys returns the hash's own keys in order (aliases not included). The
// caller must not modify the slice.
func (v Value) Keys() []string {
	if v.kind != KindHash {
		return nil
	}
	return v.c.keys
}

// AsBool returns the boolean and whether the value is one.
func (v Value) AsBool() (bool, bool) { return v.b, v.kind == KindBool }

// AsString returns the value as FreeMarker's ${...} would print it with
// number_format "computer" and boolean_format "c": strings as they are,
// numbers as plain decimals, booleans as true/false, missing as "".
// ok is false for hashes and sequences, which have no text form.
func (v Value) AsString() (s string, ok bool) {
	if v.kind == KindString {
		return v.s, true // the common case, small enough to be inlined
	}
	return v.asText()
}

// asText is AsString for the kinds other than string.
func (v Value) asText() (s string, ok bool) {
	switch v.kind {
	case KindNumber:
		return v.num().computer(), true
	case KindBool:
		if v.b {
			return "true", true
		}
		return "false", true
	case KindMissing:
		return "", true
	}
	return "", false
}

// NumberText returns a number's exact decimal text (no rounding), "" for
// other kinds.
func (v Value) NumberText() string {
	if v.kind != KindNumber {
		return ""
	}
	return v.num().plain()
}

// aliasTarget maps Branch's alias spellings to the key they stand for:
// dollar_x -> $x, tilde_x -> ~x, plus_x -> +x. The engine resolves them at
// lookup time (a real key of that name wins), so every hash, however built,
// has them and the data model stays as the event was sent.
func aliasTarget(k string) (string, bool) {
	switch {
	case len(k) > 7 && k[:7] == "dollar_":
		return "$" + k[7:], true
	case len(k) > 6 && k[:6] == "tilde_":
		return "~" + k[6:], true
	case len(k) > 5 && k[:5] == "plus_":
		return "+" + k[5:], true
	}
	return "", false
}

// aliasOf is the inverse of aliasTarget.
func aliasOf(k string) (string, bool) {
	if k == "" {
		return "", false
	}
	switch k[0] {
	case '$':
		return "dollar_" + k[1:], true
	case '~':
		return "tilde_" + k[1:], true
	case '+':
		return "plus_" + k[1:], true
	}
	return "", false
}

// hashEntries calls f for every key of the hash as a template sees it: own
// keys in order, then the alias of every $/~/+ key that is not itself a key.
func hashEntries(v Value, f func(k string, val Value) error) error {
	c := v.c
	for i, k := range c.keys {
		if err := f(k, c.vals[i]); err != nil {
			return err
		}
	}
	for i, k := range c.keys {
		if a, ok := aliasOf(k); ok && c.find(a) < 0 {
			if err := f(a, c.vals[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
