package template

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/sprig/v3"
)

// Sprig functions are called as sprig.NAME(args...). They are resolved at
// parse time; a call converts its arguments to the Go types the function
// declares and converts the result back (see convertArg and fromGo).
// Sprig dispatches through reflection, so these calls are the one place
// reflection is used while executing; templates that do not call Sprig
// never touch it.

// sprigDenied are functions a sandboxed template must not reach: process
// environment, network, and functions whose cost an argument can make
// unbounded.
var sprigDenied = map[string]string{
	"env":                      "reads the process environment",
	"expandenv":                "reads the process environment",
	"getHostByName":            "does network I/O",
	"genPrivateKey":            "is too expensive for a postback",
	"genCA":                    "is too expensive for a postback",
	"genCAWithKey":             "is too expensive for a postback",
	"genSelfSignedCert":        "is too expensive for a postback",
	"genSelfSignedCertWithKey": "is too expensive for a postback",
	"genSignedCert":            "is too expensive for a postback",
	"genSignedCertWithKey":     "is too expensive for a postback",
	"buildCustomCert":          "is too expensive for a postback",
	"derivePassword":           "is too expensive for a postback",
	"htpasswd":                 "is too expensive for a postback",
	"bcrypt":                   "is too expensive for a postback",
}

// sprigSizeArgs are functions whose integer arguments size their result;
// those arguments are capped at maxSprigSize.
var sprigSizeArgs = map[string]bool{
	"repeat": true, "until": true, "untilStep": true, "seq": true, "randAlpha": true,
	"randAlphaNum": true, "randAscii": true, "randNumeric": true, "randBytes": true,
	"randInt": false, "abbrev": true, "abbrevboth": true, "wrap": true, "wrapWith": true,
	"indent": true, "nindent": true, "trunc": false,
}

const maxSprigSize = 10000

// A Sprig call's arguments are bounded in size (maxSprigInput: bytes of
// text plus a unit per element, sequences and hashes walked with shared
// parts counted each time they are reached), and so, for the functions
// whose result can outgrow their input by more than a small factor
// (sprigResultBound), is the result (maxSprigResult), before the call
// runs: a template must not be able to make the process allocate
// gigabytes through one call.
const (
	maxSprigInput  = 64 << 10
	maxSprigResult = 1 << 20
)

var sprigFuncs = sync.OnceValue(func() map[string]reflect.Value {
	fm := sprig.TxtFuncMap()
	for name, f := range sprigOverrides(fm) {
		fm[name] = f
	}
	m := map[string]reflect.Value{}
	for name, f := range fm {
		if _, denied := sprigDenied[name]; denied {
			continue
		}
		m[name] = reflect.ValueOf(f)
	}
	return m
})

// sprigOverrides are adgate's changes to Sprig's function map. Templates
// run in UTC (as FreeMarker is configured), so the functions Sprig writes
// against the host's local zone use UTC instead; md5sum completes Sprig's
// sha1sum/sha256sum, since partners ask for MD5-hashed device ids.
func sprigOverrides(fm map[string]any) map[string]any {
	inZone := fm["dateInZone"].(func(string, any, string) string)
	return map[string]any{
		"date":     func(layout string, d any) string { return inZone(layout, d, "UTC") },
		"htmlDate": func(d any) string { return inZone("2006-01-02", d, "UTC") },
		"toDate": func(layout, s string) time.Time {
			t, _ := time.ParseInLocation(layout, s, time.UTC)
			return t
		},
		"mustToDate": func(layout, s string) (time.Time, error) {
			return time.ParseInLocation(layout, s, time.UTC)
		},
		"md5sum": func(s string) string {
			sum := md5.Sum([]byte(s))
			return hex.EncodeToString(sum[:])
		},
	}
}

type sprigExpr struct {
	base
	name string
	fn   reflect.Value
	args []expr
}

func (p *parser) parseSprig(t token) (expr, error) {
	if d, ok := p.isOp("."); !ok {
		return nil, p.errAt(d.pos, RuleSyntax, "sprig is the Sprig function namespace: call a function as sprig.NAME(args)")
	}
	p.next()
	n := p.next()
	if n.kind != tIdent {
		return nil, p.expected(n, "a Sprig function name after \"sprig.\"")
	}
	if why, ok := sprigDenied[n.val]; ok {
		return nil, p.errAt(n.pos, RuleBlocked, "Sprig function "+n.val+" is not available in templates: it "+why)
	}
	fn, ok := sprigFuncs()[n.val]
	if !ok {
		return nil, p.errAt(n.pos, RuleSyntax, "unknown Sprig function "+strconv.Quote(n.val))
	}
	if o, ok := p.isOp("("); !ok {
		return nil, p.expected(o, "\"(\" after sprig."+n.val+": Sprig functions are called as sprig."+n.val+"(...)")
	}
	p.next()
	args, err := p.parseArgs(")")
	if err != nil {
		return nil, err
	}
	ft := fn.Type()
	nin := ft.NumIn()
	if ft.IsVariadic() {
		if len(args) < nin-1 {
			return nil, p.errAt(n.pos, RuleSyntax, "sprig."+n.val+" needs at least "+itoa(nin-1)+" arguments, got "+itoa(len(args)))
		}
	} else if len(args) != nin {
		return nil, p.errAt(n.pos, RuleSyntax, "sprig."+n.val+" takes "+itoa(nin)+" arguments, got "+itoa(len(args)))
	}
	return &sprigExpr{base: base{t.pos, p.srcFrom(t.off)}, name: n.val, fn: fn, args: args}, nil
}

func (x *sprigExpr) eval(e *exec) (v Value, err error) {
	if err := e.step(x.p); err != nil {
		return Value{}, err
	}
	ft := x.fn.Type()
	in := make([]reflect.Value, len(x.args))
	inputSize := 0
	for i, a := range x.args {
		av, err := a.eval(e)
		if err != nil {
			return Value{}, err
		}
		if av.kind == KindMissing {
			return Value{}, e.undef(a)
		}
		if inputSize += valueSize(av, maxSprigInput-inputSize); inputSize > maxSprigInput {
			return Value{}, e.limitErr(a.pos(), "sprig."+x.name+" arguments are larger than "+itoa(maxSprigInput)+" bytes")
		}
		var pt reflect.Type
		if ft.IsVariadic() && i >= ft.NumIn()-1 {
			pt = ft.In(ft.NumIn() - 1).Elem()
		} else {
			pt = ft.In(i)
		}
		rv, cerr := convertArg(av, pt)
		if cerr != nil {
			return Value{}, e.errf(a.pos(), "sprig."+x.name+" argument #"+itoa(i+1)+": "+cerr.Error())
		}
		if sprigSizeArgs[x.name] && rv.CanInt() && (rv.Int() > maxSprigSize || rv.Int() < -maxSprigSize) {
			return Value{}, e.limitErr(a.pos(), "sprig."+x.name+" argument #"+itoa(i+1)+" is larger than "+itoa(maxSprigSize))
		}
		in[i] = rv
	}
	if n, ok := sprigResultBound(x.name, in); ok && n > maxSprigResult {
		return Value{}, e.limitErr(x.p, "sprig."+x.name+" would build a result larger than "+itoa(maxSprigResult)+" bytes")
	}
	// the call reads its arguments: charged by their size before it runs
	// (the result is charged after); a regex costs what matching it does
	work := inputSize >> bytesPerStep
	if regexFuncs[x.name] {
		n, err := regexWork(in[0].String(), len(in[1].String()))
		if err != nil {
			return Value{}, e.limitErr(x.args[0].pos(), "sprig."+x.name+": "+err.Error())
		}
		work += n
	}
	if err := e.work(x.p, work); err != nil {
		return Value{}, err
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = Value{}, e.errf(x.p, "sprig."+x.name+" failed: "+fmt.Sprint(r))
		}
	}()
	out := x.fn.Call(in)
	if len(out) == 2 && !out[1].IsNil() {
		return Value{}, e.errf(x.p, "sprig."+x.name+" failed: "+out[1].Interface().(error).Error())
	}
	if len(out) == 0 {
		return Value{}, nil
	}
	res, cerr := fromGo(out[0].Interface(), 0)
	if cerr != nil {
		return Value{}, e.errf(x.p, "sprig."+x.name+": "+cerr.Error())
	}
	if s, ok := res.AsString(); ok {
		if err := e.charge(x.p, len(s)); err != nil {
			return Value{}, err
		}
	} else if err := e.work(x.p, valueSize(res, maxSprigResult)>>bytesPerStep); err != nil {
		// a list or dict result (sprig.until(10000)) is work to build too
		return Value{}, err
	}
	return res, nil
}

// regexFuncs are the Sprig functions that compile their first argument
// as a regular expression and match it against their second.
var regexFuncs = map[string]bool{
	"regexMatch": true, "mustRegexMatch": true, "regexFindAll": true, "mustRegexFindAll": true,
	"regexFind": true, "mustRegexFind": true, "regexReplaceAll": true, "mustRegexReplaceAll": true,
	"regexReplaceAllLiteral": true, "mustRegexReplaceAllLiteral": true, "regexSplit": true, "mustRegexSplit": true,
}

// Regex bounds. Go's regexp matches in time linear in the text, but the
// factor is the size of the compiled program (every instruction may be a
// live thread at every byte), and compiling grows with the pattern: an
// 8,000-character pattern matched against 50 KB took seconds. Real
// patterns are a few dozen characters.
const (
	maxRegexBytes = 1024
	maxRegexInsts = 2000
	// regexUnitsPerStep: matching costs a step per this many (text byte,
	// program instruction) pairs, the pike VM's worst case.
	regexUnitsPerStep = 64
)

// regexWork checks a pattern against the regex bounds and returns the
// steps matching it against a text of textLen bytes may cost. A pattern
// that does not compile is left to Sprig to report.
func regexWork(pattern string, textLen int) (int, error) {
	if len(pattern) > maxRegexBytes {
		return 0, fmt.Errorf("the regular expression is longer than %d bytes; use a shorter pattern", maxRegexBytes)
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, nil
	}
	if len(prog.Inst) > maxRegexInsts {
		return 0, fmt.Errorf("the regular expression compiles to %d instructions, more than %d; simplify it", len(prog.Inst), maxRegexInsts)
	}
	return (textLen + 1) * len(prog.Inst) / regexUnitsPerStep, nil
}

// valueSize measures a value as maxSprigInput counts it, stopping once
// past budget so that a sequence holding itself many times over costs
// no more than budget to measure.
func valueSize(v Value, budget int) int {
	switch v.kind {
	case KindString:
		return len(v.s)
	case KindNumber:
		return 20
	case KindSeq, KindHash:
		n := 1
		for i, x := range v.c.vals {
			if n > budget {
				break
			}
			if v.kind == KindHash {
				n += len(v.c.keys[i])
			}
			n += 1 + valueSize(x, budget-n)
		}
		return n
	}
	return 1
}

// sprigResultBound gives an upper bound of the result size of the Sprig
// functions that can amplify their input: repetition, replacement (each
// match may become a long text), per-line or per-word insertion, joining
// many items with a long separator. Other functions build results
// within a small factor of their (bounded) input.
func sprigResultBound(name string, in []reflect.Value) (int, bool) {
	str := func(i int) int {
		if i < len(in) && in[i].Kind() == reflect.String {
			return len(in[i].String())
		}
		return 0
	}
	num := func(i int) int {
		if i < len(in) && in[i].CanInt() {
			return max(int(in[i].Int()), 0)
		}
		return 0
	}
	switch name {
	case "repeat": // repeat(count, s)
		return num(0) * str(1), true
	case "replace": // replace(old, new, s)
		matches := str(2) + 1
		if str(0) > 0 {
			matches = str(2)/str(0) + 1
		}
		return str(2) + matches*str(1), true
	case "regexReplaceAllLiteral", "mustRegexReplaceAllLiteral": // (regex, s, repl)
		return str(1) + (str(1)+1)*str(2), true
	case "regexReplaceAll", "mustRegexReplaceAll": // (regex, s, repl); $n expands to a match
		refs := strings.Count(in[2].String(), "$")
		return str(1) + (str(1)+1)*(str(2)+refs*str(1)), true
	case "indent", "nindent": // (spaces, s)
		return str(1) + (strings.Count(in[1].String(), "\n")+2)*num(0), true
	case "wrapWith": // (width, sep, s)
		return str(2) * (str(1) + 1), true
	case "join": // (sep, list)
		items := 1
		if len(in) > 1 && in[1].Kind() == reflect.Slice { // convertArg gives the list as a slice
			items = in[1].Len()
		}
		return maxSprigInput + items*str(0), true
	}
	return 0, false
}

var (
	anyType  = reflect.TypeOf((*any)(nil)).Elem()
	timeType = reflect.TypeOf(time.Time{})
)

// toTime reads a time argument: a number is seconds since the Unix epoch,
// a string is RFC 3339 (what a Sprig function returning a time gives, see
// fromGo).
func toTime(v Value) (time.Time, error) {
	switch v.kind {
	case KindNumber:
		return time.Unix(v.num().toInt64(), 0).UTC(), nil
	case KindString:
		t, err := time.Parse(time.RFC3339Nano, v.s)
		if err != nil {
			return time.Time{}, fmt.Errorf("expected a time (RFC 3339 text or Unix seconds), got %q", v.s)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expected a time (RFC 3339 text or Unix seconds), got %s", article(v))
}

// convertArg converts a template value to the parameter type of a Sprig
// function: strings, numbers and booleans to the basic kinds (a number to
// a string in the "computer" format), sequences to slices, hashes to
// map[string]any. For an interface parameter a number becomes an int64
// when integral and in range, a float64 otherwise.
func convertArg(v Value, t reflect.Type) (reflect.Value, error) {
	if t == timeType {
		tm, err := toTime(v)
		if err != nil {
			return reflect.Value{}, err
		}
		return reflect.ValueOf(tm), nil
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := v.AsString()
		if !ok {
			return reflect.Value{}, fmt.Errorf("expected a string, got %s", article(v))
		}
		return reflect.ValueOf(s).Convert(t), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.kind != KindNumber {
			return reflect.Value{}, fmt.Errorf("expected a number, got %s", article(v))
		}
		r := reflect.New(t).Elem()
		r.SetInt(v.num().toInt64())
		return r, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.kind != KindNumber || v.num().sign() < 0 {
			return reflect.Value{}, fmt.Errorf("expected a non-negative number, got %s", article(v))
		}
		r := reflect.New(t).Elem()
		r.SetUint(uint64(v.num().toInt64()))
		return r, nil
	case reflect.Float32, reflect.Float64:
		if v.kind != KindNumber {
			return reflect.Value{}, fmt.Errorf("expected a number, got %s", article(v))
		}
		f, _ := strconv.ParseFloat(v.num().plain(), 64)
		r := reflect.New(t).Elem()
		r.SetFloat(f)
		return r, nil
	case reflect.Bool:
		if v.kind != KindBool {
			return reflect.Value{}, fmt.Errorf("expected a boolean, got %s", article(v))
		}
		return reflect.ValueOf(v.b).Convert(t), nil
	case reflect.Slice:
		if v.kind != KindSeq {
			return reflect.Value{}, fmt.Errorf("expected a sequence, got %s", article(v))
		}
		r := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			x, err := convertArg(v.c.vals[i], t.Elem())
			if err != nil {
				return reflect.Value{}, err
			}
			r.Index(i).Set(x)
		}
		return r, nil
	case reflect.Map:
		if v.kind != KindHash || t.Key().Kind() != reflect.String {
			return reflect.Value{}, fmt.Errorf("expected a hash, got %s", article(v))
		}
		r := reflect.MakeMapWithSize(t, v.Len())
		for i, k := range v.c.keys {
			x, err := convertArg(v.c.vals[i], t.Elem())
			if err != nil {
				return reflect.Value{}, err
			}
			r.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), x)
		}
		return r, nil
	case reflect.Interface:
		if !anyType.Implements(t) && t != anyType {
			return reflect.Value{}, fmt.Errorf("unsupported parameter type %s", t)
		}
		g := toGo(v)
		if g == nil {
			return reflect.Zero(t), nil
		}
		return reflect.ValueOf(g), nil
	}
	return reflect.Value{}, fmt.Errorf("unsupported parameter type %s", t)
}

func toGo(v Value) any {
	switch v.kind {
	case KindString:
		return v.s
	case KindBool:
		return v.b
	case KindNumber:
		if v.num().isIntegral() {
			d := v.num().setScale(0, roundDown)
			if d.b == nil {
				return d.u
			}
		}
		f, _ := strconv.ParseFloat(v.num().plain(), 64)
		return f
	case KindSeq:
		out := make([]any, v.Len())
		for i, x := range v.c.vals {
			out[i] = toGo(x)
		}
		return out
	case KindHash:
		out := make(map[string]any, v.Len())
		for i, k := range v.c.keys {
			out[k] = toGo(v.c.vals[i])
		}
		return out
	}
	return nil
}

// fromGo converts a Sprig result back to a template value. Maps become
// hashes with sorted keys, since Go maps have no order.
func fromGo(x any, depth int) (Value, error) {
	if depth > maxJSONMapDepth {
		return Value{}, fmt.Errorf("result nested too deep")
	}
	switch t := x.(type) {
	case nil:
		return Value{}, nil
	case string:
		return String(t), nil
	case bool:
		return Bool(t), nil
	case []byte:
		return String(string(t)), nil
	case int:
		return Int(int64(t)), nil
	case int64:
		return Int(t), nil
	case int32:
		return Int(int64(t)), nil
	case uint32:
		return Int(int64(t)), nil
	case uint64:
		if t > math.MaxInt64 {
			return Number(strconv.FormatUint(t, 10))
		}
		return Int(int64(t)), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return Value{}, fmt.Errorf("result is not a finite number")
		}
		v, err := Number(strconv.FormatFloat(t, 'f', -1, 64))
		if err != nil {
			return Value{}, err
		}
		return numValue(v.num().asDouble(), flavorDouble), nil
	case time.Time:
		return String(t.UTC().Format(time.RFC3339Nano)), nil
	case []int:
		out := make([]Value, len(t))
		for i, n := range t {
			out[i] = Int(int64(n))
		}
		return Seq(out...), nil
	case []string:
		out := make([]Value, len(t))
		for i, s := range t {
			out[i] = String(s)
		}
		return Seq(out...), nil
	case []any:
		out := make([]Value, len(t))
		for i, s := range t {
			v, err := fromGo(s, depth+1)
			if err != nil {
				return Value{}, err
			}
			out[i] = v
		}
		return Seq(out...), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]Value, len(keys))
		for i, k := range keys {
			v, err := fromGo(t[k], depth+1)
			if err != nil {
				return Value{}, err
			}
			vals[i] = v
		}
		return NewHash(keys, vals), nil
	case fmt.Stringer:
		return String(t.String()), nil
	}
	return Value{}, fmt.Errorf("unsupported result type %T", x)
}
