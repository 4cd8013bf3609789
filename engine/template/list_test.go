package template

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// listModel is the data model of the #list tests. The differential test
// (engine/internal/conformance) compares the same semantics with Apache
// FreeMarker; these cases keep them checked where Java is absent.
const listModel = `{
  "tags": ["a", "b", "c"], "none": [], "nulls": ["x", null, "z"], "nums": [10, 20, 30, 40],
  "nested": [[1, 2], [], [3]], "pairs": {"k1": "v1", "$k2": 2, "k3": null},
  "bundles": [{"os": "ANDROID", "id": "com.a"}, {"os": "IOS", "id": "id1"}], "name": "root", "s": "str"
}`

func TestList(t *testing.T) {
	root, err := ParseJSON([]byte(listModel))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, tpl, want, wantErr string }{
		{"items", `<#list tags as t>${t}</#list>`, "abc", ""},
		{"sep closed", `<#list tags as t>${t}<#sep>, </#sep></#list>`, "a, b, c", ""},
		{"sep unclosed", `<#list tags as t>${t}<#sep>;</#list>`, "a;b;c", ""},
		{"sep ends at the enclosing end tag", `<#list tags as t><#if true>${t}<#sep>,</#if>.</#list>`, "a,.b,.c.", ""},
		{"else on empty", `<#list none as t>${t}<#else>empty</#list>`, "empty", ""},
		{"else skipped", `<#list tags as t>${t}<#else>empty</#list>`, "abc", ""},
		{"loop built-ins", `<#list tags as t>${t?index}${t?counter}${t?has_next?c}${t?is_first?c}${t?is_last?c} </#list>`,
			"01truetruefalse 12truefalsefalse 23falsefalsetrue ", ""},
		{"parity and cycle", `<#list nums as n>${n?item_parity}${n?item_parity_cap}${n?is_odd_item?c}${n?is_even_item?c}${n?item_cycle("r", "g", "b")} </#list>`,
			"oddOddtruefalser evenEvenfalsetrueg oddOddtruefalseb evenEvenfalsetruer ", ""},
		{"legacy loop variables", `<#list tags as t>${t_index}${t_has_next?c}</#list>`, "0true1true2false", ""},
		{"break", `<#list nums as n><#if n?index == 2><#break></#if>${n} </#list>`, "10 20 ", ""},
		{"continue", `<#list nums as n><#if n?index % 2 == 1><#continue></#if>${n} </#list>`, "10 30 ", ""},
		{"break inner list only", `<#list nested as r><#list r as c><#if c == 2><#break></#if>${c}</#list>;</#list>`, "1;;3;", ""},
		{"items", `<#list tags>[<#items as t>${t}<#sep>,</#items>]<#else>-</#list>`, "[a,b,c]", ""},
		{"items on empty", `<#list none>[<#items as t>${t}</#items>]<#else>-</#list>`, "-", ""},
		{"items break", `<#list nums><#items as n>${n}<#break></#items>!</#list>`, "10!", ""},
		{"hash listing with aliases", `<#list pairs as k, v>${k}=${v!"null"}<#sep>&</#list>`, "k1=v1&$k2=2&k3=null&dollar_k2=2", ""},
		{"hash items", `<#list pairs><#items as k, v>${k?counter}${k}</#items></#list>`, "1k12$k23k34dollar_k2", ""},
		{"null item falls back to outer scopes", `<#list nulls as name>${name}<#sep>,</#list>`, "x,root,z", ""},
		{"loop variable shadows assigned", `<#assign t = "o"><#list tags as t><#assign t = "s">${t}</#list>${t}`, "abcs", ""},
		{"shadowing nested", `<#list tags as t>${t}<#list nums as t>${t?index}</#list>${t}|</#list>`, "a0123a|b0123b|c0123c|", ""},
		{"bundle pick", `<#list bundles as b><#if b.os == "IOS">${b.id}<#break></#if></#list>`, "id1", ""},
		{"in json", `<@json><#list tags as t>${t}<#sep>"</#list></@json>`, `"a\"b\"c"`, ""},
		{"list break leaves @loop", `<#list tags as t><@loop data=nums val="n">${n}<#break></@loop>${t}</#list>x`, "10x", ""},
		{"@break leaves @loop through list", `<@loop data=tags val="t"><#list nums as n>${n}<@break/></#list>${t}</@loop>x`, "10x", ""},
		{"@sep outside @loop", `<#list tags as t>${t}<@sep>,</@sep></#list>`, "abc", ""},
		{"strip tag-only lines", "<#list tags as t>\n  ${t}\n  <#sep>\n,\n</#list>\n", "  a\n,\n  b\n,\n  c\n", ""},
		{"missing", `<#list nope as t>${t}</#list>`, "", "nope is missing"},
		{"string", `<#list s as t>${t}</#list>`, "", "expected a sequence, but s is a string"},
		{"hash with one variable", `<#list pairs as p>${p}</#list>`, "", "list it with two loop variables"},
		{"sequence with two variables", `<#list tags as k, v>${k}</#list>`, "", "list it with one loop variable"},
		{"items twice", `<#list tags><#items as t></#items><#items as t></#items></#list>`, "", "<#items> already ran"},
		{"loop variable hides directive", `<#list tags as loop><@loop data=tags val="x"></@loop></#list>`, "", "hides Branch's directive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Parse("t", tc.tpl, Options{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := tp.ExecuteString(root, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestListWarnings: <#list> is on Branch's blocklist but runs; ParseTree
// reports each use as a RuleBranchBlocked warning at its position, found
// as Branch finds it (a substring, in comments too), and no error.
func TestListWarnings(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"<#list xs as x>${x}</#list>", []string{"1:1"}},
		{"a\n é<#list xs as x><#list x as y></#list></#list>", []string{"2:3", "2:18"}},
		{"<#-- <#list --><#if a>b</#if>", []string{"1:6"}},
		{"<@loop data=xs val=\"x\">${x}</@loop>", nil},
	}
	for _, tt := range tests {
		tr, err := ParseTree("t", tt.text)
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		var got []string
		for _, w := range tr.Warnings {
			if w.Rule != RuleBranchBlocked || !strings.Contains(w.Msg, "Branch's blocklist refuses") || !strings.Contains(w.Msg, "<@loop") {
				t.Errorf("%q: warning %+v", tt.text, w)
			}
			got = append(got, fmt.Sprintf("%d:%d", w.Line, w.Col))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: warnings at %v, want %v", tt.text, got, tt.want)
		}
		if _, err := Parse("t", tt.text, Options{}); err != nil {
			t.Errorf("%q: Parse: %v", tt.text, err)
		}
	}
	if got := BranchBlocked(); !slices.Equal(got, []string{"<#list>"}) {
		t.Errorf("BranchBlocked() = %v", got)
	}
	if slices.Contains(Blocked(), "<#list>") || !slices.Contains(Blocked(), "<#include>") || !slices.Contains(Blocked(), "?eval") {
		t.Errorf("Blocked() = %v", Blocked())
	}
}

// TestListSandbox: listing is bounded like every other construct: a
// huge sequence or nested lists by the step bound, a long body by the
// output bound, and a listing without those bounds by the deadline.
func TestListSandbox(t *testing.T) {
	items := make([]Value, 200_000)
	for i := range items {
		items[i] = Int(int64(i))
	}
	small := Seq(items[:200]...)
	keys := make([]string, len(items))
	for i := range keys {
		keys[i] = "k" + fmt.Sprint(i)
	}
	root := NewHash([]string{"huge", "small", "hugehash"}, []Value{Seq(items...), small, NewHash(keys, items)})
	cases := []struct {
		name, text string
		opt        ExecOptions
		msg        string
	}{
		{"huge sequence", `<#list huge as i></#list>`, ExecOptions{MaxDuration: -1}, "steps"},
		{"huge hash", `<#list hugehash as k, v></#list>`, ExecOptions{MaxDuration: -1}, "steps"},
		{"huge sequence, items", `<#list huge><#items as i><#continue></#items></#list>`, ExecOptions{MaxDuration: -1}, "steps"},
		{"nested lists", `<#list small as a><#list small as b><#list small as c></#list></#list></#list>`, ExecOptions{MaxDuration: -1}, "steps"},
		{"output", `<#list huge as i>${i}` + strings.Repeat("x", 100) + `</#list>`, ExecOptions{MaxDuration: -1, MaxSteps: 1 << 40}, "output exceeds"},
		{"deadline", `<#list small as a><#list small as b><#list small as c>${c?index}</#list></#list></#list>`,
			ExecOptions{MaxSteps: 1 << 50, MaxOutput: 1 << 50, MaxDuration: 1}, "time limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Parse("t", tc.text, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = tp.ExecuteString(root, &tc.opt)
			var te *Error
			if !errors.As(err, &te) || te.Rule != RuleLimit || !strings.Contains(te.Msg, tc.msg) {
				t.Fatalf("got %v, want a %s error about %q", err, RuleLimit, tc.msg)
			}
			if te.Line != 1 || te.Col < 1 {
				t.Errorf("error at %d:%d, want a position in the template", te.Line, te.Col)
			}
		})
	}
	// within the bounds, the same listing runs
	tp, err := Parse("t", `<#list small as a>${a?counter}<#sep>,</#list>`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tp.ExecuteString(root, nil)
	if err != nil || !strings.HasSuffix(out, ",199,200") {
		t.Errorf("got %.40q..., %v", out, err)
	}
}

// TestListTree: ParseTree shows the #list family as its own nodes, with
// spans, and Walk reaches their expressions.
func TestListTree(t *testing.T) {
	text := "<#list xs as x>${x?index}<#sep>,<#break></#list><#list h>[<#items as k, v>${v}</#items>]<#else>e</#list>"
	tr, err := ParseTree("t", text)
	if err != nil {
		t.Fatal(err)
	}
	want := `ListNode 1:1-1:49 "<#list xs as x>${x?index}<#sep>,<#break></#list>"
Expr(name xs) 1:8-1:10 "xs"
InterpNode 1:16-1:26 "${x?index}"
Expr(builtin index) 1:18-1:25 "x?index"
Expr(name x) 1:18-1:19 "x"
SepNode 1:26-1:41 "<#sep>,<#break>"
TextNode 1:32-1:33 ","
BreakNode 1:33-1:41 "<#break>"
ListNode 1:49-1:105 "<#list h>[<#items as k, v>${v}</#items>]<#else>e</#list>"
Expr(name h) 1:56-1:57 "h"
TextNode 1:58-1:59 "["
ItemsNode 1:59-1:88 "<#items as k, v>${v}</#items>"
InterpNode 1:75-1:79 "${v}"
Expr(name v) 1:77-1:78 "v"
TextNode 1:88-1:89 "]"
TextNode 1:96-1:97 "e"
`
	if got := dump(text, tr); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	l := tr.Nodes[1].(*ListNode)
	if l.Var != "" || l.Else == nil || tr.Nodes[0].(*ListNode).Var != "x" {
		t.Errorf("list nodes: %+v %+v", tr.Nodes[0], l)
	}
	it := l.Body[1].(*ItemsNode)
	if it.Var != "k" || it.ValueVar != "v" {
		t.Errorf("items node: %+v", it)
	}
}
