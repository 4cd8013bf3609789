package template

import "strconv"

// The #list family: <#list>, <#items>, <#sep>, <#else>, <#break>,
// <#continue> and the loop-variable built-ins, with FreeMarker 2.3.31's
// grammar (FTL.jj List, Items, Sep, Break, Continue) and semantics
// (IteratorBlock, Items, Sep, BuiltInsForLoopVariables).

// parseList parses <#list x [as v[, v2]]>...[<#else>...]</#list>.
func (p *parser) parseList(t token) *stmt {
	s := &stmt{kind: sList, begin: t.pos}
	x, err := p.parseExpr()
	if err == nil {
		err = p.loopVars(s, false)
	}
	if err == nil {
		_, err = p.tagEnd()
	}
	good := err == nil
	if !good {
		p.report(err)
		p.skipTag()
	}
	s.x = x
	// a #list whose tag did not parse counts as breakable, so that its
	// #break is not a second error
	breakable := s.name != "" || !good
	p.iters = append(p.iters, iterCtx{var1: s.name, var2: s.name2, hash: s.name2 != ""})
	if breakable {
		p.breakable++
	}
	p.open = append(p.open, t)
	s.body, _ = p.parseBody()
	p.open = p.open[:len(p.open)-1]
	if breakable {
		p.breakable--
	}
	c := p.iters[len(p.iters)-1]
	p.iters = p.iters[:len(p.iters)-1]
	if good && s.name == "" && !c.items {
		p.report(p.errAt(t.pos, RuleSyntax, "<#list> needs a loop variable (<#list x as item>) or an <#items as item> inside it"))
	}
	s.hash = c.hash

	out := s
	if e := p.peek(); e.kind == tDirective && e.val == "else" {
		out = &stmt{kind: sListElse, begin: t.pos, body: []*stmt{s, p.parseElseOfList(t)}}
	}
	end := p.peek()
	if closes(end, t) {
		p.next()
		s.end = position{Line: end.end.Line, Col: end.end.Col - 1}
		s.stop = end.end
	} else {
		p.report(p.unclosed(t))
		s.stop = end.pos
	}
	if out != s {
		out.end, out.stop = s.end, s.stop
	}
	if !good {
		bad := &stmt{kind: sBad, name: "#list", begin: t.pos, stop: s.stop, body: s.body}
		if out != s {
			bad.body = append(bad.body, out.body[1].body...)
		}
		if bad.body == nil {
			bad.body = []*stmt{}
		}
		return bad
	}
	return out
}

// parseElseOfList parses the #else part of the #list opened by open, up
// to its end tag, which it leaves.
func (p *parser) parseElseOfList(open token) *stmt {
	t := p.next()
	s := &stmt{kind: sElseOfList, begin: t.pos}
	tagLast, err := p.shortTagEnd()
	if err != nil {
		p.report(err)
		p.skipTag()
	}
	for {
		p.open = append(p.open, open)
		body, end := p.parseBody()
		p.open = p.open[:len(p.open)-1]
		s.body = append(s.body, body...)
		if end.kind != tDirective || end.val != "else" {
			break
		}
		p.report(p.errAt(end.pos, RuleSyntax, "a second <#else> in <#list>"))
		p.next()
		p.skipTag()
	}
	// FreeMarker places the #else part from its tag to its last child
	s.end = tagLast
	if n := len(s.body); n > 0 {
		s.end = s.body[n-1].end
	}
	s.stop = p.prevEnd()
	return s
}

// parseItems parses <#items as v[, v2]>...</#items>.
func (p *parser) parseItems(t token) *stmt {
	s := &stmt{kind: sItems, begin: t.pos}
	err := p.loopVars(s, true)
	if err == nil {
		_, err = p.tagEnd()
	}
	if err != nil {
		p.report(err)
		p.skipTag()
	}
	ci := len(p.iters) - 1
	switch {
	case err != nil:
		// an #items after all: its #list is not reported as lacking one
		if ci >= 0 {
			p.iters[ci].items = true
		}
		ci = -1
	case ci < 0:
		p.report(p.errAt(t.pos, RuleSyntax, "<#items> must be inside a <#list> block"))
	case p.iters[ci].var1 != "" && p.iters[ci].items:
		p.report(p.errAt(t.pos, RuleSyntax, "<#items> cannot be nested in an <#items> of the same <#list>"))
		ci = -1
	case p.iters[ci].var1 != "":
		p.report(p.errAt(t.pos, RuleSyntax, "the <#list> of an <#items> must not have a loop variable: write <#list x> and <#items as item>"))
		ci = -1
	default:
		c := &p.iters[ci]
		c.items, c.var1, c.var2 = true, s.name, s.name2
		c.hash = c.hash || s.name2 != ""
	}
	p.breakable++
	body, end, closed := p.block(t)
	p.breakable--
	if ci >= 0 {
		p.iters[ci].var1, p.iters[ci].var2 = "", ""
	}
	s.body = body
	if s.body == nil {
		s.body = []*stmt{}
	}
	if closed {
		s.end, s.stop = position{Line: end.end.Line, Col: end.end.Col - 1}, end.end
	} else {
		s.stop = end.pos
	}
	if err != nil {
		return &stmt{kind: sBad, name: "#items", begin: t.pos, stop: s.stop, body: s.body}
	}
	return s
}

// loopVars parses "as name[, name2]" into s; as is optional for #list.
func (p *parser) loopVars(s *stmt, required bool) error {
	if a := p.peek(); a.kind != tIdent || a.val != "as" {
		if required {
			return p.expected(a, "\"as\" and a loop variable")
		}
		return nil
	}
	p.next()
	name := func() (string, error) {
		n := p.next()
		if n.kind != tIdent || !isPlainName(n.val) || n.val == "sprig" {
			return "", p.expected(n, "a loop variable name")
		}
		return n.val, nil
	}
	var err error
	if s.name, err = name(); err != nil {
		return err
	}
	if c, ok := p.isOp(","); ok {
		p.next()
		if s.name2, err = name(); err != nil {
			return err
		}
		if s.name2 == s.name {
			return p.errAt(c.pos, RuleSyntax, "the key and value loop variables must differ, but both are "+strconv.Quote(s.name))
		}
	}
	return nil
}

// parseSep parses <#sep>, whose body ends at </#sep> or, without one,
// where the enclosing block's body ends.
func (p *parser) parseSep(t token) *stmt {
	s := &stmt{kind: sSep, begin: t.pos}
	te, err := p.tagEnd()
	if err != nil {
		p.report(err)
		p.skipTag()
	} else if len(p.iters) == 0 {
		p.report(p.errAt(t.pos, RuleSyntax, "<#sep> must be inside a <#list> block"))
	}
	p.open = append(p.open, t)
	body, end := p.parseBody()
	p.open = p.open[:len(p.open)-1]
	s.body = body
	if s.body == nil {
		s.body = []*stmt{}
	}
	if end.kind == tEndDir && end.val == "sep" {
		p.next()
		s.end, s.stop = position{Line: end.end.Line, Col: end.end.Col - 1}, end.end
		return s
	}
	// without </#sep>, FreeMarker places it from its tag to its last child
	s.end, s.stop = te.pos, p.prevEnd()
	if n := len(body); n > 0 {
		s.end = body[n-1].end
	}
	return s
}

// parseBreak parses <#break> and <#continue>.
func (p *parser) parseBreak(t token) *stmt {
	s := &stmt{kind: sBreak, begin: t.pos}
	if t.val == "continue" {
		s.kind = sContinue
	}
	last, err := p.shortTagEnd()
	if err != nil {
		p.report(err)
		p.skipTag()
	} else if p.breakable < 1 {
		p.report(p.errAt(t.pos, RuleSyntax, "<#"+t.val+"> must be inside a <#list> with a loop variable or an <#items>"))
	}
	s.end, s.stop = last, p.prevEnd()
	return s
}

// shortTagEnd consumes the end of a tag that takes no parameters, > or
// />, and returns the position of its last character.
func (p *parser) shortTagEnd() (position, error) {
	t := p.peek()
	switch t.kind {
	case tTagEnd:
		p.next()
		return t.pos, nil
	case tEmptyTagEnd:
		p.next()
		return position{Line: t.pos.Line, Col: t.pos.Col + 1}, nil
	}
	return t.pos, p.expected(t, "\">\"")
}

// loopBuiltinNames are FreeMarker's built-ins of loop variables.
var loopBuiltinNames = map[string]bool{
	"index": true, "counter": true, "has_next": true, "is_first": true, "is_last": true,
	"item_parity": true, "item_parity_cap": true, "is_odd_item": true, "is_even_item": true,
	"item_cycle": true,
}

// parseLoopBuiltin parses x?name for a loop-variable built-in: x must
// name a loop variable in scope, as FreeMarker's parser requires.
func (p *parser) parseLoopBuiltin(x expr, start, n token) (expr, error) {
	id, ok := x.(*identExpr)
	if !ok {
		return nil, p.errAt(x.pos(), RuleSyntax, "the left-hand operand of ?"+n.val+" must be a loop variable name")
	}
	found := false
	for i := len(p.iters) - 1; i >= 0 && !found; i-- {
		found = id.name == p.iters[i].var1 || id.name == p.iters[i].var2
	}
	if !found {
		return nil, p.errAt(x.pos(), RuleSyntax, "the left-hand operand of ?"+n.val+" must be a loop variable, "+
			"but no <#list> or <#items> in scope binds "+strconv.Quote(id.name))
	}
	b := &loopBuiltinExpr{name: n.val, v: id.name}
	if n.val == "item_cycle" {
		o, ok := p.isOp("(")
		if !ok {
			return nil, p.errAt(o.pos, RuleSyntax, "?item_cycle needs arguments: ?item_cycle(a, b, ...)")
		}
		p.next()
		args, err := p.parseArgs(")")
		if err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return nil, p.errAt(o.pos, RuleSyntax, "?item_cycle needs at least 1 argument")
		}
		b.args = args
	}
	b.base = base{start.pos, p.srcFrom(start.off)}
	return b, nil
}

// iterFrame is a running #list: FreeMarker's IterationContext.
type iterFrame struct {
	// var1 and var2 are the loop variables: the #list's, or the running
	// #items'; visible while the body of an iteration runs
	var1, var2 string
	visible    bool
	v1, v2     Value
	index      int
	hasNext    bool
	entered    bool // an #items ran
	listed     Value
	hash       bool
}

// Signals of #break and #continue, unwinding to the innermost listing.
var (
	errListBreak    = &Error{Rule: RuleEval, Msg: "<#break> outside of <#list>"}
	errListContinue = &Error{Rule: RuleEval, Msg: "<#continue> outside of <#list>"}
)

// loopVar looks name up among the visible loop variables, innermost
// first. A null item is not found, as FreeMarker falls back to the outer
// scopes then.
func (e *exec) loopVar(name string) (Value, bool) {
	for i := len(e.iters) - 1; i >= 0; i-- {
		f := &e.iters[i]
		if !f.visible {
			continue
		}
		if name == f.var1 {
			if f.v1.kind != KindMissing {
				return f.v1, true
			}
		} else if len(name) > len(f.var1) && name[:len(f.var1)] == f.var1 {
			// FreeMarker's legacy loop variables, x_index and x_has_next
			switch name[len(f.var1):] {
			case "_index":
				return Int(int64(f.index)), true
			case "_has_next":
				return Bool(f.hasNext), true
			}
		}
		if name == f.var2 && f.v2.kind != KindMissing {
			return f.v2, true
		}
	}
	return Value{}, false
}

// execListStmt runs a #list, and its #else part when it lists nothing.
func (e *exec) execListStmt(s *stmt) error {
	if s.kind == sListElse {
		ran, err := e.execListing(s.body[0])
		if err != nil || ran {
			return err
		}
		return e.execList(s.body[1].body)
	}
	_, err := e.execListing(s)
	return err
}

// execListing runs the listing s and reports whether the listed value
// had items.
func (e *exec) execListing(s *stmt) (bool, error) {
	v, err := s.x.eval(e)
	if err != nil {
		return false, err
	}
	if v.kind == KindMissing {
		return false, e.undef(s.x)
	}
	switch {
	case v.isMultiEmpty():
		return false, nil
	case s.hash && v.kind == KindSeq:
		return false, e.errf(s.x.pos(), "<#list>: "+s.x.source()+" is a sequence, so list it with one loop variable (as item), not a key and a value")
	case s.hash && v.kind != KindHash:
		return false, e.typeErr(s.x, "For <#list> with a key and a value", "a hash", v)
	case !s.hash && v.kind == KindHash:
		return false, e.errf(s.x.pos(), "<#list>: "+s.x.source()+" is a hash, so list it with two loop variables: as key, value")
	case !s.hash && v.kind != KindSeq:
		return false, e.typeErr(s.x, "For <#list>", "a sequence", v)
	}
	n := v.Len()
	if s.hash {
		n = hashSize(v)
	}
	if n == 0 {
		return false, nil
	}
	e.iters = append(e.iters, iterFrame{var1: s.name, var2: s.name2, listed: v, hash: s.hash})
	fi := len(e.iters) - 1
	if s.name != "" {
		err = e.iterate(fi, s.body, s.begin)
	} else {
		// the loop variables come with the #items inside
		err = e.execList(s.body)
	}
	clear(e.iters[fi:])
	e.iters = e.iters[:fi]
	return true, err
}

// iterate runs body once per item of frame fi's listed value.
func (e *exec) iterate(fi int, body []*stmt, at position) error {
	v := e.iters[fi].listed
	var err error
	if e.iters[fi].hash {
		n, i := hashSize(v), 0
		err = hashEntries(v, func(k string, x Value) error {
			err := e.iteration(fi, i, n, String(k), x, body, at)
			i++
			return err
		})
	} else {
		n := v.Len()
		for i := 0; i < n && err == nil; i++ {
			err = e.iteration(fi, i, n, v.c.vals[i], Value{}, body, at)
		}
	}
	if err == errListBreak {
		return nil
	}
	return err
}

// iteration runs body for item i of n, bound to v1 (and v2, the value of
// a hash listing). A #continue ends it normally; a #break is returned.
func (e *exec) iteration(fi, i, n int, v1, v2 Value, body []*stmt, at position) error {
	if err := e.step(at); err != nil {
		return err
	}
	// the body may grow e.iters: the frame is found again by index
	f := &e.iters[fi]
	f.index, f.hasNext, f.visible, f.v1, f.v2 = i, i+1 < n, true, v1, v2
	e.forgetLoop(f)
	err := e.execList(body)
	f = &e.iters[fi]
	f.visible = false
	e.forgetLoop(f)
	if err == errListContinue {
		return nil
	}
	return err
}

// forgetLoop invalidates the memo of the paths starting at f's loop
// variables, and at the legacy x_index and x_has_next, whenever they are
// bound, rebound to the next item or unbound (see exec.forget): each
// iteration starts and ends with it, so a path read through a loop
// variable (x.a, (x.a)!) is never the previous item's, nor, after the
// listing, the loop variable's in place of the one it shadowed.
func (e *exec) forgetLoop(f *iterFrame) {
	if f.var1 != "" {
		e.forget(f.var1)
		e.forget(f.var1 + "_index")
		e.forget(f.var1 + "_has_next")
	}
	if f.var2 != "" {
		e.forget(f.var2)
	}
}

// execItems runs an #items: the iteration of the innermost #list.
func (e *exec) execItems(s *stmt) error {
	fi := len(e.iters) - 1
	if fi < 0 {
		return e.errf(s.begin, "<#items> without a <#list>")
	}
	f := &e.iters[fi]
	if f.entered {
		return e.errf(s.begin, "<#items> already ran for this <#list>; a listing has one <#items>")
	}
	f.entered, f.var1, f.var2 = true, s.name, s.name2
	err := e.iterate(fi, s.body, s.begin)
	e.iters[fi].var1, e.iters[fi].var2 = "", ""
	return err
}

// execSep runs a #sep: its body when the innermost listing has an item
// after the current one.
func (e *exec) execSep(s *stmt) error {
	if n := len(e.iters); n > 0 && e.iters[n-1].hasNext {
		return e.execList(s.body)
	}
	return nil
}

// loopBuiltinExpr is x?index and the other built-ins of loop variable v.
type loopBuiltinExpr struct {
	base
	name string
	v    string
	args []expr // of ?item_cycle
}

func (x *loopBuiltinExpr) eval(e *exec) (Value, error) {
	var f *iterFrame
	for i := len(e.iters) - 1; i >= 0; i-- {
		if g := &e.iters[i]; g.visible && (g.var1 == x.v || g.var2 == x.v) {
			f = g
			break
		}
	}
	if f == nil {
		return Value{}, e.errf(x.p, "?"+x.name+": no iteration in progress uses the loop variable "+strconv.Quote(x.v))
	}
	odd := f.index%2 == 0 // the first item is odd
	switch x.name {
	case "index":
		return Int(int64(f.index)), nil
	case "counter":
		return Int(int64(f.index) + 1), nil
	case "has_next":
		return Bool(f.hasNext), nil
	case "is_last":
		return Bool(!f.hasNext), nil
	case "is_first":
		return Bool(f.index == 0), nil
	case "is_odd_item":
		return Bool(odd), nil
	case "is_even_item":
		return Bool(!odd), nil
	case "item_parity", "item_parity_cap":
		s := "even"
		if odd {
			s = "odd"
		}
		if x.name == "item_parity_cap" {
			s = capFirst(s)
		}
		return String(s), nil
	}
	// ?item_cycle: FreeMarker evaluates every argument, then picks one
	index := f.index
	vals := make([]Value, len(x.args))
	for i, a := range x.args {
		v, err := a.eval(e)
		if err != nil {
			return Value{}, err
		}
		vals[i] = v
	}
	return vals[index%len(vals)], nil
}
