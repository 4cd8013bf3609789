package template

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// builtinDef describes a ?name built-in.
type builtinDef struct {
	minArgs, maxArgs int
	// missingOK: the target may be missing (?has_content, ?exists, ...);
	// a parenthesised target then also swallows a missing parent.
	missingOK bool
	fn        builtinFn
}

// builtinFn computes a built-in's value from its evaluated target t.
type builtinFn func(e *exec, b *builtinExpr, t Value) (Value, error)

type builtinExpr struct {
	base
	x    expr
	name string
	def  *builtinDef
	args []expr
}

func (b *builtinExpr) eval(e *exec) (Value, error) {
	var t Value
	var err error
	if b.def.missingOK {
		t, err = evalMaybeMissing(e, b.x)
	} else {
		t, err = b.x.eval(e)
		if err == nil && t.kind == KindMissing {
			err = e.undef(b.x)
		}
	}
	if err != nil {
		return Value{}, err
	}
	v, err := b.def.fn(e, b, t)
	if err != nil {
		return Value{}, err
	}
	// a built-in scans its target and builds its result: charged here by
	// their size, once for all built-ins (strArg charges the arguments)
	if n := len(t.s) + len(v.s) + t.Len() + v.Len(); n >= 1<<bytesPerStep {
		if err := e.work(b.p, n>>bytesPerStep); err != nil {
			return Value{}, err
		}
	}
	return v, nil
}

// arg evaluates argument i, which must not be missing.
func (b *builtinExpr) arg(e *exec, i int) (Value, error) {
	v, err := b.args[i].eval(e)
	if err == nil && v.kind == KindMissing {
		err = e.undef(b.args[i])
	}
	return v, err
}

func (b *builtinExpr) strArg(e *exec, i int) (string, error) {
	v, err := b.arg(e, i)
	if err != nil {
		return "", err
	}
	s, err := e.toText(b.args[i], v, "?"+b.name+"(...) argument #"+itoa(i+1))
	if err == nil && len(s) >= 1<<bytesPerStep {
		err = e.work(b.args[i].pos(), len(s)>>bytesPerStep)
	}
	return s, err
}

func (b *builtinExpr) numArg(e *exec, i int) (dec, error) {
	v, err := b.arg(e, i)
	if err != nil {
		return dec{}, err
	}
	if v.kind != KindNumber {
		return dec{}, e.typeErr(b.args[i], "?"+b.name+"(...) argument #"+itoa(i+1), "a number", v)
	}
	return v.num(), nil
}

// operand names the target in errors, as FreeMarker does.
func (b *builtinExpr) operand() string { return "For \"?" + b.name + "\" left-hand operand" }

// operandErr is the error for a target that is not what the built-in
// takes; want says what it takes ("a number").
func (b *builtinExpr) operandErr(e *exec, want string, t Value) error {
	return e.typeErr(b.x, b.operand(), want, t)
}

// text is the target as a string; FreeMarker's string built-ins accept
// numbers and booleans and convert them first.
func (b *builtinExpr) text(e *exec, t Value) (string, error) {
	if t.kind == KindString {
		return t.s, nil
	}
	return e.toText(b.x, t, b.operand())
}

// textAndArg is the target as text and argument #1 as a string: the
// operands of the built-ins that look for one string in another.
func (b *builtinExpr) textAndArg(e *exec, t Value) (s, a string, err error) {
	if s, err = b.text(e, t); err != nil {
		return "", "", err
	}
	a, err = b.strArg(e, 0)
	return s, a, err
}

// isSeqLike reports whether t can stand as a sequence: it is one, or it
// is a value that is also an empty sequence.
func isSeqLike(t Value) bool { return t.kind == KindSeq || t.isMultiEmpty() }

// boolArg is the index of the argument a boolean target chooses: #1 for
// true, #2 for false (?then, ?string).
func boolArg(t Value) int {
	if t.b {
		return 0
	}
	return 1
}

func strFn(f func(s string) string) builtinFn {
	return func(e *exec, b *builtinExpr, t Value) (Value, error) {
		s, err := b.text(e, t)
		if err != nil {
			return Value{}, err
		}
		return String(f(s)), nil
	}
}

// strArgFn makes a built-in of f over the target's text and argument #1.
func strArgFn(f func(s, a string) Value) builtinFn {
	return func(e *exec, b *builtinExpr, t Value) (Value, error) {
		s, a, err := b.textAndArg(e, t)
		if err != nil {
			return Value{}, err
		}
		return f(s, a), nil
	}
}

func strPredFn(f func(s, a string) bool) builtinFn {
	return strArgFn(func(s, a string) Value { return Bool(f(s, a)) })
}

func numFn(f func(d dec) dec) builtinFn {
	return func(e *exec, b *builtinExpr, t Value) (Value, error) {
		if t.kind != KindNumber {
			return Value{}, b.operandErr(e, "a number", t)
		}
		return numValue(f(t.num()), flavorBig), nil
	}
}

var builtins map[string]*builtinDef

func init() {
	builtins = map[string]*builtinDef{
		"lower_case":  {fn: strFn(javaLower)},
		"upper_case":  {fn: strFn(javaUpper)},
		"cap_first":   {fn: strFn(capFirst)},
		"uncap_first": {fn: strFn(uncapFirst)},
		"trim":        {fn: strFn(javaTrim)},
		"length": {fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			s, err := b.text(e, t)
			if err != nil {
				return Value{}, err
			}
			return Int(int64(utf16Len(s))), nil
		}},
		"contains":    {minArgs: 1, maxArgs: 1, fn: strPredFn(strings.Contains)},
		"starts_with": {minArgs: 1, maxArgs: 1, fn: strPredFn(strings.HasPrefix)},
		"ends_with":   {minArgs: 1, maxArgs: 1, fn: strPredFn(strings.HasSuffix)},
		"keep_before": {minArgs: 1, maxArgs: 1, fn: strArgFn(func(s, a string) Value {
			before, _, _ := strings.Cut(s, a)
			return String(before)
		})},
		"keep_after": {minArgs: 1, maxArgs: 1, fn: strArgFn(func(s, a string) Value {
			_, after, _ := strings.Cut(s, a)
			return String(after)
		})},
		"replace":       {minArgs: 2, maxArgs: 2, fn: builtinReplace},
		"substring":     {minArgs: 1, maxArgs: 2, fn: builtinSubstring},
		"url":           {maxArgs: 1, fn: builtinURL},
		"url_path":      {maxArgs: 1, fn: builtinURL},
		"json_string":   {fn: strFn(jsonStringEscape)},
		"index_of":      {minArgs: 1, maxArgs: 2, fn: builtinIndexOf},
		"last_index_of": {minArgs: 1, maxArgs: 2, fn: builtinIndexOf},
		"left_pad":      {minArgs: 1, maxArgs: 2, fn: builtinPad},
		"right_pad":     {minArgs: 1, maxArgs: 2, fn: builtinPad},
		"split": {minArgs: 1, maxArgs: 1, fn: strArgFn(func(s, sep string) Value {
			var parts []string
			if sep == "" {
				// every UTF-16 unit alone, as Java; nothing for ""
				for _, u := range utf16.Encode([]rune(s)) {
					parts = append(parts, javaUTF16String([]uint16{u}))
				}
			} else {
				parts = strings.Split(s, sep)
			}
			out := make([]Value, len(parts))
			for i, p := range parts {
				out[i] = String(p)
			}
			return Seq(out...)
		})},
		"boolean": {fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			if t.kind == KindBool {
				return t, nil
			}
			s, err := b.text(e, t)
			if err != nil {
				return Value{}, err
			}
			switch s {
			case "true":
				return Bool(true), nil
			case "false":
				return Bool(false), nil
			}
			return Value{}, e.errf(b.p, "can't convert this string to boolean: "+quoteJava(s))
		}},
		"c":      {fn: builtinC},
		"string": {maxArgs: 2, fn: builtinString},
		"then":   {minArgs: 2, maxArgs: 2, fn: builtinThen},
		"has_content": {missingOK: true, fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			return Bool(hasContent(t)), nil
		}},
		"exists": {missingOK: true, fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			return Bool(t.kind != KindMissing), nil
		}},
		"if_exists": {missingOK: true, fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			if t.kind == KindMissing {
				return nothing, nil
			}
			return t, nil
		}},
		"default": {minArgs: 1, maxArgs: 1, missingOK: true, fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			if t.kind == KindMissing {
				// the default may itself be missing; the caller decides
				return b.args[0].eval(e)
			}
			return t, nil
		}},
		"number":  {fn: builtinNumber},
		"round":   {fn: numFn(func(d dec) dec { return viaDouble(d, roundHalfUp) })},
		"floor":   {fn: numFn(func(d dec) dec { return viaDouble(d, roundFloor) })},
		"ceiling": {fn: numFn(func(d dec) dec { return viaDouble(d, roundCeiling) })},
		"abs": {fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			if t.kind != KindNumber {
				return Value{}, b.operandErr(e, "a number", t)
			}
			if t.num().sign() < 0 {
				return numValue(t.num().neg(), t.fl), nil
			}
			return t, nil
		}},
		"int": {fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			if t.kind != KindNumber {
				return Value{}, b.operandErr(e, "a number", t)
			}
			return Int(int64(t.num().int32())), nil
		}},
		"size": {fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			switch {
			case t.kind == KindSeq:
				return Int(int64(t.Len())), nil
			case t.kind == KindHash:
				return Int(int64(hashSize(t))), nil
			case t.isMultiEmpty():
				return Int(0), nil
			}
			return Value{}, b.operandErr(e, "a sequence or hash", t)
		}},
		"keys":   {fn: hashListFn(true)},
		"values": {fn: hashListFn(false)},
		"first":  {fn: seqEndFn(true)},
		"last":   {fn: seqEndFn(false)},
		"seq_contains": {minArgs: 1, maxArgs: 1, fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			if !isSeqLike(t) {
				return Value{}, b.operandErr(e, "a sequence", t)
			}
			// a missing argument is not an error here: nothing equals it
			a, err := b.args[0].eval(e)
			if err != nil {
				return Value{}, err
			}
			for i := 0; i < t.Len(); i++ {
				if looseEqual(t.c.vals[i], a) {
					return Bool(true), nil
				}
			}
			return Bool(false), nil
		}},
		"join": {minArgs: 1, maxArgs: 1, fn: func(e *exec, b *builtinExpr, t Value) (Value, error) {
			if !isSeqLike(t) {
				return Value{}, b.operandErr(e, "a sequence", t)
			}
			sep, err := b.strArg(e, 0)
			if err != nil {
				return Value{}, err
			}
			var sb strings.Builder
			first := true
			for i := 0; i < t.Len(); i++ {
				it := t.c.vals[i]
				if it.kind == KindMissing {
					continue
				}
				s, err := e.toText(b.x, it, "?join item")
				if err != nil {
					return Value{}, err
				}
				if !first {
					sb.WriteString(sep)
				}
				first = false
				sb.WriteString(s)
				if err := e.charge(b.p, sb.Len()); err != nil {
					return Value{}, err
				}
			}
			return String(sb.String()), nil
		}},
	}
}

// viaDouble rounds to an integer the way FreeMarker's ?round, ?floor and
// ?ceiling do: through the number's double value (so integers beyond 2^53
// lose their last digits, exactly as there). ?round rounds half up,
// towards positive infinity.
func viaDouble(d dec, mode rounding) dec {
	var f float64
	switch {
	case d.scale == 0 && d.b == nil && d.u > -1<<53 && d.u < 1<<53:
		return d
	case d.scale == 0 && d.b == nil:
		f = float64(d.u) // correctly rounded, as Long.doubleValue
	case d.scale > 0 && d.scale < int32(len(pow10s)):
		// the nearest double, as parsing the decimal text would give
		var ok bool
		if f, ok = smallDouble(d); !ok {
			f, _ = new(big.Rat).SetFrac(d.big(), pow10(int(d.scale))).Float64()
		}
	default:
		f, _ = strconv.ParseFloat(d.plain(), 64)
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return d.setScale(0, mode)
	}
	var r float64
	switch mode {
	case roundFloor:
		r = math.Floor(f)
	case roundCeiling:
		r = math.Ceil(f)
	default:
		r = math.Floor(f)
		if f-r >= 0.5 {
			r++
		}
	}
	if math.Abs(r) < 1<<62 {
		return dec{u: int64(r)}
	}
	out, _, _ := parseDec(strconv.FormatFloat(r, 'f', 0, 64))
	return out
}

// exactPow10 are the powers of ten a double holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// smallDouble converts d to the nearest double without big arithmetic
// when its significant digits (trailing zeros dropped) fit 15 digits and
// its scale is at most 22: then both operands of one IEEE division are
// exact and the quotient is correctly rounded.
func smallDouble(d dec) (float64, bool) {
	digits, neg := d.unscaledText()
	scale := int(d.scale)
	for len(digits) > 1 && digits[len(digits)-1] == '0' && scale > 0 {
		digits = digits[:len(digits)-1]
		scale--
	}
	if len(digits) > 15 || scale > 22 {
		return 0, false
	}
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	f := float64(u) / exactPow10[scale]
	if neg {
		f = -f
	}
	return f, true
}

func hashSize(t Value) int {
	n := 0
	_ = hashEntries(t, func(string, Value) error { n++; return nil })
	return n
}

func hashListFn(keys bool) builtinFn {
	return func(e *exec, b *builtinExpr, t Value) (Value, error) {
		if t.isMultiEmpty() {
			return Seq(), nil
		}
		if t.kind != KindHash {
			return Value{}, b.operandErr(e, "a hash", t)
		}
		var out []Value
		_ = hashEntries(t, func(k string, v Value) error {
			if keys {
				out = append(out, String(k))
			} else {
				out = append(out, v)
			}
			return nil
		})
		return Seq(out...), nil
	}
}

func seqEndFn(first bool) builtinFn {
	return func(e *exec, b *builtinExpr, t Value) (Value, error) {
		if !isSeqLike(t) {
			return Value{}, b.operandErr(e, "a sequence", t)
		}
		if t.Len() == 0 {
			return Value{}, nil
		}
		if first {
			return t.c.vals[0], nil
		}
		return t.c.vals[t.Len()-1], nil
	}
}

// looseEqual is ?seq_contains's comparison: values of different types
// are simply unequal.
func looseEqual(a, b Value) bool {
	switch {
	case a.kind == KindNumber && b.kind == KindNumber:
		return a.num().cmp(b.num()) == 0
	case a.kind == KindString && b.kind == KindString:
		return collatorEqual(a.s, b.s)
	case a.kind == KindBool && b.kind == KindBool:
		return a.b == b.b
	}
	return false
}

func hasContent(t Value) bool {
	switch t.kind {
	case KindMissing:
		return false
	case KindString:
		return t.s != ""
	case KindSeq, KindHash:
		return t.Len() > 0
	}
	return true
}

// upperExpansions are the unconditional one-to-many upper-case mappings
// of Unicode's SpecialCasing.txt that Java applies and Go's per-rune
// mapping lacks (Latin, Armenian and the common ligatures).
var upperExpansions = map[rune]string{
	'ß': "SS", 'ŉ': "ʼN", 'ǰ': "J̌", 'ΐ': "Ϊ́", 'ΰ': "Ϋ́", 'և': "ԵՒ",
	'ẖ': "H̱", 'ẗ': "T̈", 'ẘ': "W̊", 'ẙ': "Y̊", 'ẚ': "Aʾ",
	'ﬀ': "FF", 'ﬁ': "FI", 'ﬂ': "FL", 'ﬃ': "FFI", 'ﬄ': "FFL", 'ﬅ': "ST", 'ﬆ': "ST",
	'ﬓ': "ՄՆ", 'ﬔ': "ՄԵ", 'ﬕ': "ՄԻ", 'ﬖ': "ՎՆ", 'ﬗ': "ՄԽ",
}

// isASCII reports whether s is all ASCII: text on which Java's and Go's
// string functions agree.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// javaUpper is String.toUpperCase for en_US.
func javaUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		if x, ok := upperExpansions[r]; ok {
			b.WriteString(x)
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// javaLower is String.toLowerCase for en_US: per-rune lower case plus
// Java's special cases, İ -> i̇ and the word-final sigma.
func javaLower(s string) string {
	// the ASCII test is cheaper than the two searches, and settles the
	// usual text
	if isASCII(s) || !strings.ContainsRune(s, 'Σ') && !strings.ContainsRune(s, 'İ') {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == 'İ':
			b.WriteString("i\u0307")
		case r == 'Σ' && i > 0 && unicode.IsLetter(rs[i-1]) && (i+1 == len(rs) || !unicode.IsLetter(rs[i+1])):
			b.WriteRune('ς')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// isJavaWhitespace is Character.isWhitespace.
func isJavaWhitespace(r rune) bool {
	switch r {
	case '\u00a0', '\u2007', '\u202f':
		return false
	}
	return r >= 0x09 && r <= 0x0d || r >= 0x1c && r <= 0x1f || unicode.Is(unicode.Zs, r) || r == 0x2028 || r == 0x2029
}

func capFirst(s string) string   { return mapFirst(s, unicode.ToUpper) }
func uncapFirst(s string) string { return mapFirst(s, unicode.ToLower) }

func mapFirst(s string, f func(rune) rune) string {
	for i, r := range s {
		if isJavaWhitespace(r) {
			continue
		}
		m := f(r)
		if m == r {
			return s
		}
		return s[:i] + string(m) + s[i+utf8.RuneLen(r):]
	}
	return s
}

// javaTrim is String.trim: it removes every character <= ' '.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

func builtinReplace(e *exec, b *builtinExpr, t Value) (Value, error) {
	s, from, err := b.textAndArg(e, t)
	if err != nil {
		return Value{}, err
	}
	to, err := b.strArg(e, 1)
	if err != nil {
		return Value{}, err
	}
	var out string
	if from == "" {
		// FreeMarker inserts the replacement around every character
		var sb strings.Builder
		sb.WriteString(to)
		for _, r := range s {
			sb.WriteRune(r)
			sb.WriteString(to)
			if sb.Len() > e.maxOut {
				break
			}
		}
		out = sb.String()
	} else {
		if n := strings.Count(s, from); n > 0 && len(to) > len(from) && len(s)+n*(len(to)-len(from)) > e.maxOut {
			return Value{}, e.charge(b.p, e.maxOut+1)
		}
		out = strings.ReplaceAll(s, from, to)
	}
	if err := e.charge(b.p, len(out)); err != nil {
		return Value{}, err
	}
	return String(out), nil
}

func builtinSubstring(e *exec, b *builtinExpr, t Value) (Value, error) {
	s, err := b.text(e, t)
	if err != nil {
		return Value{}, err
	}
	n := utf16Len(s)
	fd, err := b.numArg(e, 0)
	if err != nil {
		return Value{}, err
	}
	from := int64(fd.int32())
	to := int64(n)
	if len(b.args) > 1 {
		td, err := b.numArg(e, 1)
		if err != nil {
			return Value{}, err
		}
		to = int64(td.int32())
	}
	// checkIndex checks argument #argn, index i, as FreeMarker does.
	checkIndex := func(argn int, i int64) error {
		msg := ""
		switch {
		case i < 0:
			msg = "the index must be at least 0, but was " + itoa(int(i))
		case i > int64(n):
			msg = "the index mustn't be greater than the length of the string, " + itoa(n) + ", but it was " + itoa(int(i))
		default:
			return nil
		}
		return e.errf(b.p, "?substring(...) argument #"+itoa(argn)+" had invalid value: "+msg)
	}
	if err := checkIndex(1, from); err != nil {
		return Value{}, err
	}
	if len(b.args) > 1 {
		if err := checkIndex(2, to); err != nil {
			return Value{}, err
		}
		if from > to {
			return Value{}, e.errf(b.p, "?substring(...) arguments have invalid value: the begin index argument, "+
				itoa(int(from))+", shouldn't be greater than the end index argument, "+itoa(int(to)))
		}
	}
	return String(utf16Slice(s, int(from), int(to))), nil
}

func builtinC(e *exec, b *builtinExpr, t Value) (Value, error) {
	if t.isNothing() {
		t = Bool(false)
	}
	switch t.kind {
	case KindNumber:
		return String(t.num().computer()), nil
	case KindBool:
		if t.b {
			return String("true"), nil
		}
		return String("false"), nil
	}
	return Value{}, b.operandErr(e, "a number or boolean", t)
}

func builtinString(e *exec, b *builtinExpr, t Value) (Value, error) {
	switch t.kind {
	case KindString:
		if len(b.args) > 0 {
			return Value{}, e.errf(b.p, "?string(...) with arguments needs a number or boolean, but "+b.x.source()+" is a string")
		}
		return t, nil
	case KindNumber:
		switch len(b.args) {
		case 0:
			return String(t.num().computer()), nil
		case 1:
			pat, err := b.strArg(e, 0)
			if err != nil {
				return Value{}, err
			}
			s, ok := formatPattern(t.num(), pat)
			if !ok {
				return Value{}, e.errf(b.args[0].pos(), "number format "+pat+" is not supported; use patterns made of 0 # , and .")
			}
			return String(s), nil
		}
		return Value{}, e.errf(b.p, "?string(...) on a number takes one format argument")
	case KindBool:
		switch len(b.args) {
		case 0:
			return builtinC(e, b, t)
		case 2:
			s, err := b.strArg(e, boolArg(t))
			return String(s), err
		}
		return Value{}, e.errf(b.p, "?string(...) on a boolean takes two arguments: the text for true and for false")
	}
	return Value{}, b.operandErr(e, "a string, number or boolean", t)
}

func builtinThen(e *exec, b *builtinExpr, t Value) (Value, error) {
	if t.isNothing() {
		t = Bool(false)
	}
	if t.kind != KindBool {
		return Value{}, b.operandErr(e, "a boolean", t)
	}
	return b.arg(e, boolArg(t))
}

func builtinNumber(e *exec, b *builtinExpr, t Value) (Value, error) {
	switch t.kind {
	case KindNumber:
		return t, nil
	case KindString:
		d, _, ok := parseDecOpt(t.s, true)
		if !ok {
			return Value{}, e.errf(b.p, "can't convert this string to number: "+quoteJava(t.s))
		}
		return numValue(d, flavorBig), nil
	}
	return Value{}, b.operandErr(e, "a string or number", t)
}

func quoteJava(s string) string { return "\"" + strings.ReplaceAll(s, "\"", "\\\"") + "\"" }

// builtinURL is ?url: FreeMarker's URL escaping, which keeps letters,
// digits and _ - . ! ~ ' ( ) * and percent-encodes the rest.
func builtinURL(e *exec, b *builtinExpr, t Value) (Value, error) {
	s, err := b.text(e, t)
	if err != nil {
		return Value{}, err
	}
	latin1 := false
	if len(b.args) == 1 {
		cs, err := b.strArg(e, 0)
		if err != nil {
			return Value{}, err
		}
		switch strings.ToUpper(cs) {
		case "UTF-8", "UTF8":
		case "ISO-8859-1", "ISO8859-1", "LATIN1", "ISO_8859_1", "US-ASCII", "ASCII":
			latin1 = true
			if strings.Contains(strings.ToUpper(cs), "ASCII") {
				s = strings.Map(func(r rune) rune {
					if r > 0x7f {
						return '?'
					}
					return r
				}, s)
			}
		default:
			return Value{}, e.errf(b.args[0].pos(), "unsupported charset "+quoteJava(cs)+" for ?url; use UTF-8 or ISO-8859-1")
		}
	}
	return String(urlEscape(s, latin1, b.name == "url_path")), nil
}

func urlSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '!' || c == '~' || c >= '\'' && c <= '*'
}

const upperHex = "0123456789ABCDEF"

func urlEscape(s string, latin1, keepSlash bool) string {
	safe := true
	for i := 0; i < len(s); i++ {
		if !urlSafe(s[i]) && !(keepSlash && s[i] == '/') {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) * 3)
	for _, r := range s {
		if r < utf8.RuneSelf && (urlSafe(byte(r)) || keepSlash && r == '/') {
			sb.WriteByte(byte(r))
			continue
		}
		var buf [4]byte
		var bs []byte
		switch {
		case latin1 && r <= 0xff:
			bs = []byte{byte(r)}
		case latin1:
			bs = []byte{'?'}
		default:
			n := utf8.EncodeRune(buf[:], r)
			bs = buf[:n]
		}
		for _, c := range bs {
			sb.WriteByte('%')
			sb.WriteByte(upperHex[c>>4])
			sb.WriteByte(upperHex[c&15])
		}
	}
	return sb.String()
}

// jsonStringEscape is ?json_string.
func jsonStringEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	WriteJSONString(&b, s, JSONFreeMarker)
	return b.String()
}

// builtinIndexOf is ?index_of and ?last_index_of: Java's indexOf and
// lastIndexOf, in UTF-16 units, with an optional start index.
func builtinIndexOf(e *exec, b *builtinExpr, t Value) (Value, error) {
	s, sub, err := b.textAndArg(e, t)
	if err != nil {
		return Value{}, err
	}
	u, us := utf16.Encode([]rune(s)), utf16.Encode([]rune(sub))
	last := b.name == "last_index_of"
	from := 0
	if last {
		from = len(u)
	}
	if len(b.args) > 1 {
		d, err := b.numArg(e, 1)
		if err != nil {
			return Value{}, err
		}
		from = int(d.int32())
	}
	if last {
		end := min(from, len(u)-len(us)) // the last start position allowed
		if end < 0 {
			return Int(-1), nil
		}
		// the last match starting at or before end is the first match of
		// the reversed needle in the reversed text from its far end
		ru, rus := reversed(u[:end+len(us)]), reversed(us)
		if i := indexUnits(ru, rus, 0); i >= 0 {
			return Int(int64(end - i)), nil
		}
		return Int(-1), nil
	}
	if len(us) == 0 {
		return Int(int64(min(max(from, 0), len(u)))), nil
	}
	return Int(int64(indexUnits(u, us, max(from, 0)))), nil
}

func reversed(u []uint16) []uint16 {
	r := make([]uint16, len(u))
	for i, c := range u {
		r[len(u)-1-i] = c
	}
	return r
}

// indexUnits is the first index at or after from where needle occurs in
// text, or -1: Knuth-Morris-Pratt, linear in both lengths, since a naive
// search of a 30,000-unit needle in a 60,000-unit text would take seconds.
func indexUnits(text, needle []uint16, from int) int {
	if len(needle) == 0 {
		return min(from, len(text))
	}
	fail := make([]int, len(needle))
	for i, k := 1, 0; i < len(needle); i++ {
		for k > 0 && needle[i] != needle[k] {
			k = fail[k-1]
		}
		if needle[i] == needle[k] {
			k++
		}
		fail[i] = k
	}
	for i, k := from, 0; i < len(text); i++ {
		for k > 0 && text[i] != needle[k] {
			k = fail[k-1]
		}
		if text[i] == needle[k] {
			k++
		}
		if k == len(needle) {
			return i - len(needle) + 1
		}
	}
	return -1
}

// builtinPad is ?left_pad and ?right_pad: pad to a width in UTF-16 units
// with a filling string laid at fixed positions, as FreeMarker does
// ("a"?left_pad(8, "-=") is "-=-=-=-a", "a"?right_pad(8, "-=") "a=-=-=-=").
func builtinPad(e *exec, b *builtinExpr, t Value) (Value, error) {
	s, err := b.text(e, t)
	if err != nil {
		return Value{}, err
	}
	wd, err := b.numArg(e, 0)
	if err != nil {
		return Value{}, err
	}
	width := int(wd.int32())
	fill := " "
	if len(b.args) > 1 {
		if fill, err = b.strArg(e, 1); err != nil {
			return Value{}, err
		}
		if fill == "" {
			return Value{}, e.errf(b.args[1].pos(), "?"+b.name+"(...) argument #2 can't be a 0-length string")
		}
	}
	n := utf16Len(s)
	if width <= n {
		return String(s), nil
	}
	if err := e.charge(b.p, width); err != nil {
		return Value{}, err
	}
	f := utf16.Encode([]rune(fill))
	pad := make([]uint16, 0, width-n)
	start := 0
	if b.name == "right_pad" {
		start = n
	}
	for i := start; i < start+width-n; i++ {
		pad = append(pad, f[i%len(f)])
	}
	p := javaUTF16String(pad)
	if b.name == "right_pad" {
		return String(s + p), nil
	}
	return String(p + s), nil
}
