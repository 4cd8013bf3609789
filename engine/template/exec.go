package template

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// flavorMultiEmpty marks the value of (missing)! with no right-hand side:
// FreeMarker's empty string that is at the same time an empty sequence and
// an empty hash.
const flavorMultiEmpty numFlavor = 3

var multiEmpty = Value{kind: KindString, fl: flavorMultiEmpty}

// flavorNothing marks what ?if_exists gives for a missing value:
// FreeMarker's "nothing", which is the empty string, an empty sequence, an
// empty hash and the boolean false all at once.
const flavorNothing numFlavor = 4

var nothing = Value{kind: KindString, fl: flavorNothing}

func (v Value) isMultiEmpty() bool {
	return v.kind == KindString && (v.fl == flavorMultiEmpty || v.fl == flavorNothing)
}

func (v Value) isNothing() bool { return v.kind == KindString && v.fl == flavorNothing }

type binding struct {
	name string
	v    Value
}

type loopFrame struct {
	hasNext bool
}

// exec is the state of one execution; a Template never changes.
type exec struct {
	t    *Template
	root Value
	vars []binding
	out  outBuf
	// outBase is where the body being rendered in place starts (see
	// outBuf): output bounds apply to the body alone, as they would to a
	// body rendered apart.
	outBase  int
	opt      ExecOptions
	maxOut   int
	steps    int
	maxSteps int
	// check is the step count at which step and work next leave their
	// fast path to test the step bound and the deadline (see slowCheck).
	check   int
	maxDur  time.Duration
	started time.Time   // when the deadline clock started; zero until then
	loops   []loopFrame // running <@loop>s
	iters   []iterFrame // running <#list>s

	scratch []byte // reused encoding buffer
	// macro receives ExecOptions.Macro's writes, which are then copied to
	// the output; kept between executions while small
	macro strings.Builder

	hidesKnown uint8 // bit per userKind: rootHidden has that kind's answer
	rootHidden uint8 // bit per userKind: the data model hides that directive

	// memo holds the values of the template's variable paths (see
	// dotExpr.slot); memo[i] is current when memoGen[i] == gen, and gen
	// changes with every execution (it is never 0).
	memo    []Value
	memoGen []uint32
	gen     uint32
	// guess[i] is where path i's last key was found in its hash at the
	// last lookup (see compound.lookupAt); kept from one execution to
	// the next, since it is only ever checked, never trusted.
	guess []int32
	// forgot is the last variable forget was called for, and the memo
	// slots of its paths
	forgot struct {
		set   bool
		name  string
		slots []int32
	}
}

// forget invalidates the memo of the paths starting at variable name,
// which was just bound or unbound.
func (e *exec) forget(name string) {
	// a loop binds the same name at every item: the last name's slots
	// are kept, which spares a map lookup per item
	if !e.forgot.set || name != e.forgot.name {
		e.forgot.set, e.forgot.name, e.forgot.slots = true, name, e.t.pathsOf[name]
	}
	for _, s := range e.forgot.slots {
		e.memoGen[s] = 0
	}
}

// maxKeptMacroBytes bounds the macro buffer an execution state keeps for
// the next execution.
const maxKeptMacroBytes = 1 << 10

// errBreak unwinds from <@break/> to the innermost <@loop>.
var errBreak = errors.New("<@break/> used outside of <@loop>")

func (t *Template) newExec(root Value, opt *ExecOptions) *exec {
	e, _ := t.execs.Get().(*exec)
	if e == nil {
		e = &exec{t: t}
	}
	e.root = root
	if n := e.t.npaths; len(e.memo) < n {
		e.memo, e.memoGen, e.guess = make([]Value, n), make([]uint32, n), make([]int32, n)
	}
	if e.gen++; e.gen == 0 { // wrapped: old stamps could match again
		clear(e.memoGen)
		e.gen = 1
	}
	if opt != nil {
		e.opt = *opt
	}
	e.maxOut = e.opt.MaxOutput
	if e.maxOut <= 0 {
		e.maxOut = DefaultMaxOutput
	}
	e.maxSteps = e.opt.MaxSteps
	if e.maxSteps <= 0 {
		e.maxSteps = DefaultMaxSteps
	}
	e.maxDur = e.opt.MaxDuration
	if e.maxDur == 0 {
		e.maxDur = DefaultMaxDuration
	}
	e.check = min(clockEvery, e.maxSteps)
	e.out.b = make([]byte, 0, min(t.sizeHint, e.maxOut))
	return e
}

// release returns the state to its template's pool, dropping every
// reference to the data model and the output.
func (e *exec) release() {
	clear(e.vars)
	e.vars = e.vars[:0]
	clear(e.memo)
	e.loops = e.loops[:0]
	clear(e.iters)
	e.iters = e.iters[:0]
	// the name may come from the data model (<@loop val=...>)
	e.forgot.set, e.forgot.name, e.forgot.slots = false, "", nil
	e.root, e.opt, e.out, e.outBase = Value{}, ExecOptions{}, outBuf{}, 0
	if e.macro.Len() > maxKeptMacroBytes {
		e.macro = strings.Builder{}
	}
	e.steps, e.check, e.started, e.hidesKnown, e.rootHidden = 0, 0, time.Time{}, 0, 0
	e.t.execs.Put(e)
}

func (e *exec) run() error {
	err := e.execList(e.t.root)
	switch err {
	case errBreak:
		return &Error{Name: e.t.name, Rule: RuleEval, Msg: "<@break/> used outside of <@loop>"}
	case errListBreak, errListContinue:
		// the parser keeps them inside a listing; a copy with the name
		// keeps the shared signal unchanged
		c := *err.(*Error)
		c.Name = e.t.name
		return &c
	}
	return err
}

// isUndef reports failures FreeMarker raises as InvalidReferenceException,
// the kind a parenthesised operand of ! or ?? swallows.
func isUndef(err error) bool {
	e, ok := err.(*Error)
	return ok && e.undef
}

func (e *exec) errf(p position, msg string) error {
	return &Error{Name: e.t.name, Line: int(p.Line), Col: int(p.Col), Rule: RuleEval, Msg: msg}
}

// outputErr reports output beyond MaxOutput; apart, so that write is
// small enough to be inlined.
func (e *exec) outputErr(p position) error {
	return e.limitErr(p, "template output exceeds the limit of "+itoa(e.maxOut)+" bytes")
}

func (e *exec) limitErr(p position, msg string) error {
	return &Error{Name: e.t.name, Line: int(p.Line), Col: int(p.Col), Rule: RuleLimit, Msg: msg}
}

// evalDefined evaluates x and reports a missing value as FreeMarker's
// undefined-value error: what an operand of an operator must be.
func (e *exec) evalDefined(x expr) (Value, error) {
	v, err := x.eval(e)
	if err != nil {
		return Value{}, err
	}
	if v.kind == KindMissing {
		return Value{}, e.undef(x)
	}
	return v, nil
}

// evalOperands evaluates the two operands of a binary operator, left
// first, both required to be defined.
func (e *exec) evalOperands(l, r expr) (Value, Value, error) {
	lv, err := e.evalDefined(l)
	if err != nil {
		return Value{}, Value{}, err
	}
	rv, err := e.evalDefined(r)
	if err != nil {
		return Value{}, Value{}, err
	}
	return lv, rv, nil
}

func (e *exec) undef(x expr) error {
	src := x.source()
	guarded := src
	if _, ok := x.(*parenExpr); !ok {
		guarded = "(" + src + ")"
	}
	return &Error{Name: e.t.name, Line: int(x.pos().Line), Col: int(x.pos().Col), Rule: RuleEval, undef: true,
		Msg: src + " is missing (undefined or null); write " + guarded + "! or " + guarded +
			"!\"default\" to allow that"}
}

func article(v Value) string {
	switch v.kind {
	case KindHash:
		return "a hash"
	case KindSeq:
		return "a sequence"
	case KindMissing:
		return "missing"
	case KindBool:
		return "a boolean"
	case KindNumber:
		return "a number"
	}
	return "a string"
}

func (e *exec) typeErr(x expr, ctx, want string, got Value) error {
	return e.errf(x.pos(), ctx+": expected "+want+", but "+x.source()+" is "+article(got))
}

func itoa(i int) string { return strconv.Itoa(i) }

// charge counts bytes built in memory (concatenation, captures, built-in
// results) against MaxOutput, and the building as work (see work).
func (e *exec) charge(p position, n int) error {
	if n > e.maxOut {
		return e.outputErr(p)
	}
	return e.work(p, n>>bytesPerStep)
}

// bytesPerStep: touching 2^bytesPerStep bytes of text (building, scanning,
// converting) costs a step, so that a loop cannot churn gigabytes within
// the step bound. A step of plain evaluation and 256 bytes of byte-wise
// work take about the same time.
const bytesPerStep = 8

// clockEvery is how many steps run between two looks at the clock: the
// deadline costs a time.Now per clockEvery steps, and a template that
// runs fewer never reads the clock at all.
const clockEvery = 1024

// work counts steps of size-dependent work (bytes touched, digits, regex
// states) against MaxSteps.
func (e *exec) work(p position, steps int) error {
	e.steps += steps
	if e.steps > e.check {
		return e.slowCheck(p)
	}
	return nil
}

// digitsPerStep: big-number arithmetic costs a step per 64 digits of the
// numbers it builds.
const digitsPerStep = 64

// numWork refuses arithmetic whose result would exceed maxDigits, before
// computing it, and charges the rest by size.
func (e *exec) numWork(x *arithExpr, l, r dec) error {
	n := resultDigits(x.op, l, r)
	if n > maxDigits {
		return e.limitErr(x.p, "arithmetic result too large (more than "+itoa(maxDigits)+" digits) in "+x.src+
			"; the sandbox computes numbers up to that size only")
	}
	return e.work(x.p, n/digitsPerStep)
}

func (e *exec) step(p position) error {
	e.steps++
	if e.steps > e.check {
		return e.slowCheck(p)
	}
	return nil
}

// slowCheck tests the step bound and the deadline. The deadline clock
// starts at the first check rather than at Execute: the clockEvery steps
// before it are bounded work, and a short execution saves the time.Now.
func (e *exec) slowCheck(p position) error {
	if e.steps > e.maxSteps {
		return e.limitErr(p, "template execution exceeds the limit of "+itoa(e.maxSteps)+" steps")
	}
	if e.maxDur > 0 {
		started := &e.started
		if e.opt.Clock != nil {
			started = &e.opt.Clock.start
		}
		now := time.Now()
		if started.IsZero() {
			*started = now
		} else if now.Sub(*started) > e.maxDur {
			return e.limitErr(p, "template execution exceeds the time limit of "+e.maxDur.String()+
				"; simplify the template (it is stopped at the construct running when the limit hit)")
		}
	}
	e.check = min(e.steps+clockEvery, e.maxSteps)
	return nil
}

func (e *exec) write(p position, s string) error {
	if len(e.out.b)-e.outBase+len(s) > e.maxOut {
		return e.outputErr(p)
	}
	e.out.b = append(e.out.b, s...)
	return nil
}

func (e *exec) evalBool(x expr, ctx string) (bool, error) {
	switch c := x.(type) {
	case *cmpExpr:
		return c.test(e)
	case *logicExpr:
		return c.test(e)
	}
	v, err := x.eval(e)
	if err != nil {
		return false, err
	}
	switch {
	case v.kind == KindBool:
		return v.b, nil
	case v.kind == KindMissing:
		return false, e.undef(x)
	case v.isNothing():
		return false, nil
	}
	return false, e.typeErr(x, ctx, "a boolean", v)
}

// toText converts a value to text where FreeMarker converts automatically
// (concatenation, string built-ins): numbers in the "computer" format,
// booleans as true/false (boolean_format "c").
func (e *exec) toText(x expr, v Value, ctx string) (string, error) {
	switch v.kind {
	case KindString:
		return v.s, nil
	case KindNumber:
		return v.num().computer(), nil
	case KindBool:
		if v.b {
			return "true", nil
		}
		return "false", nil
	case KindMissing:
		return "", e.undef(x)
	}
	return "", e.typeErr(x, ctx, "a string, number or boolean", v)
}

func (e *exec) interpText(x expr, v Value) (string, error) {
	return e.toText(x, v, "For \"${...}\" content")
}

func (e *exec) execList(list []*stmt) error {
	for _, s := range list {
		if err := e.execStmt(s); err != nil {
			return err
		}
	}
	return nil
}

func (e *exec) execStmt(s *stmt) error {
	if err := e.step(s.begin); err != nil {
		return err
	}
	switch s.kind {
	case sText:
		return e.write(s.begin, s.text)
	case sMacro:
		if e.opt.Macro == nil {
			return nil
		}
		mark := e.macro.Len()
		if err := e.opt.Macro(&e.macro, s.name); err != nil {
			return err
		}
		e.out.WriteString(e.macro.String()[mark:])
		if e.out.Len()-e.outBase > e.maxOut {
			return e.outputErr(s.begin)
		}
		return nil
	case sInterp:
		v, err := s.x.eval(e)
		if err != nil {
			return err
		}
		if v.kind == KindString {
			return e.write(s.begin, v.s)
		}
		t, err := e.interpText(s.x, v)
		if err != nil {
			return err
		}
		return e.write(s.begin, t)
	case sHashInterp:
		v, err := s.x.eval(e)
		if err != nil {
			return err
		}
		switch v.kind {
		case KindNumber:
			return e.write(s.begin, v.num().computer())
		case KindMissing:
			return e.undef(s.x)
		}
		return e.typeErr(s.x, "For \"#{...}\" content", "a number", v)
	case sIf:
		for _, br := range s.body {
			if br.x != nil {
				ok, err := e.evalBool(br.x, "For \"#if\" condition")
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			return e.execList(br.body)
		}
		return nil
	case sAssign:
		for _, a := range s.sets {
			if err := e.assign(a); err != nil {
				return err
			}
		}
		return nil
	case sCapture:
		start, err := e.inPlace(s.body)
		if err != nil {
			return err
		}
		body := strings.Clone(e.out.tail(start))
		e.out.b = e.out.b[:start]
		e.setVar(s.name, String(body))
		return nil
	case sUser:
		return e.execUser(s)
	case sList, sListElse:
		return e.execListStmt(s)
	case sItems:
		return e.execItems(s)
	case sSep:
		return e.execSep(s)
	case sBreak:
		return errListBreak
	case sContinue:
		return errListContinue
	}
	return nil
}

// inPlace renders body at the end of the output and returns where it
// starts; the caller replaces it (see outBuf). On error the output is cut
// back to where it was.
func (e *exec) inPlace(body []*stmt) (int, error) {
	start, savedBase := e.out.Len(), e.outBase
	e.outBase = start
	err := e.execList(body)
	e.outBase = savedBase
	if err != nil {
		e.out.b = e.out.b[:start]
	}
	return start, err
}

func (e *exec) setVar(name string, v Value) {
	e.forget(name)
	for i := range e.vars {
		if e.vars[i].name == name {
			e.vars[i].v = v
			return
		}
	}
	e.vars = append(e.vars, binding{name, v})
}

func (e *exec) lookupVar(name string) (Value, bool) {
	for i := range e.vars {
		if e.vars[i].name == name {
			return e.vars[i].v, true
		}
	}
	return Value{}, false
}

func (e *exec) assign(a assignSet) error {
	if a.op == "=" {
		v, err := a.x.eval(e)
		if err != nil {
			return err
		}
		if v.kind == KindMissing {
			return e.undef(a.x)
		}
		e.setVar(a.name, v)
		return nil
	}
	cur, ok := e.lookupVar(a.name)
	if !ok {
		cur = e.root.Get(a.name)
	}
	if cur.kind == KindMissing {
		return e.errf(a.pos, "can't apply "+a.op+" to "+a.name+": it is missing")
	}
	var rhs expr
	op := a.op[:1]
	if a.op == "++" || a.op == "--" {
		rhs = &litExpr{base: base{a.pos, "1"}, v: Int(1)}
		if cur.kind != KindNumber {
			return e.errf(a.pos, "can't apply "+a.op+" to "+a.name+": it is "+article(cur))
		}
	} else {
		rhs = a.x
	}
	x := &arithExpr{base: base{a.pos, a.name + " " + a.op + " " + rhs.source()}, op: op[0],
		l: &litExpr{base: base{a.pos, a.name}, v: cur}, r: rhs}
	v, err := x.eval(e)
	if err != nil {
		return err
	}
	e.setVar(a.name, v)
	return nil
}

// utf16Len is the length Java reports for s (UTF-16 code units).
func utf16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, sz := utf8.DecodeRuneInString(s[i:])
		i += sz
		n += utf16.RuneLen(r)
	}
	return n
}

// utf16Slice returns s[from:to] in UTF-16 code units, as Java's
// substring; a surrogate pair cut in half becomes U+FFFD.
func utf16Slice(s string, from, to int) string {
	if isASCII(s) {
		return s[from:to]
	}
	u := utf16.Encode([]rune(s))
	return javaUTF16String(u[from:to])
}

// javaUTF16String converts UTF-16 units to a string the way Java's UTF-8
// encoder writes them: an unpaired surrogate becomes '?'.
func javaUTF16String(u []uint16) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		switch {
		case utf16.IsSurrogate(c) && c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000:
			b.WriteRune(utf16.DecodeRune(c, rune(u[i+1])))
			i++
		case utf16.IsSurrogate(c):
			b.WriteByte('?')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
