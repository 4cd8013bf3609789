package template

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// blocked is the one list of the constructs kept out of templates, as a
// template writes them ("<#include", "?eval"), with a hint for each.
//
// branch marks the entries on Branch's published blocklist. Branch
// matches them as plain substrings of the template text, and so does
// Parse: they are found wherever they occur, in a comment or a string
// literal too (and ?eval_json contains ?eval). The other entries are
// FreeMarker built-ins that break the sandbox as ?eval does; Parse finds
// them where an expression uses them.
//
// runs marks the entries adgate runs all the same, because they are safe
// inside the sandbox (they only iterate over the data model, bounded by
// the step, output and time limits): Parse accepts them and ParseTree
// reports a RuleBranchBlocked warning, for templates meant to be pasted
// back into Branch. Parse refuses the others with RuleBlocked: they load
// other files, walk nodes, define code, change the fixed formats or
// evaluate text as code.
var blocked = []struct {
	text, hint   string
	branch, runs bool
}{
	{"<#import", "templates cannot load other templates; inline what you need", true, false},
	{"<#visit", "node processing is not available; remove it", true, false},
	{"<#include", "templates cannot read other files; inline the text", true, false},
	{"<#recurse", "node processing is not available; remove it", true, false},
	{"<#setting", "formats are fixed (number_format \"computer\", locale en_US, time zone UTC); remove it", true, false},
	{"<#macro", "templates cannot define macros; compute values with <#assign>", true, false},
	{"<#function", "templates cannot define functions; compute values with <#assign>", true, false},
	{"<#nested", "templates cannot define macros; remove it", true, false},
	{"<#return", "templates cannot define functions; remove it", true, false},
	{"<#list", "adgate runs it, but Branch rejects the template; where it must run in Branch too, iterate with <@loop data=SEQUENCE val=\"item\">...</@loop>", true, true},
	{"?eval", "it evaluates a string as an expression; read the value itself, or convert it with ?number or ?boolean", true, false},
	{"?eval_json", "it evaluates a string as an expression; read the value itself", true, false},
	{"?interpret", "it evaluates a string as a template; write the template itself", false, false},
	{"?new", "it instantiates Java classes; remove it", false, false},
	{"?api", "it exposes the Java objects behind values; remove it", false, false},
}

// blockedMsg is the message about entry i of blocked.
func blockedMsg(i int) string {
	b := blocked[i]
	switch {
	case b.runs:
		return "template uses " + b.text + ", which Branch's blocklist refuses in webhook templates: " + b.hint
	case b.branch:
		return "template uses " + b.text + ", which Branch blocks in webhook templates: " + b.hint
	}
	return "template uses " + b.text + ", which adgate refuses in templates: " + b.hint
}

// blockedBuiltin returns the message about built-in name, if it is
// blocked.
func blockedBuiltin(name string) (msg string, ok bool) {
	for i, b := range blocked {
		if b.text[0] == '?' && b.text[1:] == name {
			return blockedMsg(i), true
		}
	}
	return "", false
}

// tagForm is how Blocked and BranchBlocked write an entry: "<#list>".
func tagForm(text string) string {
	if text[0] == '<' {
		return text + ">"
	}
	return text
}

// Blocked lists the constructs Parse refuses with RuleBlocked as a
// template writes them ("<#include>", "?eval", ...), besides the Sprig
// functions that reach outside the template (sprig.env, ...).
func Blocked() []string {
	var out []string
	for _, b := range blocked {
		if !b.runs {
			out = append(out, tagForm(b.text))
		}
	}
	return out
}

// BranchBlocked lists the constructs on Branch's blocklist that Parse
// accepts and runs ("<#list>"): ParseTree reports each use as a
// RuleBranchBlocked warning.
func BranchBlocked() []string {
	var out []string
	for _, b := range blocked {
		if b.runs {
			out = append(out, tagForm(b.text))
		}
	}
	return out
}

// ftlDirectives are the FreeMarker 2.3.31 directives this engine does not
// implement (besides the blocked ones), true for those that take a body
// and an end tag: an error recovers by skipping that body as one unit.
var ftlDirectives = map[string]bool{
	"switch": true, "case": false, "default": false, "on": false, "local": false, "global": false,
	"ftl": false, "t": false, "lt": false, "rt": false, "nt": false, "noparse": true, "compress": true,
	"attempt": true, "recover": false, "stop": false, "flush": false, "escape": true, "noescape": true,
	"autoesc": true, "noautoesc": true, "outputformat": true, "fallback": false, "foreach": true,
	"visit": false, "import": false, "include": false, "macro": true, "function": true, "nested": false,
	"return": false, "recurse": false, "setting": false,
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

	// errs are the errors reported so far; parsing goes on after one, to
	// the end of the construct that failed
	errs []*Error
	// warns are the constructs on Branch's blocklist that adgate runs
	// (RuleBranchBlocked), in source order
	warns []*Error
	// reportedAt holds the byte offsets of the errors reported: one
	// position gets one error, the first (a blocked construct's, as those
	// are found first, then a lexical one), so that a construct is not
	// also reported by the parser's complaint about the same token
	reportedAt map[int32]bool
	// open lists the opening tags (<#if, <@json) of the blocks being
	// parsed, innermost last: an end tag closes the one it names, and the
	// blocks opened inside it are reported unclosed
	open    []token
	openBuf [8]token // open's first array: no allocation for shallow nesting
	// paths numbers the distinct variable paths (a.b, a.b.c) the
	// template reads, for the execution's memo (see dotExpr.slot)
	paths map[string]int32
	// aborted is set when a bound is hit; the rest is not parsed
	aborted bool

	// iters are the #list blocks being parsed, innermost last: what
	// #items, #sep and the loop-variable built-ins (x?index) must be
	// inside, as FreeMarker's parser checks
	iters []iterCtx
	// breakable counts the enclosing blocks that #break and #continue
	// may leave: a #list with a loop variable, an #items
	breakable int
}

// iterCtx is a #list being parsed: FreeMarker's ParserIteratorBlockContext.
type iterCtx struct {
	// var1 and var2 are the loop variables in scope: the #list's, or the
	// #items' while its body is parsed; empty otherwise
	var1, var2 string
	items      bool // an #items was met
	hash       bool // it lists a hash's key-value pairs
}

// errReported stands for an error already reported at a tError token: the
// construct is abandoned without a second error.
var errReported = &Error{Rule: RuleSyntax, Msg: "reported"}

func newParser(name, text string, opt Options) *parser {
	return &parser{name: name, src: text, opt: opt}
}

func errAtPos(name string, pos position, rule, msg string) *Error {
	return &Error{Name: name, Line: int(pos.Line), Col: int(pos.Col), Offset: int(pos.Off), Rule: rule, Msg: msg}
}

func (p *parser) errAt(pos position, rule, msg string) *Error {
	return errAtPos(p.name, pos, rule, msg)
}

// report records err unless the lexer reported it already
// (errReported) or another error holds its position. A bound error
// aborts the parse.
func (p *parser) report(err error) {
	e, ok := err.(*Error)
	if !ok || e == errReported || p.aborted {
		return
	}
	if e.Rule == RuleLimit {
		p.aborted = true
		p.i = len(p.toks) - 1
	}
	if p.reportedAt[int32(e.Offset)] {
		return
	}
	if p.reportedAt == nil {
		p.reportedAt = map[int32]bool{}
	}
	p.reportedAt[int32(e.Offset)] = true
	p.errs = append(p.errs, e)
}

// findBlocked reports every occurrence of a construct Branch blocks by
// substring: an error, or a warning for those adgate runs.
func (p *parser) findBlocked() {
	// positions are counted on from the previous finding, so that many
	// findings cost O(len) and not O(n*len)
	last, lastPos := 0, position{Line: 1, Col: 1}
	for i := 0; ; {
		j := strings.IndexAny(p.src[i:], "<?")
		if j < 0 {
			break
		}
		i += j
		// the longest entry found there: ?eval_json rather than ?eval
		found := -1
		for k, b := range blocked {
			if b.branch && strings.HasPrefix(p.src[i:], b.text) && (found < 0 || len(b.text) > len(blocked[found].text)) {
				found = k
			}
		}
		if found < 0 {
			i++
			continue
		}
		lastPos = advancePos(lastPos, p.src[last:i])
		last = i
		if e := p.errAt(lastPos, RuleBlocked, blockedMsg(found)); blocked[found].runs {
			e.Rule = RuleBranchBlocked
			p.warns = append(p.warns, e)
		} else {
			p.report(e)
		}
		i += len(blocked[found].text)
	}
}

// parse parses the template, recovering from errors, and returns its tree
// before white-space stripping, and every error found in source order.
func (p *parser) parse() ([]*stmt, []*Error) {
	p.open = p.openBuf[:0]
	p.findBlocked()
	toks, lerrs := lex(p.name, p.src)
	for _, e := range lerrs {
		p.report(e)
	}
	p.toks = toks
	// with no block open, parseBody stops only at the end of the text
	body, _ := p.parseBody()
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Offset, b.Offset) })
	return body, p.errs
}

// parseTemplate parses the template for execution: the first error fails
// it, a blocked construct before any other.
func (p *parser) parseTemplate() ([]*stmt, error) {
	body, errs := p.parse()
	if len(errs) > 0 {
		for _, e := range errs {
			if e.Rule == RuleBlocked {
				return nil, e
			}
		}
		return nil, errs[0]
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
		return p.errAt(t.pos, RuleSyntax, "unexpected </#"+t.val+"> with no matching <#"+t.val+">"+p.innermost())
	case tUserEnd:
		return p.errAt(t.pos, RuleSyntax, "unexpected </@"+t.val+"> with no matching <@"+t.val+">"+p.innermost())
	case tDirective:
		return p.errAt(t.pos, RuleSyntax, "<#"+t.val+"> outside of <#if>")
	}
	return p.errAt(t.pos, RuleSyntax, "unexpected "+strconv.Quote(t.val))
}

// innermost names the block an end tag could close, for messages.
func (p *parser) innermost() string {
	if len(p.open) == 0 {
		return ""
	}
	return " (the innermost open block is <" + tagName(p.open[len(p.open)-1]) + ">)"
}

// tagName is the name of the directive that t opens: "#if", "@json".
func tagName(t token) string {
	if t.kind == tUser {
		return "@" + t.val
	}
	return "#" + t.val
}

// closes reports whether end tag end closes the block opened by open.
func closes(end, open token) bool {
	switch end.kind {
	case tEndDir:
		return open.kind == tDirective && open.val == end.val
	case tUserEnd:
		return open.kind == tUser && (end.val == "" || open.val == end.val)
	}
	return false
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
		case sIf, sBranch, sUser, sCapture, sList, sListElse, sElseOfList, sItems, sSep:
			s.body = p.finish(s.body)
		}
		s.parent = nil
		out = append(out, s)
	}
	return out
}

// splitMacros turns {name} inside text into macro nodes when name has
// the macro syntax (macro.go) and Options.IsMacro says it is one.
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
		end, ok := macroAt(text, i)
		if !ok {
			continue
		}
		j := end - 1
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
	p.Off += int32(len(s))
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
		return position{Line: end.Line - 1, Col: 1 << 20}
	}
	return position{Line: end.Line, Col: end.Col - 1}
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// parseBody parses elements until EOF, an end tag that closes an open
// block, or an #elseif/#else of the innermost #if, which it returns
// without consuming. Errors are reported and parsing goes on.
func (p *parser) parseBody() ([]*stmt, token) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxStmtDepth {
		p.report(p.errAt(p.peek().pos, RuleLimit, "directives nested deeper than "+strconv.Itoa(maxStmtDepth)))
	}
	var out []*stmt
	for {
		t := p.peek()
		switch t.kind {
		case tEOF:
			return out, t
		case tEndDir, tUserEnd:
			if p.closesOpen(t) {
				return out, t
			}
			p.report(p.unexpectedEnd(t))
			p.next()
		case tError:
			p.next()
		case tText:
			p.next()
			out = append(out, &stmt{kind: sText, text: t.val, begin: t.pos, end: lastCharPos(t.end, t.val), stop: t.end})
		case tComment:
			p.next()
			out = append(out, &stmt{kind: sComment, begin: t.pos,
				end: position{Line: t.end.Line, Col: t.end.Col - 1}, stop: t.end})
		case tInterp, tHashInterp:
			p.next()
			k := sInterp
			if t.kind == tHashInterp {
				k = sHashInterp
			}
			x, err := p.parseExpr()
			if err == nil {
				if e := p.peek(); e.kind == tInterpEnd {
					p.next()
					out = append(out, &stmt{kind: k, x: x, begin: t.pos, end: e.pos, stop: e.end})
					continue
				}
				err = p.expected(p.peek(), "} to close "+t.val)
			}
			p.report(err)
			p.skipConstruct(tInterpEnd)
			out = append(out, &stmt{kind: sBad, begin: t.pos, stop: p.prevEnd()})
		case tDirective:
			switch t.val {
			case "elseif", "else":
				if p.endsBlock(t) {
					return out, t
				}
				p.report(p.unexpectedEnd(t))
				p.next()
				p.skipTag()
				continue
			}
			out = append(out, p.parseDirective())
		case tUser:
			out = append(out, p.parseUser())
		default:
			p.report(p.errAt(t.pos, RuleSyntax, "unexpected "+strconv.Quote(t.val)))
			p.next()
		}
	}
}

// endsBlock reports whether #else or #elseif tag t ends the body of the
// innermost open block: an #if's arm, a #list's body (#else only) or an
// unclosed #sep's body, whose enclosing block then takes the tag.
func (p *parser) endsBlock(t token) bool {
	o := len(p.open) - 1
	if o < 0 || p.open[o].kind != tDirective {
		return false
	}
	switch p.open[o].val {
	case "if", "sep":
		return true
	case "list":
		return t.val == "else"
	}
	return false
}

// closesOpen reports whether end tag t closes one of the open blocks.
func (p *parser) closesOpen(t token) bool {
	for i := len(p.open) - 1; i >= 0; i-- {
		if closes(t, p.open[i]) {
			return true
		}
	}
	return false
}

// block parses the body of the block opened by tag open, up to and
// including its end tag. An end tag of an outer block or the end of the
// text leaves it unclosed: that is reported at the opening tag, and closed
// reports false.
func (p *parser) block(open token) (body []*stmt, end token, closed bool) {
	p.open = append(p.open, open)
	body, end = p.parseBody()
	p.open = p.open[:len(p.open)-1]
	if closes(end, open) {
		p.next()
		return body, end, true
	}
	p.report(p.unclosed(open))
	return body, end, false
}

func (p *parser) unclosed(open token) *Error {
	name := tagName(open)
	return p.errAt(open.pos, RuleSyntax, "unclosed <"+name+">: add </"+name+"> where its body ends")
}

// skipConstruct skips the rest of a tag or ${...} after an error: up to
// and including the token of kind end (or of either tag end when end is
// tTagEnd), or up to the next template text or tag, which it leaves. It
// returns the kind of the token that ended the construct, tEOF if none.
func (p *parser) skipConstruct(end tokKind) tokKind {
	for {
		t := p.peek()
		switch t.kind {
		case tEOF, tText, tInterp, tHashInterp, tDirective, tEndDir, tUser, tUserEnd, tComment:
			return tEOF
		}
		p.next()
		if t.kind == end || end == tTagEnd && t.kind == tEmptyTagEnd {
			return t.kind
		}
	}
}

func (p *parser) skipTag() tokKind { return p.skipConstruct(tTagEnd) }

// prevEnd is the position just past the last token consumed.
func (p *parser) prevEnd() position {
	if p.i == 0 {
		return position{Line: 1, Col: 1}
	}
	return p.toks[p.i-1].end
}

func (p *parser) expected(t token, what string) *Error {
	if t.kind == tError {
		return errReported
	}
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
	t := p.peek()
	if t.kind != tTagEnd {
		return t, p.expected(t, "\">\"")
	}
	p.next()
	return t, nil
}

// bad recovers from an error in the tag opened by t: it skips
// the rest of the tag and, when the directive takes a body, the body too,
// so that the end tag does not count as a second error.
func (p *parser) bad(t token, hasBody bool) *stmt {
	s := &stmt{kind: sBad, name: tagName(t), begin: t.pos}
	if p.skipTag() == tTagEnd && hasBody {
		s.body, _, _ = p.block(t)
		if s.body == nil {
			s.body = []*stmt{} // a body, though empty
		}
	}
	s.stop = p.prevEnd()
	return s
}

func (p *parser) parseDirective() *stmt {
	t := p.next()
	switch t.val {
	case "if":
		return p.parseIf(t)
	case "assign":
		return p.parseAssign(t)
	case "list":
		return p.parseList(t)
	case "items":
		return p.parseItems(t)
	case "sep":
		return p.parseSep(t)
	case "break", "continue":
		return p.parseBreak(t)
	}
	block, known := ftlDirectives[t.val]
	if known {
		p.report(p.errAt(t.pos, RuleSyntax, "directive #"+t.val+" is not supported in Branch templates"))
	} else {
		p.report(p.errAt(t.pos, RuleSyntax, "unknown directive #"+t.val))
	}
	return p.bad(t, block)
}

func (p *parser) parseIf(t token) *stmt {
	ifs := &stmt{kind: sIf, begin: t.pos}
	open := t
	cond, err := p.parseExpr()
	var te token
	if err == nil {
		te, err = p.tagEnd()
	}
	if err != nil {
		p.report(err)
		p.skipTag()
	}
	br := &stmt{kind: sBranch, x: cond, begin: t.pos, end: te.pos}
	sawElse := false
	for {
		p.open = append(p.open, open)
		body, end := p.parseBody()
		p.open = p.open[:len(p.open)-1]
		br.body = body
		br.stop = end.pos
		ifs.body = append(ifs.body, br)
		switch {
		case end.kind == tDirective && (end.val == "elseif" || end.val == "else"):
			p.next()
			if sawElse {
				p.report(p.errAt(end.pos, RuleSyntax, "#"+end.val+" after #else"))
			}
			var c expr
			var err error
			if end.val == "elseif" {
				c, err = p.parseExpr()
			}
			var te token
			if err == nil {
				te, err = p.tagEnd()
			}
			if err != nil {
				p.report(err)
				p.skipTag()
			}
			sawElse = sawElse || end.val == "else"
			br = &stmt{kind: sBranch, x: c, begin: end.pos, end: te.pos}
		case end.kind == tEndDir && end.val == "if":
			p.next()
			ifs.end = position{Line: end.end.Line, Col: end.end.Col - 1}
			ifs.stop = end.end
			return ifs
		default:
			p.report(p.unclosed(open))
			ifs.stop = end.pos
			return ifs
		}
	}
}

func (p *parser) parseAssign(t token) *stmt {
	s, err := p.assignSets(t)
	if err != nil {
		p.report(err)
		return p.bad(t, false)
	}
	return s
}

func (p *parser) assignSets(t token) (*stmt, error) {
	s := &stmt{kind: sAssign, begin: t.pos}
	for {
		n := p.peek()
		if n.kind != tIdent {
			if len(s.sets) > 0 && (n.kind == tTagEnd || n.kind == tEmptyTagEnd) {
				p.next()
				s.end, s.stop = n.pos, n.end
				return s, nil
			}
			return nil, p.expected(n, "a variable name")
		}
		p.next()
		if !isPlainName(n.val) {
			return nil, p.errAt(n.pos, RuleSyntax, "cannot assign to "+strconv.Quote(n.val))
		}
		op := p.peek()
		switch {
		case len(s.sets) == 0 && op.kind == tTagEnd:
			// <#assign x>...</#assign>: capture
			p.next()
			body, end, closed := p.block(t)
			s := &stmt{kind: sCapture, name: n.val, body: body, begin: t.pos}
			if closed {
				s.end, s.stop = position{Line: end.end.Line, Col: end.end.Col - 1}, end.end
			} else {
				s.stop = end.pos
			}
			return s, nil
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

func (p *parser) parseUser() *stmt {
	t := p.next()
	k, ok := userNames[t.val]
	if !ok {
		p.report(p.errAt(t.pos, RuleSyntax, "unknown user directive <@"+t.val+
			">; Branch templates can use <@loop>, <@break>, <@sep>, <@json>, <@jsonmap> and <@urlencode>"))
		return p.bad(t, true)
	}
	s := &stmt{kind: sUser, ukind: k, name: t.val, begin: t.pos}
	for {
		n := p.peek()
		switch n.kind {
		case tEmptyTagEnd:
			p.next()
			s.end, s.stop = position{Line: n.pos.Line, Col: n.pos.Col + 1}, n.end
			p.report(p.checkParams(s))
			return s
		case tTagEnd:
			p.next()
			p.report(p.checkParams(s))
			body, end, closed := p.block(t)
			// an empty body is still a body: <@json></@json> writes ""
			if body == nil {
				body = []*stmt{}
			}
			s.body = body
			if closed {
				s.end, s.stop = position{Line: end.end.Line, Col: end.end.Col - 1}, end.end
			} else {
				s.stop = end.pos
			}
			return s
		case tIdent:
			p.next()
			eq := p.peek()
			if eq.kind != tOp || eq.val != "=" {
				p.report(p.expected(eq, "\"=\" after parameter "+n.val))
				return p.bad(t, true)
			}
			p.next()
			x, err := p.parseExpr()
			if err != nil {
				p.report(err)
				return p.bad(t, true)
			}
			s.parms = append(s.parms, param{name: n.val, x: x})
			if c := p.peek(); c.kind == tOp && c.val == "," {
				p.next()
			}
		default:
			p.report(p.expected(n, "a named parameter (name=value) or the end of <@"+t.val+">"))
			return p.bad(t, true)
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
