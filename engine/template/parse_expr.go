package template

import (
	"strconv"
	"strings"
)

// The expression grammar follows FreeMarker's FTL.jj, loosest first:
//
//	or:       and ("||" and)*
//	and:      eq ("&&" eq)*
//	eq:       rel [("==" | "=" | "!=") rel]
//	rel:      add [("<" | "<=" | ">" | ">=" | "lt" | "lte" | "gt" | "gte") add]
//	add:      mul (("+" | "-") mul)*
//	mul:      unary (("*" | "/" | "%") unary)*
//	unary:    ("+" | "-") primary | "!"+ primary | primary
//	primary:  atom ("." name | "[" expr "]" | "(" args ")" | "?" builtin
//	               | "!" [expr] | "??")*
//
// The right-hand side of the default operator is a whole expression, so it
// binds loosely: x!"a" == "b" is x!("a" == "b"), as in FreeMarker.

func (p *parser) parseExpr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth {
		return nil, p.errAt(p.peek().pos, RuleLimit, "expression nested deeper than "+strconv.Itoa(maxExprDepth))
	}
	return p.parseOr()
}

func (p *parser) isOp(vals ...string) (token, bool) {
	t := p.peek()
	if t.kind != tOp {
		return t, false
	}
	for _, v := range vals {
		if t.val == v {
			return t, true
		}
	}
	return t, false
}

func (p *parser) srcFrom(start int) string {
	e := p.toks[p.i-1].endOff
	if e > len(p.src) || e < start {
		return ""
	}
	return p.src[start:e]
}

func (p *parser) parseOr() (expr, error) {
	start := p.peek()
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		// FreeMarker reads | and & as || and && (short-circuit too);
		// "or" and "and" are plain names there.
		if _, ok := p.isOp("||", "|"); !ok {
			return l, nil
		}
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		if err := p.checkLiteral("boolean", l, r); err != nil {
			return nil, err
		}
		l = &logicExpr{base: base{start.pos, p.srcFrom(start.off)}, or: true, l: l, r: r}
	}
}

func (p *parser) parseAnd() (expr, error) {
	start := p.peek()
	l, err := p.parseEq()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := p.isOp("&&", "&"); !ok {
			return l, nil
		}
		p.next()
		r, err := p.parseEq()
		if err != nil {
			return nil, err
		}
		if err := p.checkLiteral("boolean", l, r); err != nil {
			return nil, err
		}
		l = &logicExpr{base: base{start.pos, p.srcFrom(start.off)}, l: l, r: r}
	}
}

func (p *parser) parseEq() (expr, error) {
	start := p.peek()
	l, err := p.parseRel()
	if err != nil {
		return nil, err
	}
	t, ok := p.isOp("==", "=", "!=")
	if !ok {
		return l, nil
	}
	p.next()
	r, err := p.parseRel()
	if err != nil {
		return nil, err
	}
	op := cmpEq
	if t.val == "!=" {
		op = cmpNe
	}
	c := &cmpExpr{base: base{start.pos, p.srcFrom(start.off)}, op: op, opTok: t.val, l: l, r: r}
	if lit, ok := r.(*litExpr); ok && lit.v.kind == KindString {
		c.lit, c.litIgnorable = lit, mayIgnore(lit.v.s)
	}
	return c, p.checkLiteralCmp(c, t)
}

func (p *parser) parseRel() (expr, error) {
	start := p.peek()
	l, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	var op cmpOp
	switch {
	case t.kind == tOp && t.val == "<":
		op = cmpLt
	case t.kind == tOp && t.val == "<=":
		op = cmpLe
	case t.kind == tOp && t.val == ">":
		op = cmpGt
	case t.kind == tOp && t.val == ">=":
		op = cmpGe
	case t.kind == tIdent && t.val == "lt":
		op = cmpLt
	case t.kind == tIdent && t.val == "lte":
		op = cmpLe
	case t.kind == tIdent && t.val == "gt":
		op = cmpGt
	case t.kind == tIdent && t.val == "gte":
		op = cmpGe
	default:
		return l, nil
	}
	p.next()
	r, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	c := &cmpExpr{base: base{start.pos, p.srcFrom(start.off)}, op: op, opTok: t.val, l: l, r: r}
	return c, p.checkLiteralCmp(c, t)
}

// checkLiteralCmp reports at parse time what FreeMarker reports at parse
// time: a relational operator applied to a string or boolean literal.
func (p *parser) checkLiteralCmp(c *cmpExpr, t token) error {
	if c.op == cmpEq || c.op == cmpNe {
		return nil
	}
	for _, side := range []expr{c.l, c.r} {
		switch x := side.(type) {
		case *litExpr:
			if x.v.kind == KindString {
				return p.errAt(x.pos(), RuleSyntax, "operator "+t.val+" cannot compare strings; it needs numbers")
			}
			if x.v.kind == KindBool {
				return p.errAt(x.pos(), RuleSyntax, "operator "+t.val+" cannot compare booleans; it needs numbers")
			}
		case *strInterpExpr:
			return p.errAt(x.pos(), RuleSyntax, "operator "+t.val+" cannot compare strings; it needs numbers")
		}
	}
	return nil
}

func (p *parser) parseAdd() (expr, error) {
	start := p.peek()
	l, err := p.parseMul()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.isOp("+", "-")
		if !ok {
			return l, nil
		}
		p.next()
		r, err := p.parseMul()
		if err != nil {
			return nil, err
		}
		if t.val == "-" {
			if err := p.checkLiteral("number", l, r); err != nil {
				return nil, err
			}
		}
		l = &arithExpr{base: base{start.pos, p.srcFrom(start.off)}, op: t.val[0], l: l, r: r}
	}
}

func (p *parser) parseMul() (expr, error) {
	start := p.peek()
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.isOp("*", "/", "%")
		if !ok {
			return l, nil
		}
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if err := p.checkLiteral("number", l, r); err != nil {
			return nil, err
		}
		l = &arithExpr{base: base{start.pos, p.srcFrom(start.off)}, op: t.val[0], l: l, r: r}
	}
}

// checkLiteral reports at parse time, as FreeMarker does, a literal
// operand of the wrong type: a string or boolean literal where a number
// is needed, a string or number literal where a boolean is.
func (p *parser) checkLiteral(want string, xs ...expr) error {
	for _, x := range xs {
		var got string
		switch l := x.(type) {
		case *strInterpExpr:
			got = "string literal"
		case *litExpr:
			switch l.v.kind {
			case KindString:
				got = "string literal"
			case KindNumber:
				got = "number literal"
			case KindBool:
				got = "boolean literal"
			}
		}
		if got == "" || got == want+" literal" {
			continue
		}
		return p.errAt(x.pos(), RuleSyntax, "found "+got+" "+x.source()+" where a "+want+" is expected")
	}
	return nil
}

func (p *parser) parseUnary() (expr, error) {
	start := p.peek()
	if t, ok := p.isOp("+", "-"); ok {
		p.next()
		x, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		return &negExpr{base: base{start.pos, p.srcFrom(start.off)}, neg: t.val == "-", x: x}, nil
	}
	if _, ok := p.isOp("!"); ok {
		n := 0
		for {
			if _, ok := p.isOp("!"); !ok {
				break
			}
			p.next()
			n++
		}
		x, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		for ; n > 0; n-- {
			x = &notExpr{base: base{start.pos, p.srcFrom(start.off)}, x: x}
		}
		return x, nil
	}
	return p.parsePrimary()
}

// canStartExpr reports whether t can begin an expression: the test that
// decides whether a '!' has a right-hand side.
func canStartExpr(t token) bool {
	switch t.kind {
	case tIdent:
		switch t.val {
		// "as" is a keyword in FreeMarker's expressions: <#list x! as y>
		// has no right-hand side after the !
		case "lt", "lte", "gt", "gte", "as":
			return false
		}
		return true
	case tNumber, tString, tRawString:
		return true
	case tOp:
		switch t.val {
		case "(", "[", "{", "!", "+", "-", ".":
			return true
		}
	}
	return false
}

func (p *parser) parsePrimary() (expr, error) {
	start := p.peek()
	x, err := p.parseAtom()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp {
			return x, nil
		}
		switch t.val {
		case ".":
			p.next()
			n := p.next()
			if n.kind != tIdent {
				if n.kind == tOp && (n.val == "*" || n.val == "**") {
					return nil, p.errAt(n.pos, RuleSyntax, "wildcard names are not supported")
				}
				return nil, p.expected(n, "a name after \".\"")
			}
			if err := p.checkLiteral("hash", x); err != nil {
				return nil, err
			}
			d := &dotExpr{base: base{start.pos, p.srcFrom(start.off)}, x: x, name: n.val, slot: -1}
			p.memoSlot(d)
			x = d
		case "[":
			p.next()
			k, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if r, ok := p.isOp("..", "..<", "..!", "..*"); ok {
				return nil, p.errAt(r.pos, RuleSyntax, "ranges are not supported")
			}
			e := p.next()
			if e.kind != tOp || e.val != "]" {
				return nil, p.expected(e, "\"]\"")
			}
			x = &indexExpr{base: base{start.pos, p.srcFrom(start.off)}, x: x, k: k}
		case "(":
			p.next()
			args, err := p.parseArgs(")")
			if err != nil {
				return nil, err
			}
			if bi, ok := x.(*builtinExpr); ok && bi.args == nil && bi.def.maxArgs > 0 {
				if len(args) < bi.def.minArgs || len(args) > bi.def.maxArgs {
					return nil, p.errAt(t.pos, RuleSyntax, "?"+bi.name+" takes "+argCount(bi.def)+", got "+strconv.Itoa(len(args)))
				}
				bi.args = args
				bi.src = p.srcFrom(start.off)
				continue
			}
			x = &callExpr{base: base{start.pos, p.srcFrom(start.off)}, x: x, args: args}
		case "?":
			p.next()
			n := p.next()
			if n.kind != tIdent {
				return nil, p.expected(n, "a built-in name after \"?\"")
			}
			if loopBuiltinNames[n.val] {
				lb, err := p.parseLoopBuiltin(x, start, n)
				if err != nil {
					return nil, err
				}
				x = lb
				continue
			}
			if msg, ok := blockedBuiltin(n.val); ok {
				return nil, p.errAt(t.pos, RuleBlocked, msg)
			}
			def, ok := builtins[n.val]
			if !ok {
				return nil, p.errAt(n.pos, RuleSyntax, "unknown built-in ?"+n.val)
			}
			b := &builtinExpr{base: base{start.pos, p.srcFrom(start.off)}, x: x, name: n.val, def: def}
			if def.minArgs > 0 {
				if o, ok := p.isOp("("); !ok {
					return nil, p.errAt(o.pos, RuleSyntax, "?"+n.val+" needs arguments: ?"+n.val+"(...)")
				}
			}
			if n.val == "string" {
				// ?string.computer and friends name a number format
				if _, ok := p.isOp("."); ok && p.toks[p.i+1].kind == tIdent {
					p.next()
					f := p.next()
					if f.val != "computer" && f.val != "c" {
						return nil, p.errAt(f.pos, RuleSyntax, "?string."+f.val+" is not supported; use ?c")
					}
					b.name, b.def = "c", builtins["c"]
					b.src = p.srcFrom(start.off)
				}
			}
			x = b
		case "!":
			p.next()
			d := &defaultExpr{base: base{start.pos, ""}, x: x}
			if pe, ok := x.(*parenExpr); ok {
				if path, ok := pe.x.(*dotExpr); ok && path.slot >= 0 {
					d.path = path
				}
			}
			if t.quote != terminating && canStartExpr(p.peek()) {
				// FreeMarker takes a right-hand side only when a whole
				// expression parses there (a syntactic lookahead); otherwise
				// what follows continues the enclosing expression
				save := p.i
				if !p.noExprAt[save] {
					rhs, err := p.parseExpr()
					switch {
					case err == nil:
						d.rhs = rhs
					case isRuleErr(err, RuleLimit):
						return nil, err
					default:
						// remembered, so that chains of ! cannot make the
						// lookahead exponential
						if p.noExprAt == nil {
							p.noExprAt = map[int]bool{}
						}
						p.noExprAt[save] = true
						p.i = save
					}
				}
			}
			d.src = p.srcFrom(start.off)
			x = d
		case "??":
			p.next()
			x = &existsExpr{base: base{start.pos, p.srcFrom(start.off)}, x: x}
		default:
			return x, nil
		}
	}
}

func argCount(d *builtinDef) string {
	if d.minArgs == d.maxArgs {
		if d.minArgs == 1 {
			return "1 argument"
		}
		return strconv.Itoa(d.minArgs) + " arguments"
	}
	return strconv.Itoa(d.minArgs) + " to " + strconv.Itoa(d.maxArgs) + " arguments"
}

func (p *parser) parseArgs(close string) ([]expr, error) {
	args := []expr{}
	if _, ok := p.isOp(close); ok {
		p.next()
		return args, nil
	}
	for {
		a, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		t := p.next()
		if t.kind == tOp && t.val == close {
			return args, nil
		}
		if t.kind != tOp || t.val != "," {
			return nil, p.expected(t, "\",\" or \""+close+"\"")
		}
	}
}

func (p *parser) parseAtom() (expr, error) {
	t := p.next()
	b := base{p: t.pos, src: t.val}
	switch t.kind {
	case tNumber:
		d, _, ok := parseDec(t.val)
		if !ok {
			return nil, p.errAt(t.pos, RuleSyntax, "invalid number "+t.val)
		}
		if n := p.peek(); n.kind == tIdent && n.off == t.off+len(t.val) {
			return nil, p.errAt(n.pos, RuleSyntax, "unexpected "+strconv.Quote(n.val)+" after number "+t.val+
				" (exponents such as 1e3 are not FreeMarker syntax)")
		}
		return &litExpr{base: b, v: numValue(d, flavorBig)}, nil
	case tString:
		b.src = p.src[t.off:t.endOff]
		return p.parseStringLit(t, b)
	case tRawString:
		b.src = p.src[t.off:t.endOff]
		return &litExpr{base: b, v: String(t.val)}, nil
	case tIdent:
		switch t.val {
		case "true":
			return &litExpr{base: b, v: Bool(true)}, nil
		case "false":
			return &litExpr{base: b, v: Bool(false)}, nil
		case "sprig":
			return p.parseSprig(t)
		}
		if t.val[0] == '~' || t.val[0] == '+' {
			return nil, p.errAt(t.pos, RuleSyntax, "a name starting with "+t.val[:1]+" is only allowed after a dot")
		}
		p.addRef(t.val)
		return &identExpr{base: b, name: t.val, slot: p.pathSlot(t.val)}, nil
	case tOp:
		switch t.val {
		case "(":
			x, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			e := p.next()
			if e.kind != tOp || e.val != ")" {
				return nil, p.expected(e, "\")\"")
			}
			return &parenExpr{base: base{t.pos, p.src[t.off : e.off+1]}, x: x}, nil
		case "[":
			items, err := p.parseArgs("]")
			if err != nil {
				return nil, err
			}
			return &seqLitExpr{base: base{t.pos, p.srcFrom(t.off)}, items: items}, nil
		case "{":
			return p.parseHashLit(t)
		case ".":
			n := p.peek()
			return nil, p.errAt(t.pos, RuleSyntax, "special variable ."+n.val+" is not available in Branch templates")
		}
	}
	return nil, p.expected(t, "an expression")
}

func (p *parser) addRef(name string) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[name] {
		p.seen[name] = true
		p.refs = append(p.refs, name)
	}
}

func (p *parser) parseHashLit(t token) (expr, error) {
	h := &hashLitExpr{}
	if _, ok := p.isOp("}"); ok {
		p.next()
		h.base = base{t.pos, p.srcFrom(t.off)}
		return h, nil
	}
	for {
		k, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		c := p.next()
		if c.kind != tOp || c.val != ":" {
			return nil, p.expected(c, "\":\" in hash literal")
		}
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		h.keys = append(h.keys, k)
		h.vals = append(h.vals, v)
		e := p.next()
		if e.kind == tOp && e.val == "}" {
			h.base = base{t.pos, p.srcFrom(t.off)}
			return h, nil
		}
		if e.kind != tOp || e.val != "," {
			return nil, p.expected(e, "\",\" or \"}\" in hash literal")
		}
	}
}

// parseStringLit decodes FreeMarker escapes and compiles ${...} parts.
func (p *parser) parseStringLit(t token, b base) (expr, error) {
	raw := t.val
	var parts []expr
	var sb strings.Builder
	bodyOff := t.off + 1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '$' && i+1 < len(raw) && raw[i+1] == '{' || c == '#' && i+1 < len(raw) && raw[i+1] == '{' {
			// find the matching } (string literals inside are not allowed
			// to contain the quote, so a brace count suffices)
			depth := 0
			j := i + 2
			for ; j < len(raw); j++ {
				if raw[j] == '{' {
					depth++
				} else if raw[j] == '}' {
					if depth == 0 {
						break
					}
					depth--
				}
			}
			if j >= len(raw) {
				return nil, p.errAt(t.pos, RuleSyntax, "unclosed ${ in string literal")
			}
			if sb.Len() > 0 {
				parts = append(parts, &litExpr{base: b, v: String(sb.String())})
				sb.Reset()
			}
			// the position of the ${...} body: after the literal's opening
			// quote (two characters for a raw string never get here)
			dollar := advancePos(position{Line: t.pos.Line, Col: t.pos.Col + 1, Off: t.pos.Off + 1}, raw[:i])
			sub, err := p.subExpr(raw[i+2:j], bodyOff+i+2, advancePos(dollar, raw[i:i+2]))
			if err != nil {
				return nil, err
			}
			parts = append(parts, &interpPart{base: base{dollar, raw[i : j+1]}, x: sub})
			i = j
			continue
		}
		if c != '\\' {
			sb.WriteByte(c)
			continue
		}
		i++
		if i >= len(raw) {
			return nil, p.errAt(t.pos, RuleSyntax, "string literal ends in a backslash")
		}
		switch e := raw[i]; e {
		case '"', '\'', '\\', '{', '=':
			sb.WriteByte(e)
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'l':
			sb.WriteByte('<')
		case 'g':
			sb.WriteByte('>')
		case 'a':
			sb.WriteByte('&')
		case 'x':
			j := i + 1
			for j < len(raw) && j < i+5 && isHex(raw[j]) {
				j++
			}
			if j == i+1 {
				return nil, p.errAt(t.pos, RuleSyntax, "\\x in a string literal needs 1 to 4 hexadecimal digits")
			}
			v, _ := strconv.ParseUint(raw[i+1:j], 16, 32)
			sb.WriteRune(rune(v))
			i = j - 1
		default:
			return nil, p.errAt(t.pos, RuleSyntax, "unknown escape \\"+string(e)+" in string literal")
		}
	}
	if parts == nil {
		return &litExpr{base: b, v: String(sb.String())}, nil
	}
	if sb.Len() > 0 {
		parts = append(parts, &litExpr{base: b, v: String(sb.String())})
	}
	return &strInterpExpr{base: b, parts: parts}, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// subExpr parses the expression of a ${...} inside a string literal.
func (p *parser) subExpr(text string, off int, at position) (expr, error) {
	toks, lerr := lexExprOnly(p.name, text, at, off)
	if lerr != nil {
		return nil, lerr
	}
	sub := &parser{name: p.name, src: p.src, opt: p.opt, toks: toks, depth: p.depth, seen: p.seen, refs: p.refs, iters: p.iters, paths: p.paths}
	x, err := sub.parseExpr()
	p.paths = sub.paths // slots given out stay given, whatever follows
	if err != nil {
		return nil, err
	}
	p.refs, p.seen = sub.refs, sub.seen
	if t := sub.peek(); t.kind != tEOF {
		return nil, sub.expected(t, "end of ${...}")
	}
	return x, nil
}

// lexExprOnly tokenises a bare expression whose text starts at offset off
// (position at) of the template.
func lexExprOnly(name, text string, at position, off int) ([]token, *Error) {
	l := &lexer{src: text, base: off, line: at.Line, col: at.Col, name: name, state: stInterp}
	for len(l.errs) == 0 {
		for l.i < len(l.src) && isSpace(l.src[l.i]) {
			l.advance(1)
		}
		if l.i >= len(l.src) {
			break
		}
		l.lexExpr()
		if l.state != stInterp {
			l.fail(l.pos(), "unexpected }")
		}
	}
	if len(l.errs) > 0 {
		return nil, l.errs[0]
	}
	for i := range l.toks {
		l.toks[i].off += off
		l.toks[i].endOff += off
	}
	l.toks = append(l.toks, token{kind: tEOF, pos: l.pos(), off: off + len(text), endOff: off + len(text)})
	return l.toks, nil
}

func isRuleErr(err error, rule string) bool {
	e, ok := err.(*Error)
	return ok && e.Rule == rule
}
