package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: arbitrary text never panics or hangs the parser, and a
// template that parses executes within its bounds without panicking.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"${x}", "${(a.b)!\"d\"}", "<#if a == 1>x<#elseif b>y<#else>z</#if>", "<#assign a = 1 b += 2>",
		"<@loop data=app.app_bundles val=\"b\">${b.os}<@sep>,</@sep><@break/></@loop>",
		"<@json>${\"a\"}</@json><@jsonmap data=user_data/><@urlencode>a b</@urlencode>",
		"${\"${x}\"?url} ${r\"x\"} ${1/3} ${a?substring(1,2)}", "<#-- c --> #{1}", "${sprig.upper(\"x\")}",
		"${last_attributed_touch_data.~campaign!}", "${[1,2]?size} ${{\"a\":1}?keys?join(\",\")}",
		"{macro}&x={y}", "  <#if true>\n x\n  </#if>\n",
		// the #list family
		"<#list app.app_bundles as b>${b.os}<#sep>,</#sep><#if b?is_last><#break></#if></#list>",
		"<#list content_items>[<#items as i>${i.sku!}${i?index}<#sep>;</#items>]<#else>none</#list>",
		"<#list user_data as k, v>${k}=<@jsonmap data=v/>${k?has_next?c}<#continue></#list>",
		"<#list [1, 2, 3] as n>${n?item_cycle(\"a\", \"b\")}${n?item_parity}${n_index}<#list [n] as m>${m?counter}</#list></#list>",
		"\n<#list (nope)! as x>\n  ${x}\n<#else>\n  e\n</#list>\n",
	}
	if files, err := filepath.Glob("testdata/golden/*.ftl"); err == nil {
		for _, fn := range files {
			if b, err := os.ReadFile(fn); err == nil {
				seeds = append(seeds, string(b))
			}
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
	root := loadEvent(f)
	opt := Options{IsMacro: func(n string) bool { return n == "macro" }}
	f.Fuzz(func(t *testing.T, text string) {
		tp, err := Parse("fuzz", text, opt)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse returned %T, want *Error", err)
			}
			return
		}
		out, err := tp.ExecuteString(root, &ExecOptions{
			MaxSteps: 2000, MaxOutput: 4096,
			Macro: func(w *strings.Builder, name string) error { w.WriteString("M"); return nil },
		})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Execute returned %T (%v), want *Error", err, err)
			}
			return
		}
		if len(out) > 4096 {
			t.Fatalf("output %d bytes exceeds MaxOutput", len(out))
		}
	})
}

// FuzzParseTree: the recovering parse never panics and terminates; it
// reports an error exactly when Parse does, at most one per position and
// every one inside the text; every node's span is inside the text, and
// top-level nodes follow one another without overlapping.
func FuzzParseTree(f *testing.F) {
	for _, s := range []string{
		"${x}", "<#if a>b<#else>c</#if>", "<#list x as y>${y}</#list>", "${a?interpret}${b?eval}", "<@json>x</@loop>",
		"<#if a", "${\"a}", "<#--", "x</#if>", "<#if a>b</#if", "<#if a>b</#if c${d}", "${a # b}${c}", "<@foo a=1>x</@foo>", "<#else>",
		"<#assign c>x", "<#attempt>a<#recover>b</#attempt>", "${\"${a\"}", "<@loop data=x val=\"v\">${v}<@break/></@loop>",
		"<#list x>a<#items as y, z>${y?index}<#sep>,</#items><#else>b<#else>c</#list>", "<#sep>,<#break><#items as a>",
		"<#list x as 1>${y}<#break></#list>", "<#if a><#list x as y><#sep><#else>d</#if></#list>", "${x?index}<#list a as b>${(b)?counter}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tr, err := ParseTree("fuzz", text)
		_, perr := Parse("fuzz", text, Options{})
		if (err == nil) != (perr == nil) {
			t.Fatalf("ParseTree error %v, Parse error %v", err, perr)
		}
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("ParseTree returned %T %v, want a non-empty ErrorList", err, err)
			}
			at := map[int]bool{}
			for _, e := range list {
				if e.Offset < 0 || e.Offset > len(text) || e.Line < 1 || e.Col < 1 || e.Rule == "" || e.Msg == "" {
					t.Fatalf("error outside the text of %d bytes: %+v", len(text), e)
				}
				if at[e.Offset] {
					t.Fatalf("two errors at offset %d: %v", e.Offset, list)
				}
				at[e.Offset] = true
			}
		}
		prev := 0
		for _, n := range tr.Nodes {
			if n.Pos().Offset < prev {
				t.Fatalf("%T at %d overlaps the node before, which ends at %d", n, n.Pos().Offset, prev)
			}
			prev = n.End().Offset
		}
		tr.Walk(func(n Node) bool {
			if s, e := n.Pos().Offset, n.End().Offset; s < 0 || s > e || e > len(text) {
				t.Fatalf("%T spans %d..%d in a text of %d bytes", n, s, e, len(text))
			}
			return true
		})
	})
}

// FuzzParseJSON: arbitrary bytes never panic; accepted documents keep
// their numbers' exact text.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2.50,-3e2,"x\u00e9",null,true]`, `{"id":551302741529937217,"~x":{"$y":[{}]}}`,
		`"\ud83d\ude00"`, `99999999999999999999999999`, `{"a":1,"a":2}`, `[[[[[]]]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseJSON(b)
		// encoding/json is the reference for what is valid JSON (it has no
		// depth limit, so deep documents are left out)
		// (nor a bound on exponents; numbers beyond 10^±10000 are refused)
		if valid := json.Valid(b); valid != (err == nil) && !strings.Contains(fmt.Sprint(err), "nested deeper") &&
			!strings.Contains(fmt.Sprint(err), "out of range") {
			t.Fatalf("ParseJSON(%q): err=%v, encoding/json valid=%v", b, err, valid)
		}
		if err != nil {
			return
		}
		if v.Kind() == KindString {
			if !utf8.ValidString(v.s) {
				t.Fatalf("invalid UTF-8 in decoded string %q", v.s)
			}
			var want string
			if utf8.Valid(b) && json.Unmarshal(b, &want) == nil && want != v.s && !strings.Contains(want, "\uFFFD") {
				t.Fatalf("ParseJSON(%q) = %q, encoding/json gives %q", b, v.s, want)
			}
		}
	})
}
