package template

import (
	"strings"
)

// expr is a compiled expression. eval never panics; a missing value is
// returned as the zero Value (not an error) by names and lookups, and
// becomes an error only where FreeMarker makes it one.
type expr interface {
	eval(e *exec) (Value, error)
	pos() position
	source() string
}

type base struct {
	p   position
	src string // the expression's source text, for messages
}

func (b base) pos() position  { return b.p }
func (b base) source() string { return b.src }

type litExpr struct {
	base
	v Value
}

func (x *litExpr) eval(*exec) (Value, error) { return x.v, nil }

type identExpr struct {
	base
	name string
	slot int32 // in the execution's memo, see dotExpr.slot
}

func (x *identExpr) eval(e *exec) (Value, error) {
	if e.memoGen[x.slot] == e.gen {
		return e.memo[x.slot], nil
	}
	v := x.resolve(e)
	e.memo[x.slot], e.memoGen[x.slot] = v, e.gen
	return v, nil
}

// resolve looks the variable up; the memo keeps the answer until the
// variable is bound or unbound (exec.forget), loop variables of a <#list>
// included (exec.forgetLoop).
func (x *identExpr) resolve(e *exec) Value {
	// a loop variable of a <#list> shadows an assigned variable, which
	// shadows the data model; one bound to a missing value (a null item,
	// of a <#list> or a <@loop>) does not, as in FreeMarker
	if len(e.iters) > 0 {
		if v, ok := e.loopVar(x.name); ok {
			return v
		}
	}
	for i := range e.vars {
		if e.vars[i].name == x.name && e.vars[i].v.kind != KindMissing {
			return e.vars[i].v
		}
	}
	if e.root.kind != KindHash {
		return Value{}
	}
	if i := e.root.c.lookupAt(x.name, &e.guess[x.slot]); i >= 0 {
		return e.root.c.vals[i]
	}
	return Value{}
}

type dotExpr struct {
	base
	x    expr
	name string
	// path is the variable path (user_data.os) when x is a variable or
	// such a path, and slot its number in the execution's memo; -1 for
	// any other left-hand side. Templates read the same default-guarded
	// paths many times ((user_data.geo_continent_code)! four times in
	// Criteo's URL), and a path's value changes only when its variable
	// is bound (see exec.forget).
	path string
	slot int32
}

// memoSlot gives d its path and memo slot when its left-hand side is a
// variable or a variable path.
func (p *parser) memoSlot(d *dotExpr) {
	switch l := d.x.(type) {
	case *identExpr:
		d.path = l.name + "." + d.name
	case *dotExpr:
		if l.slot < 0 {
			return
		}
		d.path = l.path + "." + d.name
	default:
		return
	}
	d.slot = p.pathSlot(d.path)
}

// pathSlot numbers the distinct variable paths of a template.
func (p *parser) pathSlot(path string) int32 {
	if p.paths == nil {
		p.paths = make(map[string]int32)
	}
	slot, ok := p.paths[path]
	if !ok {
		slot = int32(len(p.paths))
		p.paths[path] = slot
	}
	return slot
}

// pathsByVar lists the memo slots of the paths that start at each
// variable: what binding that variable invalidates.
func pathsByVar(paths map[string]int32) map[string][]int32 {
	m := make(map[string][]int32)
	for path, slot := range paths {
		v, _, _ := strings.Cut(path, ".")
		m[v] = append(m[v], slot)
	}
	return m
}

func (x *dotExpr) eval(e *exec) (Value, error) {
	if x.slot < 0 {
		return x.lookup(e)
	}
	if e.memoGen[x.slot] == e.gen {
		return e.memo[x.slot], nil
	}
	v, err := x.lookup(e)
	if err == nil {
		// errors are not kept: they are rare, and rebuilt each time
		e.memo[x.slot], e.memoGen[x.slot] = v, e.gen
	}
	return v, err
}

func (x *dotExpr) lookup(e *exec) (Value, error) {
	t, err := x.x.eval(e)
	if err != nil {
		return Value{}, err
	}
	switch {
	case t.kind == KindHash:
		if x.slot < 0 {
			return t.Get(x.name), nil
		}
		if i := t.c.lookupAt(x.name, &e.guess[x.slot]); i >= 0 {
			return t.c.vals[i], nil
		}
		return Value{}, nil
	case t.kind == KindMissing:
		return Value{}, e.undef(x.x)
	case t.isMultiEmpty():
		return Value{}, nil
	}
	return Value{}, e.typeErr(x.x, "For \".\" left-hand operand", "a hash", t)
}

type indexExpr struct {
	base
	x, k expr
}

func (x *indexExpr) eval(e *exec) (Value, error) {
	t, err := e.evalDefined(x.x)
	if err != nil {
		return Value{}, err
	}
	k, err := x.k.eval(e)
	if err != nil {
		return Value{}, err
	}
	switch k.kind {
	case KindMissing:
		return Value{}, e.undef(x.k)
	case KindNumber:
		i := int64(k.num().int32())
		switch {
		case t.kind == KindSeq || t.isMultiEmpty():
			// out of range, negative included, is missing, as in FreeMarker
			return t.Index(int(i)), nil
		case t.kind == KindString:
			s := t.s
			if err := e.work(x.p, len(s)>>bytesPerStep); err != nil { // utf16Len scans s
				return Value{}, err
			}
			u := utf16Len(s)
			if i < 0 {
				return Value{}, e.errf(x.k.pos(), "negative index "+k.num().computer()+" in "+x.src)
			}
			if i >= int64(u) {
				return Value{}, e.errf(x.k.pos(), "index "+k.num().computer()+" is out of bounds for a string of length "+itoa(u)+" in "+x.src)
			}
			return String(utf16Slice(s, int(i), int(i)+1)), nil
		}
		return Value{}, e.typeErr(x.x, "For \"[]\" with a number key", "a sequence or string", t)
	case KindString:
		if t.kind == KindHash {
			return t.Get(k.s), nil
		}
		if t.isMultiEmpty() {
			return Value{}, nil
		}
		return Value{}, e.typeErr(x.x, "For \"[]\" with a string key", "a hash", t)
	}
	return Value{}, e.typeErr(x.k, "For \"[]\" key", "a number or string", k)
}

type parenExpr struct {
	base
	x expr
}

func (x *parenExpr) eval(e *exec) (Value, error) { return x.x.eval(e) }

// evalMaybeMissing evaluates the operand of !, ?? and the existence
// built-ins: a parenthesised operand swallows any "missing" failure inside
// it, an unparenthesised one only a missing final value.
func evalMaybeMissing(e *exec, x expr) (Value, error) {
	v, err := x.eval(e)
	if err != nil {
		if _, ok := x.(*parenExpr); ok && isUndef(err) {
			return Value{}, nil
		}
		return Value{}, err
	}
	return v, nil
}

type defaultExpr struct {
	base
	x, rhs expr
	// path is set when x is a parenthesised variable path, (a.b)!, the
	// commonest default: evaluated directly, with the same result
	path *dotExpr
}

func (x *defaultExpr) eval(e *exec) (Value, error) {
	var v Value
	var err error
	if x.path != nil {
		if v, err = x.path.eval(e); err != nil && isUndef(err) {
			v, err = Value{}, nil // what evalMaybeMissing does for a parenExpr
		}
	} else {
		v, err = evalMaybeMissing(e, x.x)
	}
	if err != nil {
		return Value{}, err
	}
	if v.kind != KindMissing {
		return v, nil
	}
	if x.rhs == nil {
		return multiEmpty, nil
	}
	return x.rhs.eval(e)
}

type existsExpr struct {
	base
	x expr
}

func (x *existsExpr) eval(e *exec) (Value, error) {
	v, err := evalMaybeMissing(e, x.x)
	if err != nil {
		return Value{}, err
	}
	return Bool(v.kind != KindMissing), nil
}

type notExpr struct {
	base
	x expr
}

func (x *notExpr) eval(e *exec) (Value, error) {
	b, err := e.evalBool(x.x, "For \"!\" operand")
	if err != nil {
		return Value{}, err
	}
	return Bool(!b), nil
}

type negExpr struct {
	base
	neg bool
	x   expr
}

func (x *negExpr) eval(e *exec) (Value, error) {
	v, err := e.evalDefined(x.x)
	if err != nil {
		return Value{}, err
	}
	if v.kind != KindNumber {
		return Value{}, e.typeErr(x.x, "For unary "+map[bool]string{true: "-", false: "+"}[x.neg]+" operand", "a number", v)
	}
	if !x.neg {
		return v, nil
	}
	// FreeMarker negates by multiplying with -1, which caps the scale at 12
	d, _ := v.num().mul(dec{u: -1})
	return numValue(d, flavorBig), nil
}

type logicExpr struct {
	base
	or   bool
	l, r expr
}

func (x *logicExpr) eval(e *exec) (Value, error) {
	b, err := x.test(e)
	if err != nil {
		return Value{}, err
	}
	return Bool(b), nil
}

// test is eval for a condition (see exec.evalBool): the same result,
// without building a Value.
func (x *logicExpr) test(e *exec) (bool, error) {
	l, err := e.evalBool(x.l, x.operandCtx(true))
	if err != nil {
		return false, err
	}
	if l == x.or {
		return l, nil
	}
	return e.evalBool(x.r, x.operandCtx(false))
}

// operandCtx names an operand in a type error; the text is built only
// for the error (evalBool reads ctx only then).
func (x *logicExpr) operandCtx(left bool) string {
	switch {
	case x.or && left:
		return "For \"||\" left operand"
	case x.or:
		return "For \"||\" right operand"
	case left:
		return "For \"&&\" left operand"
	}
	return "For \"&&\" right operand"
}

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpNe
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type cmpExpr struct {
	base
	op    cmpOp
	opTok string
	l, r  expr
	// lit is r when it is a string literal and op == or !=: the
	// commonest condition, a path compared with a string literal
	// (user_data.os == "IOS"), has a fast path
	lit *litExpr
	// litIgnorable: lit may hold characters the collator ignores (see
	// mayIgnore), known from parsing
	litIgnorable bool
}

func (x *cmpExpr) eval(e *exec) (Value, error) {
	b, err := x.test(e)
	if err != nil {
		return Value{}, err
	}
	return Bool(b), nil
}

// test is eval for a condition (see exec.evalBool).
func (x *cmpExpr) test(e *exec) (bool, error) {
	if lit := x.lit; lit != nil {
		// with a string on the left, the general path below gives the
		// same answer
		l, err := x.l.eval(e)
		if err != nil {
			return false, err
		}
		if l.kind == KindString && len(l.s)+len(lit.v.s) < 1<<bytesPerStep {
			// collatorEqual, with the literal's half of its test done
			eq := l.s == lit.v.s || (x.litIgnorable || mayIgnore(l.s)) && collatorEqualSlow(l.s, lit.v.s)
			return eq == (x.op == cmpEq), nil
		}
		if l.kind == KindMissing {
			return false, e.undef(x.l)
		}
		return x.compare(e, l, lit.v)
	}
	l, r, err := e.evalOperands(x.l, x.r)
	if err != nil {
		return false, err
	}
	return x.compare(e, l, r)
}

func (x *cmpExpr) compare(e *exec, l, r Value) (bool, error) {
	// "nothing" is also the boolean false
	if l.isNothing() && r.kind == KindBool {
		l = Bool(false)
	} else if r.isNothing() && l.kind == KindBool {
		r = Bool(false)
	}
	var c int
	switch {
	case l.kind == KindNumber && r.kind == KindNumber:
		c = l.num().cmp(r.num())
	case l.kind == KindString && r.kind == KindString:
		if x.op != cmpEq && x.op != cmpNe {
			return false, e.errf(x.p, "can't use operator \""+x.opTok+"\" on string values: "+x.src)
		}
		if n := len(l.s) + len(r.s); n >= 1<<bytesPerStep {
			if err := e.work(x.p, n>>bytesPerStep); err != nil {
				return false, err
			}
		}
		if !collatorEqual(l.s, r.s) {
			c = 1
		}
	case l.kind == KindBool && r.kind == KindBool:
		if x.op != cmpEq && x.op != cmpNe {
			return false, e.errf(x.p, "can't use operator \""+x.opTok+"\" on boolean values: "+x.src)
		}
		if l.b != r.b {
			c = 1
		}
	default:
		return false, e.errf(x.p, "can't compare values of these types: left operand "+x.l.source()+
			" is "+article(l)+", right operand "+x.r.source()+" is "+article(r)+
			"; comparisons are allowed between two numbers, two strings or two booleans")
	}
	var res bool
	switch x.op {
	case cmpEq:
		res = c == 0
	case cmpNe:
		res = c != 0
	case cmpLt:
		res = c < 0
	case cmpLe:
		res = c <= 0
	case cmpGt:
		res = c > 0
	case cmpGe:
		res = c >= 0
	}
	return res, nil
}

type arithExpr struct {
	base
	op   byte
	l, r expr
}

func (x *arithExpr) eval(e *exec) (Value, error) {
	l, r, err := e.evalOperands(x.l, x.r)
	if err != nil {
		return Value{}, err
	}
	if l.kind == KindNumber && r.kind == KindNumber {
		if l.c != nil || r.c != nil || l.scale-r.scale > 18 || r.scale-l.scale > 18 {
			// only big operands or far apart scales can make a big result
			if err := e.numWork(x, l.num(), r.num()); err != nil {
				return Value{}, err
			}
		}
		var d dec
		ok := true
		switch x.op {
		case '+':
			d = l.num().add(r.num())
		case '-':
			d = l.num().sub(r.num())
		case '*':
			d, ok = l.num().mul(r.num())
		case '/':
			d, ok = l.num().div(r.num())
			if !ok {
				return Value{}, e.errf(x.p, "arithmetic operation failed: division by zero in "+x.src)
			}
		case '%':
			// FreeMarker takes the operands' longValue(): integral parts,
			// wrapped to 64 bits
			a, b := l.num().int64Wrap(), r.num().int64Wrap()
			if b == 0 {
				return Value{}, e.errf(x.p, "arithmetic operation failed: division by zero in "+x.src)
			}
			if b == -1 {
				d = dec{}
			} else {
				d = dec{u: a % b}
			}
		}
		if !ok {
			return Value{}, e.errf(x.p, "arithmetic result out of range in "+x.src)
		}
		return numValue(d, flavorBig), nil
	}
	if x.op != '+' {
		side, v := x.l, l
		if l.kind == KindNumber {
			side, v = x.r, r
		}
		return Value{}, e.typeErr(side, "For \""+string(x.op)+"\" operand", "a number", v)
	}
	if (l.kind == KindSeq || l.kind == KindHash) && l.kind == r.kind {
		// concatenated collections count against the output bound, an item
		// as 16 bytes, so that doubling in a loop cannot exhaust memory
		if err := e.charge(x.p, 16*(l.Len()+r.Len())); err != nil {
			return Value{}, err
		}
	}
	switch {
	case l.kind == KindSeq && r.kind == KindSeq:
		items := make([]Value, 0, l.Len()+r.Len())
		items = append(append(items, l.c.vals...), r.c.vals...)
		return Seq(items...), nil
	case l.kind == KindHash && r.kind == KindHash:
		var keys []string
		var vals []Value
		for _, h := range []Value{l, r} {
			_ = hashEntries(h, func(k string, v Value) error {
				keys = append(keys, k)
				vals = append(vals, v)
				return nil
			})
		}
		return NewHash(keys, vals), nil
	}
	ls, err := e.toText(x.l, l, "For \"+\" left operand")
	if err != nil {
		return Value{}, err
	}
	rs, err := e.toText(x.r, r, "For \"+\" right operand")
	if err != nil {
		return Value{}, err
	}
	if err := e.charge(x.p, len(ls)+len(rs)); err != nil {
		return Value{}, err
	}
	return String(ls + rs), nil
}

type callExpr struct {
	base
	x    expr
	args []expr
}

func (x *callExpr) eval(e *exec) (Value, error) {
	v, err := e.evalDefined(x.x)
	if err != nil {
		return Value{}, err
	}
	return Value{}, e.typeErr(x.x, "For \"(...)\" call", "a method or function", v)
}

type strInterpExpr struct {
	base
	parts []expr
}

func (x *strInterpExpr) eval(e *exec) (Value, error) {
	var sb strings.Builder
	for _, p := range x.parts {
		v, err := p.eval(e)
		if err != nil {
			return Value{}, err
		}
		sb.WriteString(v.s)
	}
	if err := e.charge(x.p, sb.Len()); err != nil {
		return Value{}, err
	}
	return String(sb.String()), nil
}

// interpPart is a ${...} inside a string literal.
type interpPart struct {
	base
	x expr
}

func (x *interpPart) eval(e *exec) (Value, error) {
	v, err := x.x.eval(e)
	if err != nil {
		return Value{}, err
	}
	s, err := e.interpText(x.x, v)
	return String(s), err
}

type seqLitExpr struct {
	base
	items []expr
}

func (x *seqLitExpr) eval(e *exec) (Value, error) {
	vals := make([]Value, len(x.items))
	for i, it := range x.items {
		v, err := e.evalDefined(it)
		if err != nil {
			return Value{}, err
		}
		vals[i] = v
	}
	return Seq(vals...), nil
}

type hashLitExpr struct {
	base
	keys, vals []expr
}

func (x *hashLitExpr) eval(e *exec) (Value, error) {
	keys := make([]string, len(x.keys))
	vals := make([]Value, len(x.vals))
	for i := range x.keys {
		k, err := e.evalDefined(x.keys[i])
		if err != nil {
			return Value{}, err
		}
		if k.kind != KindString {
			return Value{}, e.typeErr(x.keys[i], "For hash literal key", "a string", k)
		}
		v, err := e.evalDefined(x.vals[i])
		if err != nil {
			return Value{}, err
		}
		keys[i], vals[i] = k.s, v
	}
	return NewHash(keys, vals), nil
}

// collatorEqual is string equality as FreeMarker decides it: through the
// en_US java.text.Collator at its default strength. Case and accents
// matter; what Java's collator ignores was measured against the oracle:
// the zero-width characters U+200B..U+200F anywhere, and a run of C0/C1
// control characters (other than tab and line breaks) at the end.
func collatorEqual(a, b string) bool {
	// small enough to be inlined: equal strings are equal without more
	return a == b || collatorEqualSlow(a, b)
}

func collatorEqualSlow(a, b string) bool {
	if !mayIgnore(a) && !mayIgnore(b) {
		return false
	}
	return collationKey(a) == collationKey(b)
}

// mayIgnore reports whether s could hold a character the collator
// ignores: a C0 control, a C1 control (UTF-8 lead byte 0xC2) or U+200x
// (lead bytes 0xE2 0x80).
func mayIgnore(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == 0xc2 || c == 0xe2 {
			return true
		}
	}
	return false
}

func collationKey(s string) string {
	if strings.ContainsRune(s, 0x200b) || strings.ContainsRune(s, 0x200c) || strings.ContainsRune(s, 0x200d) ||
		strings.ContainsRune(s, 0x200e) || strings.ContainsRune(s, 0x200f) {
		s = strings.Map(func(r rune) rune {
			if r >= 0x200b && r <= 0x200f {
				return -1
			}
			return r
		}, s)
	}
	return strings.TrimRightFunc(s, func(r rune) bool {
		return r <= 0x08 || r >= 0x0e && r <= 0x1f || r >= 0x7f && r <= 0x9f
	})
}
