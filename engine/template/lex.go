package template

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies a token. The lexer is a state machine in the manner of
// text/template/parse: template text, the inside of a tag (where '>' ends
// the tag unless parenthesised) and the inside of an interpolation (where
// '}' ends it unless a '{' is open) are separate states.
type tokKind uint8

const (
	tEOF tokKind = iota
	tText
	tInterp      // ${
	tHashInterp  // #{
	tDirective   // <#name ; val = name
	tEndDir      // </#name> ; val = name
	tUser        // <@name ; val = name
	tUserEnd     // </@name> or </@> ; val = name
	tComment     // <#-- ... -->
	tTagEnd      // >
	tEmptyTagEnd // />
	tInterpEnd   // } closing an interpolation
	tIdent
	tNumber
	tString    // val = raw source between the quotes, quote = the quote char
	tRawString // r"..." ; val = contents
	tOp        // operators and punctuation; val = the operator
	tError
)

type token struct {
	kind   tokKind
	val    string
	pos    position
	end    position // position just after the token (for tags: the tag's end)
	off    int      // byte offset of the token in the source
	endOff int      // byte offset just after the token
	quote  byte
}

// terminating marks a '!' token that cannot take a right-hand side.
const terminating = 1

type lexState uint8

const (
	stText lexState = iota
	stTag
	stInterp
)

type lexer struct {
	src    string
	base   int // byte offset of src in the template (for ${...} inside a string literal)
	i      int
	line   int32
	col    int32
	toks   []token
	state  lexState
	parens int  // open '(' in a tag
	braces int  // open '{' in an interpolation
	inUser bool // inside a <@...> tag, where white-space separates arguments
	// opened is where the current tag or ${...} starts, and opener its
	// first characters: an unterminated one is reported there, where the
	// reader looks for it, not at the end of the text
	opened position
	opener string
	// failed marks the current tag or ${...} as already reported, so that
	// one bad construct gets one error
	failed bool
	errs   []*Error
	name   string
}

// lex tokenises the whole template. It does not stop at a lexical error:
// it records it, emits a tError token in its place for the parser to skip
// and goes on, so that one pass reports every malformed construct.
func lex(name, src string) ([]token, []*Error) {
	l := &lexer{src: src, line: 1, col: 1, name: name}
	for {
		var done bool
		switch l.state {
		case stText:
			done = l.lexText()
		default:
			done = l.lexExpr()
		}
		if done {
			break
		}
	}
	l.toks = append(l.toks, token{kind: tEOF, pos: l.pos(), end: l.pos(), off: len(src), endOff: len(src)})
	return l.toks, l.errs
}

func (l *lexer) pos() position { return position{Line: l.line, Col: l.col, Off: int32(l.base + l.i)} }

// advance moves over n bytes, keeping line and column (in code points).
func (l *lexer) advance(n int) {
	end := l.i + n
	for l.i < end {
		c := l.src[l.i]
		if c == '\n' {
			l.line++
			l.col = 1
			l.i++
			continue
		}
		if c < utf8.RuneSelf {
			l.i++
		} else {
			_, sz := utf8.DecodeRuneInString(l.src[l.i:])
			l.i += sz
		}
		l.col++
	}
}

// fail records a lexical error at p, once per construct, and emits a
// tError token, from p to where the lexer is, so that the parser abandons
// the construct without a second error of its own.
func (l *lexer) fail(p position, msg string) {
	if !l.failed {
		l.errs = append(l.errs, errAtPos(l.name, p, RuleSyntax, msg))
	}
	l.failed = l.state != stText
	l.toks = append(l.toks, token{kind: tError, pos: p, end: l.pos(), off: int(p.Off) - l.base, endOff: l.i})
}

func (l *lexer) emit(k tokKind, val string, p position, off int) {
	l.toks = append(l.toks, token{kind: k, val: val, pos: p, end: l.pos(), off: off, endOff: l.i})
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c == '@' || c >= utf8.RuneSelf
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

// lexText scans template text up to the next FTL construct.
func (l *lexer) lexText() bool {
	start, sp := l.i, l.pos()
	flush := func() {
		if l.i > start {
			l.toks = append(l.toks, token{kind: tText, val: l.src[start:l.i], pos: sp, end: l.pos(), off: start, endOff: l.i})
		}
	}
	for l.i < len(l.src) {
		rest := l.src[l.i:]
		switch {
		case strings.HasPrefix(rest, "${"), strings.HasPrefix(rest, "#{"):
			flush()
			k := tInterp
			if rest[0] == '#' {
				k = tHashInterp
			}
			l.opened, l.opener = l.pos(), rest[:2]
			l.take(k, rest[:2], 2)
			l.state, l.braces, l.inUser, l.failed = stInterp, 0, false, false
			return false
		case strings.HasPrefix(rest, "<#--"):
			flush()
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				p := l.pos()
				l.advance(len(rest))
				l.fail(p, "unclosed comment: <#-- has no matching -->; add --> where the comment ends")
				return true
			}
			l.take(tComment, "", 4+end+3)
			return l.lexText()
		case strings.HasPrefix(rest, "<#") && len(rest) > 2 && isDirNameStart(rest[2]):
			flush()
			l.openTag(tDirective, rest[2:2+dirNameLen(rest[2:])], false)
			return false
		case strings.HasPrefix(rest, "</#") && len(rest) > 3 && isDirNameStart(rest[3]):
			flush()
			name := rest[3 : 3+dirNameLen(rest[3:])]
			j := skipSpaces(rest, 3+len(name))
			if j >= len(rest) || rest[j] != '>' {
				// reported, and taken as the end tag it was meant to be,
				// so that its block does not count as unclosed too
				p, off := l.pos(), l.i
				l.advance(3 + len(name))
				l.emit(tEndDir, name, p, off)
				l.advance(j - 3 - len(name))
				l.fail(l.pos(), "end tag </#"+name+" must be closed with >")
				return l.lexText()
			}
			l.take(tEndDir, name, j+1)
			return l.lexText()
		case strings.HasPrefix(rest, "<@") && len(rest) > 2 && isNameStart(rest[2]):
			flush()
			l.openTag(tUser, rest[2:2+userNameLen(rest[2:])], true)
			return false
		case strings.HasPrefix(rest, "</@"):
			j := 3
			n := 0
			if j < len(rest) && isNameStart(rest[j]) {
				n = userNameLen(rest[j:])
			}
			if k := skipSpaces(rest, j+n); k < len(rest) && rest[k] == '>' {
				flush()
				l.take(tUserEnd, rest[j:j+n], k+1)
				return l.lexText()
			}
			l.advance(1)
		default:
			// skip to the next byte that can start a construct
			k := strings.IndexAny(rest[1:], "$#<")
			if k < 0 {
				l.advance(len(rest))
			} else {
				l.advance(k + 1)
			}
		}
	}
	flush()
	return true
}

// take emits the next n bytes as one token of kind k and value val.
func (l *lexer) take(k tokKind, val string, n int) {
	p, off := l.pos(), l.i
	l.advance(n)
	l.emit(k, val, p, off)
}

// openTag emits the start of a tag, <#name or <@name (kind k; user for
// a user-defined directive's), and lexes the tag's parameters next.
func (l *lexer) openTag(k tokKind, name string, user bool) {
	l.opened, l.opener = l.pos(), l.src[l.i:l.i+2+len(name)]
	l.take(k, name, 2+len(name))
	l.state, l.parens, l.inUser, l.failed = stTag, 0, user, false
}

// skipSpaces is the index of the first byte at or after i in s that is
// not white space.
func skipSpaces(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isDirNameStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func dirNameLen(s string) int {
	n := 0
	for n < len(s) && (isDirNameStart(s[n]) || s[n] == '_') {
		n++
	}
	return n
}

func userNameLen(s string) int {
	n := 0
	for n < len(s) && (isNameChar(s[n]) || s[n] == '.' && n+1 < len(s) && isNameStart(s[n+1])) {
		n++
	}
	return n
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// threeOps and twoOps are matched longest first.
var threeOps = []string{"..<", "..!", "..*"}
var twoOps = []string{"??", "==", "!=", "<=", ">=", "&&", "||", "..", "+=", "-=", "*=", "/=", "%=", "++", "--"}

// lexExpr scans one token inside a tag or an interpolation.
func (l *lexer) lexExpr() bool {
	for l.i < len(l.src) && isSpace(l.src[l.i]) {
		l.advance(1)
	}
	if l.i >= len(l.src) {
		if l.state == stTag {
			l.fail(l.opened, "unclosed tag "+l.opener+": add > where it ends")
		} else {
			l.fail(l.opened, "unclosed "+l.opener+": add } where the expression ends")
		}
		return true
	}
	rest := l.src[l.i:]
	p, off := l.pos(), l.i
	c := rest[0]
	switch {
	case l.state == stTag && l.parens == 0 && c == '>':
		l.advance(1)
		l.emit(tTagEnd, ">", p, off)
		l.state, l.inUser = stText, false
		return false
	case l.state == stTag && l.parens == 0 && strings.HasPrefix(rest, "/>"):
		l.advance(2)
		l.emit(tEmptyTagEnd, "/>", p, off)
		l.state, l.inUser = stText, false
		return false
	case l.state == stInterp && c == '}' && l.braces == 0:
		l.advance(1)
		l.emit(tInterpEnd, "}", p, off)
		l.state = stText
		return false
	case c == '"' || c == '\'':
		return l.lexString(c, false)
	case c == 'r' && len(rest) > 1 && (rest[1] == '"' || rest[1] == '\''):
		l.advance(1)
		return l.lexString(rest[1], true)
	case c >= '0' && c <= '9':
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n+1 < len(rest) && rest[n] == '.' && rest[n+1] >= '0' && rest[n+1] <= '9' {
			n++
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
		}
		l.advance(n)
		l.emit(tNumber, rest[:n], p, off)
		return false
	case isNameStart(c):
		n := identLen(rest)
		if n == 0 {
			r, sz := utf8.DecodeRuneInString(rest)
			l.advance(sz)
			l.fail(p, "unexpected character "+quoteRune(r)+" in an expression; remove it, or put it in a string literal")
			return false
		}
		l.advance(n)
		l.emit(tIdent, rest[:n], p, off)
		return false
	}
	for _, op := range threeOps {
		if strings.HasPrefix(rest, op) {
			l.advance(3)
			l.emit(tOp, op, p, off)
			return false
		}
	}
	for _, op := range twoOps {
		if strings.HasPrefix(rest, op) {
			l.advance(2)
			l.emit(tOp, op, p, off)
			return false
		}
	}
	switch c {
	case '(':
		l.parens++
	case ')':
		l.parens--
	case '{':
		l.braces++
	case '}':
		l.braces--
	case '.':
		// Branch dialect: a dotted name may start with '~' or '+'.
		if len(rest) > 2 && (rest[1] == '~' || rest[1] == '+') && isNameStart(rest[2]) {
			l.advance(1)
			l.emit(tOp, ".", p, off)
			p2, off2 := l.pos(), l.i
			n := 1 + identLen(rest[2:])
			l.advance(n)
			l.emit(tIdent, rest[1:1+n], p2, off2)
			return false
		}
	}
	if strings.ContainsRune("()[]{},:.?!=<>+-*/%;&|", rune(c)) {
		l.advance(1)
		l.emit(tOp, rest[:1], p, off)
		if c == '!' && l.inUser && l.parens == 0 && len(rest) > 1 && isSpace(rest[1]) {
			// FreeMarker: in a directive call, "x! " ends the default
			// expression; what follows is not its right-hand side
			l.toks[len(l.toks)-1].quote = terminating
		}
		return false
	}
	r, sz := utf8.DecodeRuneInString(rest)
	if unicode.IsSpace(r) {
		l.advance(sz)
		return false
	}
	l.advance(sz)
	l.fail(p, "unexpected character "+quoteRune(r)+" in an expression; remove it, or put it in a string literal")
	return false
}

func identLen(s string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		if c >= utf8.RuneSelf {
			r, sz := utf8.DecodeRuneInString(s[n:])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			n += sz
			continue
		}
		if !isNameChar(c) {
			break
		}
		n++
	}
	return n
}

func quoteRune(r rune) string { return strconv.QuoteRune(r) }

// lexString scans a string literal; escapes and ${...} inside are
// interpreted by the parser, which needs the raw text.
func (l *lexer) lexString(q byte, raw bool) bool {
	p, off := l.pos(), l.i
	if raw {
		p.Col--
		p.Off--
		off--
	}
	rest := l.src[l.i+1:]
	j := 0
	for j < len(rest) {
		c := rest[j]
		if c == q {
			break
		}
		if c == '\\' && !raw {
			j += 2
			continue
		}
		j++
	}
	if j >= len(rest) {
		l.advance(len(l.src) - l.i)
		l.fail(p, "unclosed string literal: add the closing "+string(q))
		return true
	}
	l.advance(j + 2)
	k := tString
	if raw {
		k = tRawString
	}
	l.toks = append(l.toks, token{kind: k, val: rest[:j], pos: p, end: l.pos(), off: off, endOff: l.i, quote: q})
	return false
}
