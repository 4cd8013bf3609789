package spec

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies a piece of template text.
type tokKind int

const (
	tokText    tokKind = iota // literal output text
	tokInterp                 // ${...}
	tokDir                    // <#name ...>, </#name>
	tokUser                   // <@name ...>, </@name>, <@name/>
	tokComment                // <#-- ... -->
)

// tok is one piece of a template; Start and End are code-point offsets.
type tok struct {
	Kind       tokKind
	Start, End int
	Name       string // directive name, for tokDir and tokUser
	Close      bool   // </#x> or </@x>
	SelfClose  bool   // <@x/>
	Unfinished bool   // ran to the end of the text without its closing mark
}

// scanTemplate splits FreeMarker text into literal text and constructs. It
// only finds the constructs' ends (respecting string literals and nesting);
// it does not parse expressions. Problems with the constructs themselves are
// left to the TemplateChecker.
func scanTemplate(text []rune) []tok {
	var toks []tok
	textStart := 0
	flush := func(end int) {
		if end > textStart {
			toks = append(toks, tok{Kind: tokText, Start: textStart, End: end})
		}
	}
	i := 0
	for i < len(text) {
		var t tok
		switch {
		case hasPrefix(text, i, "<#--"):
			end, ok := indexFrom(text, i+4, "-->")
			t = tok{Kind: tokComment, Start: i, End: end + 3, Unfinished: !ok}
			if !ok {
				t.End = len(text)
			}
		case hasPrefix(text, i, "${"):
			end, ok := matchBrace(text, i+2)
			t = tok{Kind: tokInterp, Start: i, End: end, Unfinished: !ok}
		case hasPrefix(text, i, "<#") && i+2 < len(text) && isNameStart(text[i+2]),
			hasPrefix(text, i, "</#") && i+3 < len(text) && isNameStart(text[i+3]):
			t = scanTag(text, i, tokDir)
		case hasPrefix(text, i, "<@") && i+2 < len(text) && (isNameStart(text[i+2])),
			hasPrefix(text, i, "</@"):
			t = scanTag(text, i, tokUser)
		default:
			i++
			continue
		}
		flush(i)
		toks = append(toks, t)
		i = t.End
		textStart = i
	}
	flush(len(text))
	return toks
}

func scanTag(text []rune, i int, kind tokKind) tok {
	t := tok{Kind: kind, Start: i}
	j := i + 2
	if text[i+1] == '/' {
		t.Close = true
		j = i + 3
	}
	ns := j
	for j < len(text) && (isNameChar(text[j]) || (kind == tokUser && text[j] == '.')) {
		j++
	}
	t.Name = string(text[ns:j])
	// FreeMarker ends a tag at the first > outside parentheses and strings.
	depth := 0
	for j < len(text) {
		switch r := text[j]; r {
		case '"', '\'':
			j = skipString(text, j)
			continue
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case '>':
			if depth == 0 {
				t.End = j + 1
				t.SelfClose = j > 0 && text[j-1] == '/'
				return t
			}
		}
		j++
	}
	t.End = len(text)
	t.Unfinished = true
	return t
}

// matchBrace returns the offset just past the } closing a ${ whose
// expression starts at i, counting nested braces and skipping strings.
func matchBrace(text []rune, i int) (int, bool) {
	depth := 0
	for i < len(text) {
		switch text[i] {
		case '"', '\'':
			i = skipString(text, i)
			continue
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i + 1, true
			}
			depth--
		}
		i++
	}
	return len(text), false
}

// skipString returns the offset past the string literal opening at i
// (raw strings r"..." have no escapes; the r was already consumed as text).
func skipString(text []rune, i int) int {
	q := text[i]
	raw := i > 0 && text[i-1] == 'r'
	for j := i + 1; j < len(text); j++ {
		if !raw && text[j] == '\\' {
			j++
			continue
		}
		if text[j] == q {
			return j + 1
		}
	}
	return len(text)
}

func hasPrefix(text []rune, i int, p string) bool {
	for _, r := range p {
		if i >= len(text) || text[i] != r {
			return false
		}
		i++
	}
	return true
}

func indexFrom(text []rune, i int, p string) (int, bool) {
	for ; i < len(text); i++ {
		if hasPrefix(text, i, p) {
			return i, true
		}
	}
	return len(text), false
}

func isNameStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isNameChar(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// macroRE matches a {macro} in literal text. A macro name may hold the
// characters Branch partners use in theirs ({~click_id}, {android_id-idfa}).
var macroRE = regexp.MustCompile(`\{([A-Za-z0-9_~$+.\-]+)\}`)

// MacroIndexes returns, for every {macro} in text, the byte offsets of the
// whole reference and of the name inside it: {start, end, nameStart,
// nameEnd}. It is the one definition of what a macro looks like, shared
// by the lint and the renderer; whether a name is a declared parameter is
// the caller's question.
func MacroIndexes(text string) [][]int {
	return macroRE.FindAllStringSubmatchIndex(text, -1)
}

// macroRef is one {macro} found in template text.
type macroRef struct {
	Name       string
	Start, End int // code-point offsets of { and past }
}

// findMacros returns the {macro} references in the literal text of a
// template, outside ${...}, tags and comments.
func findMacros(text []rune, toks []tok) []macroRef {
	var out []macroRef
	for _, t := range toks {
		if t.Kind != tokText {
			continue
		}
		seg := string(text[t.Start:t.End])
		// Code-point offsets are counted on from the previous match, so
		// a URL with n macros costs O(len), not O(n*len).
		at, atByte := t.Start, 0
		for _, m := range macroRE.FindAllStringSubmatchIndex(seg, -1) {
			at += utf8.RuneCountInString(seg[atByte:m[0]])
			atByte = m[0]
			name := seg[m[2]:m[3]]
			out = append(out, macroRef{Name: name, Start: at, End: at + utf8.RuneCountInString(name) + 2})
		}
	}
	return out
}

// TemplateProblem is a well-formedness finding inside one template text.
type TemplateProblem struct {
	Offset int    // code-point offset in the template text
	Rule   string // RuleTemplateSyntax or RuleTemplateBlocked
	Msg    string
}

// TemplateChecker checks that a template is well formed and uses no blocked
// construct. isMacro reports which {name} are macros (declared parameters),
// as the template parser's Options.IsMacro does.
//
// NewLoader uses parserChecker (engine/template's parser); structuralChecker
// is the parser-free check it complements.
type TemplateChecker interface {
	CheckTemplate(text string, isMacro func(name string) bool) []TemplateProblem
}

// structuralChecker is a well-formedness check that needs no expression
// parser: balanced ${...}, directive and user-directive nesting, known
// directive names, and the constructs Branch blocks.
type structuralChecker struct{}

// blockedDirectives are the directives Branch's dialect refuses.
var blockedDirectives = map[string]bool{
	"import": true, "visit": true, "include": true, "recurse": true, "setting": true,
	"macro": true, "function": true, "nested": true, "return": true, "list": true,
}

// blockDirectives need a closing tag.
var blockDirectives = map[string]bool{
	"if": true, "attempt": true, "switch": true, "compress": true, "escape": true, "noescape": true,
	"autoesc": true, "noautoesc": true, "outputformat": true, "noparse": true, "items": true,
	"list": true, "macro": true, "function": true,
}

// otherDirectives are the remaining FreeMarker 2.3.31 directives.
var otherDirectives = map[string]bool{
	"assign": true, "global": true, "local": true, "else": true, "elseif": true, "recover": true,
	"case": true, "default": true, "on": true, "break": true, "continue": true, "stop": true,
	"flush": true, "ftl": true, "t": true, "lt": true, "rt": true, "nt": true, "sep": true,
	"fallback": true, "import": true, "visit": true, "include": true, "recurse": true,
	"setting": true, "nested": true, "return": true,
}

// blockedBuiltinRE finds built-ins that evaluate or reach outside the data
// model: Branch blocks ?eval; ?interpret, ?new and ?api break the sandbox the
// same way.
var blockedBuiltinRE = regexp.MustCompile(`\?\s*(eval|eval_json|interpret|new|api)\b`)

func (structuralChecker) CheckTemplate(text string, _ func(string) bool) []TemplateProblem {
	rs := []rune(text)
	toks := scanTemplate(rs)
	var probs []TemplateProblem
	add := func(off int, rule, format string, args ...any) {
		probs = append(probs, TemplateProblem{Offset: off, Rule: rule, Msg: fmt.Sprintf(format, args...)})
	}
	var stack []openBlock
	for _, t := range toks {
		if t.Kind != tokText && t.Kind != tokComment {
			for _, off := range blockedBuiltins(rs, t) {
				add(off, RuleTemplateBlocked, "built-in %s is blocked in Branch templates", strings.Join(strings.Fields(string(rs[off:off+blockedLen(rs, off)])), ""))
			}
		}
		switch t.Kind {
		case tokComment:
			if t.Unfinished {
				add(t.Start, RuleTemplateSyntax, "unclosed comment <#-- (no -->)")
			}
		case tokInterp:
			if t.Unfinished {
				add(t.Start, RuleTemplateSyntax, "unclosed ${ (no matching })")
			} else if strings.TrimSpace(string(rs[t.Start+2:t.End-1])) == "" {
				add(t.Start, RuleTemplateSyntax, "empty ${}")
			}
		case tokDir:
			if t.Unfinished {
				add(t.Start, RuleTemplateSyntax, "unclosed tag %s (no >)", string(rs[t.Start:min(t.Start+len(t.Name)+3, len(rs))]))
				continue
			}
			if blockedDirectives[t.Name] {
				if !t.Close {
					add(t.Start, RuleTemplateBlocked, "<#%s> is blocked in Branch templates", t.Name)
				}
				if !t.Close && blockDirectives[t.Name] && !t.SelfClose {
					stack = append(stack, openBlock{tokDir, t.Name, t.Start})
				}
				if t.Close && len(stack) > 0 && stack[len(stack)-1].kind == tokDir && stack[len(stack)-1].name == t.Name {
					stack = stack[:len(stack)-1]
				}
				continue
			}
			if !blockDirectives[t.Name] && !otherDirectives[t.Name] {
				add(t.Start, RuleTemplateSyntax, "unknown directive <#%s>", t.Name)
				continue
			}
			isBlock := blockDirectives[t.Name] || (isCapture(rs, t) && !t.Close)
			if t.Close {
				if len(stack) == 0 || stack[len(stack)-1].kind != tokDir || stack[len(stack)-1].name != t.Name {
					add(t.Start, RuleTemplateSyntax, "</#%s> has no matching <#%s>%s", t.Name, t.Name, expecting(stack))
					continue
				}
				stack = stack[:len(stack)-1]
				continue
			}
			switch t.Name {
			case "else", "elseif":
				if len(stack) == 0 || stack[len(stack)-1].name != "if" {
					add(t.Start, RuleTemplateSyntax, "<#%s> outside <#if>", t.Name)
				}
			case "recover":
				if len(stack) == 0 || stack[len(stack)-1].name != "attempt" {
					add(t.Start, RuleTemplateSyntax, "<#recover> outside <#attempt>")
				}
			case "case", "default", "on":
				if len(stack) == 0 || stack[len(stack)-1].name != "switch" {
					add(t.Start, RuleTemplateSyntax, "<#%s> outside <#switch>", t.Name)
				}
			}
			if isBlock && !t.SelfClose {
				stack = append(stack, openBlock{tokDir, t.Name, t.Start})
			}
		case tokUser:
			if t.Unfinished {
				add(t.Start, RuleTemplateSyntax, "unclosed tag <@%s (no >)", t.Name)
				continue
			}
			if t.Close {
				if len(stack) == 0 || stack[len(stack)-1].kind != tokUser || (t.Name != "" && stack[len(stack)-1].name != t.Name) {
					add(t.Start, RuleTemplateSyntax, "</@%s> has no matching <@%s>%s", t.Name, t.Name, expecting(stack))
					continue
				}
				stack = stack[:len(stack)-1]
				continue
			}
			if !t.SelfClose {
				stack = append(stack, openBlock{tokUser, t.Name, t.Start})
			}
		}
	}
	for _, o := range stack {
		mark := "#"
		if o.kind == tokUser {
			mark = "@"
		}
		add(o.at, RuleTemplateSyntax, "<%s%s> is never closed (add </%s%s>)", mark, o.name, mark, o.name)
	}
	return probs
}

// isCapture reports whether an assign/global/local tag is the block form
// (<#assign x>...</#assign>), which has no = sign.
func isCapture(rs []rune, t tok) bool {
	switch t.Name {
	case "assign", "global", "local":
		return !strings.ContainsRune(stripStrings(rs[t.Start:t.End]), '=')
	}
	return false
}

// openBlock is a directive awaiting its closing tag.
type openBlock struct {
	kind tokKind
	name string
	at   int
}

func expecting(stack []openBlock) string {
	if len(stack) == 0 {
		return ""
	}
	o := stack[len(stack)-1]
	mark := "#"
	if o.kind == tokUser {
		mark = "@"
	}
	return fmt.Sprintf(" (the innermost open block is <%s%s>)", mark, o.name)
}

// stripStrings blanks out string literals so that their content is not
// mistaken for code.
func stripStrings(rs []rune) string {
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); {
		if rs[i] == '"' || rs[i] == '\'' {
			end := skipString(rs, i)
			for ; i < end; i++ {
				out = append(out, ' ')
			}
			continue
		}
		out = append(out, rs[i])
		i++
	}
	return string(out)
}

// blockedBuiltins returns the offsets of blocked built-ins used in the
// expression parts of t.
func blockedBuiltins(rs []rune, t tok) []int {
	code := stripStrings(rs[t.Start:t.End])
	var out []int
	at, atByte := t.Start, 0
	for _, m := range blockedBuiltinRE.FindAllStringIndex(code, -1) {
		at += utf8.RuneCountInString(code[atByte:m[0]])
		atByte = m[0]
		out = append(out, at)
	}
	return out
}

// blockedLen is the length of the blocked built-in at off, for messages.
// A built-in name is short: only a bounded window after off is read, so
// many findings in one long template stay linear.
func blockedLen(rs []rune, off int) int {
	end := min(len(rs), off+256)
	w := string(rs[off:end])
	m := blockedBuiltinRE.FindStringIndex(w)
	if m == nil {
		return 1
	}
	return utf8.RuneCountInString(w[:m[1]])
}
