package template

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// dec is an exact decimal: unscaled * 10^-scale, with the unscaled part in
// u when it fits an int64 and in b otherwise. It follows java.math.BigDecimal,
// which FreeMarker's arithmetic uses, including how results get their scale.
type dec struct {
	u     int64
	b     *big.Int // nil unless the unscaled value does not fit u
	scale int32
}

// maxScale bounds exponents so that a template such as ${1e999999999}
// cannot make the engine build a gigantic number.
const maxScale = 10000

// maxDigits bounds the digits of an arithmetic result. FreeMarker has no
// such bound, but squaring a number twenty times would take the engine
// seconds and gigabytes; real templates stay below 40 digits.
const maxDigits = 1000

// digits is an upper bound of the decimal digits of the unscaled value.
func (d dec) digits() int {
	if d.b == nil {
		return 19
	}
	// log10(2) < 0.3011 = 3083/10240
	return d.b.BitLen()*3083/10240 + 1
}

// resultDigits bounds the digits of the unscaled values an arithmetic
// operator builds from l and r, intermediate values included: the
// operands aligned to a common scale for + - and comparisons, the
// shifted dividend for /, the integral part for %.
func resultDigits(op byte, l, r dec) int {
	pad := func(d dec, scale int32) int { return d.digits() + max(int(scale-d.scale), 0) }
	switch op {
	case '*':
		return l.digits() + r.digits()
	case '/':
		scale := max(int32(12), l.scale, r.scale)
		shift := int(scale) - int(l.scale) + int(r.scale)
		return l.digits() + r.digits() + max(shift, -shift)
	case '%':
		return max(pad(l, 0), pad(r, 0))
	}
	sc := max(l.scale, r.scale)
	return max(pad(l, sc), pad(r, sc)) + 1
}

func (d dec) big() *big.Int {
	if d.b != nil {
		return d.b
	}
	return big.NewInt(d.u)
}

func mkdec(b *big.Int, scale int32) dec {
	if b.IsInt64() {
		return dec{u: b.Int64(), scale: scale}
	}
	return dec{b: b, scale: scale}
}

func (d dec) sign() int {
	if d.b != nil {
		return d.b.Sign()
	}
	switch {
	case d.u < 0:
		return -1
	case d.u > 0:
		return 1
	}
	return 0
}

// parseDec reads -?digits[.digits][(e|E)[+-]digits]. lenient also accepts
// what Java's BigDecimal(String) does beyond that: a leading '+', ".5", "5.".
func parseDec(s string) (d dec, integral, ok bool) {
	return parseDecOpt(s, false)
}

func parseDecOpt(s string, lenient bool) (d dec, integral, ok bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || (lenient && s[i] == '+')) {
		neg = s[i] == '-'
		i++
	}
	var digits strings.Builder
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart := s[intStart:i]
	frac := ""
	integral = true
	if i < len(s) && s[i] == '.' {
		integral = false
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac = s[fs:i]
		if !lenient && frac == "" {
			return dec{}, false, false
		}
	}
	if intPart == "" && (!lenient || frac == "") {
		return dec{}, false, false
	}
	exp := int64(0)
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integral = false
		i++
		es := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ds := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if ds == i {
			return dec{}, false, false
		}
		digits := strings.TrimLeft(s[ds:i], "0")
		if len(digits) > 9 {
			return dec{}, false, false
		}
		if digits != "" {
			e, err := strconv.ParseInt(digits, 10, 64)
			if err != nil {
				return dec{}, false, false
			}
			exp = e
			if s[es] == '-' {
				exp = -e
			}
		}
	}
	if i != len(s) {
		return dec{}, false, false
	}
	scale := int64(len(frac)) - exp
	if scale > maxScale || scale < -maxScale {
		return dec{}, false, false
	}
	digits.Grow(len(intPart) + len(frac) + 1)
	if neg {
		digits.WriteByte('-')
	}
	digits.WriteString(intPart)
	digits.WriteString(frac)
	txt := digits.String()
	if len(txt) < 19 {
		u, err := strconv.ParseInt(txt, 10, 64)
		if err == nil {
			return dec{u: u, scale: int32(scale)}, integral, true
		}
	}
	b, okb := new(big.Int).SetString(txt, 10)
	if !okb {
		return dec{}, false, false
	}
	return mkdec(b, int32(scale)), integral, true
}

// unscaledText returns the digits of |unscaled| and whether it is negative.
func (d dec) unscaledText() (string, bool) {
	if d.b != nil {
		s := d.b.String()
		if s[0] == '-' {
			return s[1:], true
		}
		return s, false
	}
	if d.u < 0 {
		s := strconv.FormatInt(d.u, 10)
		return s[1:], true
	}
	return strconv.FormatInt(d.u, 10), false
}

// plain is BigDecimal.toPlainString.
func (d dec) plain() string {
	if d.b == nil && d.scale == 0 {
		return strconv.FormatInt(d.u, 10)
	}
	digits, neg := d.unscaledText()
	return layout(digits, neg, int(d.scale))
}

// layout writes digits * 10^-scale in plain notation.
func layout(digits string, neg bool, scale int) string {
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	switch {
	case scale <= 0:
		sb.WriteString(digits)
		if digits != "0" {
			for i := 0; i < -scale; i++ {
				sb.WriteByte('0')
			}
		}
	case scale >= len(digits):
		sb.WriteString("0.")
		for i := 0; i < scale-len(digits); i++ {
			sb.WriteByte('0')
		}
		sb.WriteString(digits)
	default:
		sb.WriteString(digits[:len(digits)-scale])
		sb.WriteByte('.')
		sb.WriteString(digits[len(digits)-scale:])
	}
	return sb.String()
}

// computer formats like FreeMarker's "computer" number format (?c) in
// 2.3.31: java.text.DecimalFormat("0.################"), i.e. no grouping,
// at most 16 fraction digits rounded half-even, no trailing zeros.
func (d dec) computer() string {
	if d.b == nil && d.scale == 0 {
		return strconv.FormatInt(d.u, 10)
	}
	r := d
	if r.scale > 16 {
		r = d.setScale(16, roundHalfEven)
	}
	digits, neg := r.unscaledText()
	scale := int(r.scale)
	if scale > 0 {
		// drop trailing fraction zeros
		for scale > 0 && len(digits) > 1 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
			scale--
		}
		if digits == "0" {
			scale = 0
		}
	}
	// a value that rounds to zero prints without a sign
	if digits == "0" && scale <= 0 {
		return "0"
	}
	return layout(digits, neg, scale)
}

// javaString is BigDecimal.toString: plain unless the exponent is large.
func (d dec) javaString() string {
	digits, neg := d.unscaledText()
	adjusted := -int(d.scale) + len(digits) - 1
	if d.scale >= 0 && adjusted >= -6 {
		return layout(digits, neg, int(d.scale))
	}
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	sb.WriteString(digits[:1])
	if len(digits) > 1 {
		sb.WriteByte('.')
		sb.WriteString(digits[1:])
	}
	sb.WriteByte('E')
	if adjusted >= 0 {
		sb.WriteByte('+')
	}
	sb.WriteString(strconv.Itoa(adjusted))
	return sb.String()
}

// doubleString approximates Java's Double.toString for the number: exact
// for every decimal a double represents with its shortest digits.
func (d dec) doubleString() string {
	digits, neg := d.unscaledText()
	scale := int(d.scale)
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		scale--
	}
	if digits == "0" {
		if neg {
			return "-0.0"
		}
		return "0.0"
	}
	// value = 0.digits * 10^pointPos
	pointPos := len(digits) - scale
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	if pointPos > -3 && pointPos <= 7 { // 1e-3 <= |x| < 1e7
		switch {
		case pointPos <= 0:
			sb.WriteString("0.")
			sb.WriteString(strings.Repeat("0", -pointPos))
			sb.WriteString(digits)
		case pointPos >= len(digits):
			sb.WriteString(digits)
			sb.WriteString(strings.Repeat("0", pointPos-len(digits)))
			sb.WriteString(".0")
		default:
			sb.WriteString(digits[:pointPos])
			sb.WriteByte('.')
			sb.WriteString(digits[pointPos:])
		}
		return sb.String()
	}
	sb.WriteString(digits[:1])
	sb.WriteByte('.')
	if len(digits) > 1 {
		sb.WriteString(digits[1:])
	} else {
		sb.WriteByte('0')
	}
	sb.WriteByte('E')
	sb.WriteString(strconv.Itoa(pointPos - 1))
	return sb.String()
}

type rounding uint8

const (
	roundHalfEven rounding = iota
	roundHalfUp
	roundFloor
	roundCeiling
	roundDown
)

var bigTen = big.NewInt(10)

// pow10s holds 10^0..10^63, read-only after initialisation.
var pow10s = func() (t [64]*big.Int) {
	t[0] = big.NewInt(1)
	for i := 1; i < len(t); i++ {
		t[i] = new(big.Int).Mul(t[i-1], bigTen)
	}
	return t
}()

// pow10 returns 10^n; callers must not modify the result.
func pow10(n int) *big.Int {
	if n < len(pow10s) {
		return pow10s[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// setScale is BigDecimal.setScale(scale, mode).
func (d dec) setScale(scale int32, mode rounding) dec {
	if scale == d.scale {
		return d
	}
	u := d.big()
	if scale > d.scale {
		return mkdec(new(big.Int).Mul(u, pow10(int(scale-d.scale))), scale)
	}
	div := pow10(int(d.scale - scale))
	q, r := new(big.Int).QuoRem(u, div, new(big.Int))
	return mkdec(roundQuo(q, r, div, u.Sign(), mode), scale)
}

// roundQuo adjusts a truncated quotient q (remainder r of divisor div, sign
// of the exact result sgn) by the rounding mode.
func roundQuo(q, r, div *big.Int, sgn int, mode rounding) *big.Int {
	if r.Sign() == 0 {
		return q
	}
	up := false
	switch mode {
	case roundDown:
	case roundFloor:
		up = sgn < 0
	case roundCeiling:
		up = sgn > 0
	case roundHalfUp, roundHalfEven:
		twice := new(big.Int).Abs(r)
		twice.Lsh(twice, 1)
		c := twice.Cmp(new(big.Int).Abs(div))
		up = c > 0 || (c == 0 && (mode == roundHalfUp || q.Bit(0) == 1))
	}
	if !up {
		return q
	}
	if sgn < 0 {
		return q.Sub(q, big.NewInt(1))
	}
	return q.Add(q, big.NewInt(1))
}

// align returns both unscaled values at the larger scale.
func align(a, b dec) (*big.Int, *big.Int, int32) {
	switch {
	case a.scale == b.scale:
		return a.big(), b.big(), a.scale
	case a.scale > b.scale:
		return a.big(), new(big.Int).Mul(b.big(), pow10(int(a.scale-b.scale))), a.scale
	}
	return new(big.Int).Mul(a.big(), pow10(int(b.scale-a.scale))), b.big(), b.scale
}

func (d dec) cmp(o dec) int {
	if d.b == nil && o.b == nil && d.scale == o.scale {
		switch {
		case d.u < o.u:
			return -1
		case d.u > o.u:
			return 1
		}
		return 0
	}
	x, y, _ := align(d, o)
	return x.Cmp(y)
}

func (d dec) add(o dec) dec {
	if d.b == nil && o.b == nil && d.scale == o.scale {
		s := d.u + o.u
		if (s > d.u) == (o.u > 0) {
			return dec{u: s, scale: d.scale}
		}
	}
	x, y, sc := align(d, o)
	return mkdec(new(big.Int).Add(x, y), sc)
}

func (d dec) neg() dec {
	if d.b == nil && d.u != -1<<63 {
		return dec{u: -d.u, scale: d.scale}
	}
	return mkdec(new(big.Int).Neg(d.big()), d.scale)
}

func (d dec) sub(o dec) dec { return d.add(o.neg()) }

// mul is FreeMarker's BigDecimal multiplication: exact, then rounded
// half-up to 12 decimals when it has more.
func (d dec) mul(o dec) (dec, bool) {
	sc := int64(d.scale) + int64(o.scale)
	if sc > maxScale || sc < -maxScale {
		return dec{}, false
	}
	var r dec
	fast := false
	if d.b == nil && o.b == nil {
		if hi, lo := bits.Mul64(uabs(d.u), uabs(o.u)); hi == 0 && lo <= math.MaxInt64 {
			p := int64(lo)
			if (d.u < 0) != (o.u < 0) {
				p = -p
			}
			r, fast = dec{u: p, scale: int32(sc)}, true
		}
	}
	if !fast {
		r = mkdec(new(big.Int).Mul(d.big(), o.big()), int32(sc))
	}
	if r.scale > 12 {
		r = r.setScale(12, roundHalfUp)
	}
	return r, true
}

func uabs(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}

// div is FreeMarker's BigDecimal division: scale max(12, both scales),
// rounded half-up. ok is false for a zero divisor.
func (d dec) div(o dec) (dec, bool) {
	if o.sign() == 0 {
		return dec{}, false
	}
	scale := max(int32(12), d.scale, o.scale)
	// d/o at scale s: (ud * 10^(s - sd + so)) / uo
	shift := int(scale) - int(d.scale) + int(o.scale)
	num := d.big()
	den := o.big()
	if shift >= 0 {
		num = new(big.Int).Mul(num, pow10(shift))
	} else {
		den = new(big.Int).Mul(den, pow10(-shift))
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	sgn := num.Sign() * den.Sign()
	return mkdec(roundQuo(q, r, den, sgn, roundHalfUp), scale), true
}

// toInt64 truncates toward zero like Number.longValue (saturating).
func (d dec) toInt64() int64 {
	if d.b == nil && d.scale == 0 {
		return d.u
	}
	t := d.setScale(0, roundDown)
	if t.b != nil {
		if t.b.Sign() < 0 {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	return t.u
}

// isIntegral reports whether the value has no fractional part.
func (d dec) isIntegral() bool {
	if d.scale <= 0 {
		return true
	}
	return d.setScale(0, roundDown).cmp(d) == 0
}

// int32 is Number.intValue of a BigDecimal: the low 32 bits of the
// integral part.
func (d dec) int32() int32 {
	t := d.setScale(0, roundDown)
	if t.b == nil {
		return int32(t.u)
	}
	m := new(big.Int).And(t.b, big.NewInt(0xffffffff))
	return int32(uint32(m.Uint64()))
}

// asDouble gives a JSON decimal the scale FreeMarker's arithmetic sees: the
// oracle holds it as a Java Double, which FreeMarker turns into a
// BigDecimal through Double.toString (2.50 -> 2.5, 1e7 -> 1.0E7). The
// digits stay exact.
func (d dec) asDouble() dec {
	j, _, ok := parseDec(d.doubleString())
	if !ok {
		return d
	}
	return j
}

// int64Wrap is Number.longValue of a BigDecimal or BigInteger: the low 64
// bits of the integral part, wrapping like Java.
func (d dec) int64Wrap() int64 {
	t := d.setScale(0, roundDown)
	if t.b == nil {
		return t.u
	}
	m := new(big.Int).And(t.b, new(big.Int).SetUint64(^uint64(0)))
	return int64(m.Uint64())
}
