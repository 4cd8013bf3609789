package template

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// errorLines formats the errors of ParseTree as "rule line:col message".
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("ParseTree returned %T, want ErrorList", err)
	}
	var out []string
	for _, e := range list {
		out = append(out, fmt.Sprintf("%s %d:%d %s", e.Rule, e.Line, e.Col, e.Msg))
	}
	return out
}

// TestParseTreeErrors: each blocked construct and each class of syntax
// error is reported exactly once, at its position, with the rule that
// fits, and parsing goes on after it.
func TestParseTreeErrors(t *testing.T) {
	blocked := func(at, what string) string {
		return RuleBlocked + " " + at + " template uses " + what + ", which Branch blocks in webhook templates: "
	}
	// refused: blocked by adgate, not on Branch's list
	refused := func(at, what string) string {
		return RuleBlocked + " " + at + " template uses " + what + ", which adgate refuses in templates: "
	}
	tests := []struct {
		name string
		text string
		want []string // "rule line:col message prefix"
	}{
		{"valid", `<#if a>b<#elseif c>d<#else>e</#if><#assign x>y</#assign><@loop data=s val="v">${v}<@break/></@loop><@sep>,</@>`, nil},
		{"string literals hide nothing", `${"}"}<#if a == "</#if>">x</#if>`, nil},
		{"comment", `<#-- ${ unclosed inside a comment is fine -->`, nil},

		// Blocked directives, each once (not also as unsupported), with
		// their bodies skipped as one unit.
		{"list runs", "<#list xs as x>${x}</#list>", nil},
		{"import", `<#import "a" as b>`, []string{blocked("1:1", "<#import")}},
		{"include", `x<#include "/etc/passwd">`, []string{blocked("1:2", "<#include")}},
		{"macro", "<#macro m>x</#macro>", []string{blocked("1:1", "<#macro")}},
		{"function", "<#function f>x</#function>", []string{blocked("1:1", "<#function")}},
		{"nested return", "<#nested><#return>", []string{blocked("1:1", "<#nested"), blocked("1:10", "<#return")}},
		{"visit recurse", "<#visit n><#recurse>", []string{blocked("1:1", "<#visit"), blocked("1:11", "<#recurse")}},
		{"setting", `<#setting locale="de">`, []string{blocked("1:1", "<#setting")}},
		{"blocked text is refused anywhere", `<#-- <#include -->`, []string{blocked("1:6", "<#include")}},
		// Blocked built-ins, each once (not also as an unknown built-in).
		{"eval", `${"1"?eval}`, []string{blocked("1:6", "?eval")}},
		{"eval_json", `${"{}"?eval_json}`, []string{blocked("1:7", "?eval_json")}},
		{"interpret", `${a?interpret}`, []string{refused("1:4", "?interpret")}},
		{"interpret spaced", `${a? interpret}`, []string{refused("1:4", "?interpret")}},
		{"new", `${"x"?new()}`, []string{refused("1:6", "?new")}},
		{"api", `${a?api}`, []string{refused("1:4", "?api")}},
		{"sprig", `${sprig.env("HOME")}`, []string{RuleBlocked + " 1:9 Sprig function env is not available"}},

		// Syntax errors, one class each.
		{"unclosed if", "x\n<#if a>b", []string{RuleSyntax + " 2:1 unclosed <#if>: add </#if>"}},
		{"unclosed user directive", `<@json>x`, []string{RuleSyntax + " 1:1 unclosed <@json>: add </@json>"}},
		{"unclosed capture", `<#assign c>x`, []string{RuleSyntax + " 1:1 unclosed <#assign>: add </#assign>"}},
		{"stray end tag", "x</#if>", []string{RuleSyntax + " 1:2 unexpected </#if> with no matching <#if>"}},
		{"stray user end tag", "x</@json>", []string{RuleSyntax + " 1:2 unexpected </@json> with no matching <@json>"}},
		{"else outside if", "<#else>", []string{RuleSyntax + " 1:1 <#else> outside of <#if>"}},
		{"else after else", "<#if a>b<#else>c<#else>d</#if>", []string{RuleSyntax + " 1:17 #else after #else"}},
		{"crossed end tags", `<@json>x</@loop>`, []string{
			RuleSyntax + " 1:1 unclosed <@json>",
			RuleSyntax + " 1:9 unexpected </@loop> with no matching <@loop> (the innermost open block is <@json>)"}},
		{"inner block closed by outer end", `<#if a><@json>x</#if>`, []string{RuleSyntax + " 1:8 unclosed <@json>"}},
		{"unclosed interpolation", "${a", []string{RuleSyntax + " 1:1 unclosed ${: add }"}},
		{"unclosed tag", "<#if a", []string{RuleSyntax + " 1:1 unclosed tag <#if: add >"}},
		{"unclosed end tag", "<#if a>b</#if", []string{RuleSyntax + " 1:14 end tag </#if must be closed with >"}},
		{"unclosed end tag then text", "<#if a>b</#if c${d", []string{
			RuleSyntax + " 1:15 end tag </#if must be closed with >", RuleSyntax + " 1:16 unclosed ${"}},
		{"unclosed comment", "a<#--", []string{RuleSyntax + " 1:2 unclosed comment"}},
		{"unclosed string", `${"a}`, []string{RuleSyntax + " 1:3 unclosed string literal"}},
		{"unexpected character", "${a # b}${c}", []string{RuleSyntax + ` 1:5 unexpected character '#'`}},
		{"empty interpolation", "${ }", []string{RuleSyntax + ` 1:4 expected an expression, found "}"`}},
		{"bad expression", "<#if 1 +>a</#if>${c}", []string{RuleSyntax + ` 1:9 expected an expression, found end of tag ">"`}},
		{"unknown directive", "<#bogus>", []string{RuleSyntax + " 1:1 unknown directive #bogus"}},
		{"unsupported directive", "<#switch x><#case 1>a</#switch>", []string{
			RuleSyntax + " 1:1 directive #switch is not supported",
			RuleSyntax + " 1:12 directive #case is not supported"}},
		{"unknown user directive", "<@foo a=1>x</@foo>", []string{RuleSyntax + " 1:1 unknown user directive <@foo>"}},
		{"unknown built-in", "${a?nope}", []string{RuleSyntax + " 1:5 unknown built-in ?nope"}},
		{"loop without val", `<@loop data=s>x</@loop>`, []string{RuleSyntax + ` 1:1 <@loop>: missing required parameter val="name"`}},
		{"literal type", `${"a" - 1}`, []string{RuleSyntax + ` 1:3 found string literal "a" where a number is expected`}},

		// The #list family: what FreeMarker's parser refuses.
		{"break outside list", "<#break>", []string{RuleSyntax + " 1:1 <#break> must be inside a <#list>"}},
		{"continue after list", "<#list a as b></#list><#continue/>", []string{RuleSyntax + " 1:23 <#continue> must be inside a <#list>"}},
		{"break in list without var", "<#list a><#break><#items as b></#items></#list>", []string{RuleSyntax + " 1:10 <#break> must be inside"}},
		{"sep outside list", "a<#sep>,", []string{RuleSyntax + " 1:2 <#sep> must be inside a <#list>"}},
		{"items outside list", "<#items as x></#items>", []string{RuleSyntax + " 1:1 <#items> must be inside a <#list>"}},
		{"list without var or items", "<#list a>x</#list>", []string{RuleSyntax + " 1:1 <#list> needs a loop variable"}},
		{"items in list with var", "<#list a as b><#items as c></#items></#list>", []string{RuleSyntax + " 1:15 the <#list> of an <#items> must not have a loop variable"}},
		{"items in items", "<#list a><#items as b><#items as c></#items></#items></#list>", []string{RuleSyntax + " 1:23 <#items> cannot be nested"}},
		{"same key and value", "<#list h as k, k></#list>", []string{RuleSyntax + " 1:14 the key and value loop variables must differ"}},
		{"missing loop var", "<#list a as></#list>", []string{RuleSyntax + ` 1:12 expected a loop variable name, found end of tag ">"`}},
		{"items without as", "<#list a><#items b></#items></#list>", []string{RuleSyntax + ` 1:18 expected "as" and a loop variable`}},
		{"index of a non-loop variable", "${x?index}", []string{RuleSyntax + " 1:3 the left-hand operand of ?index must be a loop variable"}},
		{"index of an expression", "<#list a as b>${(b)?counter}</#list>", []string{RuleSyntax + " 1:17 the left-hand operand of ?counter must be a loop variable name"}},
		{"index in the else part", "<#list a as b><#else>${b?index}</#list>", []string{RuleSyntax + " 1:24 the left-hand operand of ?index must be a loop variable"}},
		{"item_cycle without arguments", "<#list a as b>${b?item_cycle}</#list>", []string{RuleSyntax + " 1:29 ?item_cycle needs arguments"}},
		{"second else", "<#list a as b><#else>c<#else>d</#list>", []string{RuleSyntax + " 1:23 a second <#else> in <#list>"}},
		{"elseif in list", "<#list a as b><#elseif c>d</#list>", []string{RuleSyntax + " 1:15 <#elseif> outside of <#if>"}},
		{"unclosed list", "<#list a as b>${b}", []string{RuleSyntax + " 1:1 unclosed <#list>: add </#list>"}},
		{"bad list tag, body kept", "<#list a as 1>${b}<#break></#list>", []string{RuleSyntax + ` 1:13 expected a loop variable name, found "1"`}},

		// Recovery: several errors in one pass, each once.
		{"several", "<#include \"x\">${a?eval}${b? interpret}${c?nope}\n<#if d>", []string{
			blocked("1:1", "<#include"), blocked("1:18", "?eval"), refused("1:27", "?interpret"),
			RuleSyntax + " 1:43 unknown built-in ?nope", RuleSyntax + " 2:1 unclosed <#if>"}},
		{"bound", strings.Repeat("<#if a>", maxStmtDepth+1), []string{RuleLimit + " 1:449 directives nested deeper than 64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTree("t", tt.text)
			got := errorLines(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, got[i], tt.want[i])
				}
			}
			// Parse agrees: it fails exactly when ParseTree reports, with
			// one of the errors reported
			_, perr := Parse("t", tt.text, Options{})
			if (perr == nil) != (err == nil) {
				t.Fatalf("Parse error %v, ParseTree errors %v", perr, got)
			}
			if perr != nil && !strings.Contains(strings.Join(got, "\n"), perr.(*Error).Msg) {
				t.Errorf("Parse error %q is not among ParseTree's", perr)
			}
		})
	}
}

// dump lists the nodes of a tree, one a line: type, span and source text.
func dump(text string, tr *Tree) string {
	var b strings.Builder
	tr.Walk(func(n Node) bool {
		name := strings.TrimPrefix(fmt.Sprintf("%T", n), "*template.")
		if x, ok := n.(*Expr); ok {
			name = fmt.Sprintf("Expr(%s %s%s)", x.Kind, x.Name, x.Op)
		}
		fmt.Fprintf(&b, "%s %v-%v %q\n", name, n.Pos(), n.End(), text[n.Pos().Offset:n.End().Offset])
		return true
	})
	return b.String()
}

// TestParseTreeNodes: every node carries its span, and the span's offsets
// cut exactly its source text out of the template.
func TestParseTreeNodes(t *testing.T) {
	text := "a{m}é<#-- c -->\n${x.y!\"d\"}<#if n?size gt 1>T<#else>F</#if>" +
		"<#assign v = [1, 2][0] w++><#assign c>C</#assign><@loop data=s val=\"i\">${\"<${i}>\"}</@loop><@break/>"
	tr, err := ParseTree("t", text)
	if err != nil {
		t.Fatal(err)
	}
	want := `TextNode 1:1-1:6 "a{m}é"
CommentNode 1:6-1:16 "<#-- c -->"
TextNode 1:16-2:1 "\n"
InterpNode 2:1-2:11 "${x.y!\"d\"}"
Expr(default ) 2:3-2:10 "x.y!\"d\""
Expr(dot y) 2:3-2:6 "x.y"
Expr(name x) 2:3-2:4 "x"
Expr(literal ) 2:7-2:10 "\"d\""
IfNode 2:11-2:43 "<#if n?size gt 1>T<#else>F</#if>"
BranchNode 2:11-2:29 "<#if n?size gt 1>T"
Expr(binary gt) 2:16-2:27 "n?size gt 1"
Expr(builtin size) 2:16-2:22 "n?size"
Expr(name n) 2:16-2:17 "n"
Expr(literal ) 2:26-2:27 "1"
TextNode 2:28-2:29 "T"
BranchNode 2:29-2:37 "<#else>F"
TextNode 2:36-2:37 "F"
AssignNode 2:43-2:70 "<#assign v = [1, 2][0] w++>"
Expr(index ) 2:56-2:65 "[1, 2][0]"
Expr(sequence ) 2:56-2:62 "[1, 2]"
Expr(literal ) 2:57-2:58 "1"
Expr(literal ) 2:60-2:61 "2"
Expr(literal ) 2:63-2:64 "0"
CaptureNode 2:70-2:92 "<#assign c>C</#assign>"
TextNode 2:81-2:82 "C"
UserNode 2:92-2:133 "<@loop data=s val=\"i\">${\"<${i}>\"}</@loop>"
Expr(name s) 2:104-2:105 "s"
Expr(literal ) 2:110-2:113 "\"i\""
InterpNode 2:114-2:125 "${\"<${i}>\"}"
Expr(string ) 2:116-2:124 "\"<${i}>\""
Expr(name i) 2:120-2:121 "i"
UserNode 2:133-2:142 "<@break/>"
`
	if got := dump(text, tr); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

// TestParseTreeBadNodes: a construct that did not parse stays in the tree
// as a BadNode holding the body it encloses.
func TestParseTreeBadNodes(t *testing.T) {
	text := "<#list xs as 1>${x}</#list>${a?nope}<@foo/>"
	tr, err := ParseTree("t", text)
	if err == nil {
		t.Fatal("no error")
	}
	want := `BadNode 1:1-1:28 "<#list xs as 1>${x}</#list>"
InterpNode 1:16-1:20 "${x}"
Expr(name x) 1:18-1:19 "x"
BadNode 1:28-1:37 "${a?nope}"
BadNode 1:37-1:44 "<@foo/>"
`
	if got := dump(text, tr); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

// TestWalkStops: returning false from the walk function skips the
// node's children.
func TestWalkStops(t *testing.T) {
	tr, err := ParseTree("t", "<#if a>${b}</#if>${c}")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	tr.Walk(func(n Node) bool {
		seen = append(seen, strings.TrimPrefix(fmt.Sprintf("%T", n), "*template."))
		_, isIf := n.(*IfNode)
		return !isIf
	})
	if got := strings.Join(seen, " "); got != "IfNode InterpNode Expr" {
		t.Errorf("visited %s", got)
	}
}

// TestBlockedListed: each construct Blocked lists is refused, as one
// RuleBlocked error at its position, wherever a template writes it.
func TestBlockedListed(t *testing.T) {
	for _, b := range Blocked() {
		text := "x ${a" + b + "}"
		if strings.HasPrefix(b, "<#") {
			text = "x " + strings.TrimSuffix(b, ">") + " a>y"
		}
		_, err := ParseTree("t", text)
		got := errorLines(t, err)
		if len(got) != 1 || !strings.HasPrefix(got[0], RuleBlocked+" 1:") {
			t.Errorf("%s in %q: got %q, want one %s error", b, text, got, RuleBlocked)
		}
		if _, err := Parse("t", text, Options{}); !isRule(err, RuleBlocked) {
			t.Errorf("%s: Parse error %v, want %s", b, err, RuleBlocked)
		}
	}
}
