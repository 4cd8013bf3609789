package template

import (
	"strconv"
	"strings"
)

// blocked lists the constructs Branch refuses, matched as plain substrings
// of the template text exactly as Branch (and the oracle) do.
var blocked = []string{
	"<#import", "<#visit", "<#include", "?eval", "<#recurse", "<#setting",
	"<#macro", "<#function", "<#nested", "<#return", "<#list",
}

// knownFTL are FreeMarker directives this engine does not implement; they
// get a clearer message than an unknown name.
var knownFTL = map[string]bool{
	"switch": true, "case": true, "default": true, "on": true, "local": true, "global": true,
	"ftl": true, "t": true, "lt": true, "rt": true, "nt": true, "noparse": true, "compress": true,
	"attempt": true, "recover": true, "stop": true, "flush": true, "items": true, "sep": true,
	"break": true, "continue": true, "escape": true, "noescape": true, "autoesc": true,
	"noautoesc": true, "outputformat": true, "visit": true, "fallback": true, "import": true,
	"include": true, "macro": true, "function": true, "nested": true, "return": true,
	"list": true, "recurse": true, "setting": true,
}

// Parser bounds: nesting beyond them is refused rather than risking the
// stack on hostile input.
const (
	maxExprDepth = 128
	maxStmtDepth = 64
)

type parser struct {
	name  string
	src   string
	opt   Options
	toks  []token
	i     int
	depth int
	refs  []string
	seen  map[string]bool
	// noExprAt records token positions where an expression failed to
	// parse, for the default operator's lookahead
	noExprAt map[int]bool
}

func newParser(name, text string, opt Options) *parser {
	return &parser{name: name, src: text, opt: opt}
}

func (p *parser) errAt(pos position, rule, msg string) *Error {
	return &Error{Name: p.name, Line: int(pos.Line), Col: int(pos.Col), Rule: rule, Msg: msg}
}

func (p *parser) posOf(off int) position {
	line, col := int32(1), int32(1)
	for _, r := range p.src[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return position{line, col}
}

func (p *parser) parseTemplate() ([]*stmt, error) {
	for _, b := range blocked {
		if i := strings.Index(p.src, b); i >= 0 {
			return nil, p.errAt(p.posOf(i), RuleBlocked,
				"template uses "+b+", which Branch blocks in webhook templates; remove it")
		}
	}
	toks, lerr := lex(p.name, p.src)
	if lerr != nil {
		return nil, lerr
	}
	p.toks = toks
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end.kind != tEOF {
		return nil, p.unexpectedEnd(end)
	}
	var root *stmt
	if len(body) == 1 {
		root = body[0]
	} else {
		root = &stmt{kind: sRoot, body: body}
	}
	stripWhitespace(root)
	if root.kind == sRoot {
		body = root.body
	} else {
		body = []*stmt{root}
	}
	return p.finish(body), nil
}

func (p *parser) unexpectedEnd(t token) *Error {
	switch t.kind {
	case tEndDir:
		return p.errAt(t.pos, RuleSyntax, "unexpected </#"+t.val+"> with no matching <#"+t.val+">")
	case tUserEnd:
		return p.errAt(t.pos, RuleSyntax, "unexpected </@"+t.val+"> with no matching <@"+t.val+">")
	case tDirective:
		return p.errAt(t.pos, RuleSyntax, "<#"+t.val+"> outside of <#if>")
	}
	return p.errAt(t.pos, RuleSyntax, "unexpected "+strconv.Quote(t.val))
}

// finish drops comments and empty texts and splits macros out of texts.
func (p *parser) finish(in []*stmt) []*stmt {
	out := in[:0:0]
	for _, s := range in {
		switch s.kind {
		case sComment:
			continue
		case sText:
			if s.text == "" {
				continue
			}
			out = append(out, p.splitMacros(s)...)
			continue
		case sIf, sBranch, sUser, sCapture:
			s.body = p.finish(s.body)
		}
		s.parent = nil
		out = append(out, s)
	}
	return out
}

// splitMacros turns {name} inside text into macro nodes when
// Options.IsMacro says name is one.
func (p *parser) splitMacros(s *stmt) []*stmt {
	if p.opt.IsMacro == nil || !strings.Contains(s.text, "{") {
		return []*stmt{s}
	}
	var out []*stmt
	text := s.text
	pos := s.begin
	start := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(text) && text[j] != '}' && text[j] != '{' && !isSpace(text[j]) {
			j++
		}
		if j >= len(text) || text[j] != '}' || j == i+1 {
			continue
		}
		name := text[i+1 : j]
		if !p.opt.IsMacro(name) {
			continue
		}
		if i > start {
			out = append(out, &stmt{kind: sText, text: text[start:i], begin: pos})
		}
		mp := advancePos(pos, text[start:i])
		out = append(out, &stmt{kind: sMacro, name: name, begin: mp})
		pos = advancePos(mp, text[i:j+1])
		start = j + 1
		i = j
	}
	if start < len(text) {
		out = append(out, &stmt{kind: sText, text: text[start:], begin: pos})
	}
	return out
}

func advancePos(p position, s string) position {
	for _, r := range s {
		if r == '\n' {
			p.Line++
			p.Col = 1
		} else {
			p.Col++
		}
	}
	return p
}

// lastCharPos turns a token's end (the position after it) into the
// position of its last character, as FreeMarker's endLine/endColumn.
func lastCharPos(end position, text string) position {
	if strings.HasSuffix(text, "\n") {
		// the column does not matter to the stripping rules
		return position{end.Line - 1, 1 << 20}
	}
	return position{end.Line, end.Col - 1}
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// parseBody parses elements until an end tag, an #elseif/#else, or EOF,
// which it returns without consuming.
func (p *parser) parseBody() ([]*stmt, token, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxStmtDepth {
		return nil, token{}, p.errAt(p.peek().pos, RuleLimit, "directives nested deeper than "+strconv.Itoa(maxStmtDepth))
	}
	var out []*stmt
	for {
		t := p.peek()
		switch t.kind {
		case tEOF, tEndDir, tUserEnd:
			return out, t, nil
		case tText:
			p.next()
			out = append(out, &stmt{kind: sText, text: t.val, begin: t.pos, end: lastCharPos(t.end, t.val)})
		case tComment:
			p.next()
			out = append(out, &stmt{kind: sComment, begin: t.pos, end: position{t.end.Line, t.end.Col - 1}})
		case tInterp, tHashInterp:
			p.next()
			x, err := p.parseExpr()
			if err != nil {
				return nil, t, err
			}
			e := p.next()
			if e.kind != tInterpEnd {
				return nil, t, p.expected(e, "} to close "+t.val)
			}
			k := sInterp
			if t.kind == tHashInterp {
				k = sHashInterp
			}
			out = append(out, &stmt{kind: k, x: x, begin: t.pos, end: e.pos})
		case tDirective:
			switch t.val {
			case "elseif", "else":
				return out, t, nil
			}
			s, err := p.parseDirective()
			if err != nil {
				return nil, t, err
			}
			out = append(out, s)
		case tUser:
			s, err := p.parseUser()
			if err != nil {
				return nil, t, err
			}
			out = append(out, s)
		default:
			return nil, t, p.errAt(t.pos, RuleSyntax, "unexpected "+strconv.Quote(t.val))
		}
	}
}

func (p *parser) expected(t token, what string) *Error {
	got := strconv.Quote(t.val)
	switch t.kind {
	case tEOF:
		got = "end of template"
	case tTagEnd, tEmptyTagEnd:
		got = "end of tag " + strconv.Quote(t.val)
	}
	return p.errAt(t.pos, RuleSyntax, "expected "+what+", found "+got)
}

func (p *parser) tagEnd() (token, error) {
	t := p.next()
	if t.kind != tTagEnd {
		return t, p.expected(t, "\">\"")
	}
	return t, nil
}

func (p *parser) parseDirective() (*stmt, error) {
	t := p.next()
	switch t.val {
	case "if":
		return p.parseIf(t)
	case "assign":
		return p.parseAssign(t)
	}
	if knownFTL[t.val] {
		return nil, p.errAt(t.pos, RuleSyntax, "directive #"+t.val+" is not supported in Branch templates")
	}
	return nil, p.errAt(t.pos, RuleSyntax, "unknown directive #"+t.val)
}

func (p *parser) parseIf(t token) (*stmt, error) {
	ifs := &stmt{kind: sIf, begin: t.pos}
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	te, err := p.tagEnd()
	if err != nil {
		return nil, err
	}
	br := &stmt{kind: sBranch, x: cond, begin: t.pos, end: te.pos}
	sawElse := false
	for {
		body, end, err := p.parseBody()
		if err != nil {
			return nil, err
		}
		br.body = body
		ifs.body = append(ifs.body, br)
		switch {
		case end.kind == tDirective && end.val == "elseif" && !sawElse:
			p.next()
			c, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			te, err := p.tagEnd()
			if err != nil {
				return nil, err
			}
			br = &stmt{kind: sBranch, x: c, begin: end.pos, end: te.pos}
		case end.kind == tDirective && end.val == "else" && !sawElse:
			p.next()
			te, err := p.tagEnd()
			if err != nil {
				return nil, err
			}
			sawElse = true
			br = &stmt{kind: sBranch, begin: end.pos, end: te.pos}
		case end.kind == tDirective:
			return nil, p.errAt(end.pos, RuleSyntax, "#"+end.val+" after #else")
		case end.kind == tEndDir && end.val == "if":
			p.next()
			ifs.end = position{end.end.Line, end.end.Col - 1}
			return ifs, nil
		case end.kind == tEOF:
			return nil, p.errAt(end.pos, RuleSyntax, "unclosed <#if> (opened at line "+
				strconv.Itoa(int(t.pos.Line))+", column "+strconv.Itoa(int(t.pos.Col))+"): add </#if>")
		default:
			return nil, p.unexpectedEnd(end)
		}
	}
}

func (p *parser) parseAssign(t token) (*stmt, error) {
	s := &stmt{kind: sAssign, begin: t.pos}
	for {
		n := p.next()
		if n.kind != tIdent {
			if len(s.sets) > 0 && (n.kind == tTagEnd || n.kind == tEmptyTagEnd) {
				s.end = n.pos
				return s, nil
			}
			return nil, p.expected(n, "a variable name")
		}
		if !isPlainName(n.val) {
			return nil, p.errAt(n.pos, RuleSyntax, "cannot assign to "+strconv.Quote(n.val))
		}
		op := p.peek()
		switch {
		case len(s.sets) == 0 && op.kind == tTagEnd:
			// <#assign x>...</#assign>: capture
			p.next()
			body, end, err := p.parseBody()
			if err != nil {
				return nil, err
			}
			if end.kind != tEndDir || end.val != "assign" {
				if end.kind == tEOF {
					return nil, p.errAt(end.pos, RuleSyntax, "unclosed <#assign "+n.val+">: add </#assign>")
				}
				return nil, p.unexpectedEnd(end)
			}
			p.next()
			return &stmt{kind: sCapture, name: n.val, body: body, begin: t.pos, end: position{end.end.Line, end.end.Col - 1}}, nil
		case op.kind == tOp && (op.val == "++" || op.val == "--"):
			p.next()
			s.sets = append(s.sets, assignSet{name: n.val, op: op.val, pos: n.pos})
		case op.kind == tOp && (op.val == "=" || op.val == "+=" || op.val == "-=" || op.val == "*=" || op.val == "/=" || op.val == "%="):
			p.next()
			x, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			s.sets = append(s.sets, assignSet{name: n.val, op: op.val, x: x, pos: n.pos})
		default:
			return nil, p.expected(op, "\"=\" after the variable name")
		}
		if c := p.peek(); c.kind == tOp && c.val == "," {
			p.next()
		}
	}
}

func isPlainName(s string) bool {
	return s != "" && s[0] != '~' && s[0] != '+' && s != "true" && s != "false"
}

func (p *parser) parseUser() (*stmt, error) {
	t := p.next()
	k, ok := userNames[t.val]
	if !ok {
		return nil, p.errAt(t.pos, RuleSyntax, "unknown user directive <@"+t.val+
			">; Branch templates can use <@loop>, <@break>, <@sep>, <@json>, <@jsonmap> and <@urlencode>")
	}
	s := &stmt{kind: sUser, ukind: k, name: t.val, begin: t.pos}
	for {
		n := p.next()
		switch n.kind {
		case tEmptyTagEnd:
			s.end = position{n.pos.Line, n.pos.Col + 1}
			return s, p.checkParams(s)
		case tTagEnd:
			if err := p.checkParams(s); err != nil {
				return nil, err
			}
			body, end, err := p.parseBody()
			if err != nil {
				return nil, err
			}
			if end.kind != tUserEnd || (end.val != "" && end.val != t.val) {
				if end.kind == tEOF {
					return nil, p.errAt(end.pos, RuleSyntax, "unclosed <@"+t.val+"> (opened at line "+
						strconv.Itoa(int(t.pos.Line))+", column "+strconv.Itoa(int(t.pos.Col))+"): add </@"+t.val+">")
				}
				return nil, p.unexpectedEnd(end)
			}
			p.next()
			s.body = body
			// an empty body is still a body: <@json></@json> writes ""
			if body == nil {
				s.body = []*stmt{}
			}
			s.end = position{end.end.Line, end.end.Col - 1}
			return s, nil
		case tIdent:
			eq := p.next()
			if eq.kind != tOp || eq.val != "=" {
				return nil, p.expected(eq, "\"=\" after parameter "+n.val)
			}
			x, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			s.parms = append(s.parms, param{name: n.val, x: x})
			if c := p.peek(); c.kind == tOp && c.val == "," {
				p.next()
			}
		default:
			return nil, p.expected(n, "a named parameter (name=value) or the end of <@"+t.val+">")
		}
	}
}

func (p *parser) checkParams(s *stmt) error {
	switch s.ukind {
	case uLoop:
		hasVal := false
		for _, pr := range s.parms {
			switch pr.name {
			case "data":
			case "val":
				hasVal = true
			default:
				return p.errAt(s.begin, RuleSyntax, "<@loop>: unsupported parameter "+strconv.Quote(pr.name)+"; use data= and val=")
			}
		}
		if !hasVal {
			return p.errAt(s.begin, RuleSyntax, "<@loop>: missing required parameter val=\"name\"")
		}
	}
	return nil
}
