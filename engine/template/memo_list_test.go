package template

import "testing"

// memoListModel is the data model of TestPathMemoListVars: x is a
// data-model field that the loop variables of the cases shadow.
const memoListModel = `{
  "x": {"a": "dm"},
  "xs": [{"a": 1, "s": "a", "kids": [{"a": "k1"}]}, {"a": 2, "s": "b", "kids": []}, {"a": 3, "s": "c", "kids": [{"a": "k3"}, {"a": "k4"}]}],
  "xs2": [{"a": 1}, {}, {"a": 3}], "ys": [{"a": "p"}, {"a": "q"}], "ns": [{"a": "n1"}, null, {"a": "n3"}],
  "h": {"k1": {"a": "h1"}, "k2": {"a": "h2"}}
}`

// TestPathMemoListVars: variable paths are memoised per execution and the
// memo is invalidated when a variable is bound, so every binding of a
// <#list> loop variable (each item, the end of each iteration, nested
// listings of the same name, #items, hash listings, null items falling
// back to outer scopes) must invalidate the paths through it. Every
// expectation is Apache FreeMarker 2.3.31's output (fmoracle,
// --no-blocklist --number-format computer --boolean-format c).
func TestPathMemoListVars(t *testing.T) {
	root, err := ParseJSON([]byte(memoListModel))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, tpl, want string }{
		{"path through the item", `<#list xs as x>${x.a}</#list>`, "123"},
		{"default of the path, read twice", `<#list xs2 as x>${(x.a)!"-"}${(x.a)!"-"}</#list>`, "11--33"},
		{"nested, same name", `<#list xs as x>${x.a}[<#list ys as x>${x.a}</#list>]${x.a};</#list>`, "1[pq]1;2[pq]2;3[pq]3;"},
		{"nested over the outer item, same name", `<#list xs as x>${x.a}(<#list x.kids as x>${x.a}</#list>)${x.a};</#list>`, "1(k1)1;2()2;3(k3k4)3;"},
		{"shadows an assigned variable", `<#assign x = {"a": "as"}>${x.a}<#list xs as x>${x.a}</#list>${x.a}`, "as123as"},
		{"shadows a data-model field", `${x.a}<#list xs as x>${x.a}</#list>${x.a}`, "dm123dm"},
		{"defaults around and in the listing", `${(x.a)!}<#list xs as x>${(x.a)!}</#list>${(x.a)!}`, "dm123dm"},
		{"null item falls back to the data model", `<#list ns as x>${x.a}</#list>`, "n1dmn3"},
		{"null item under a default", `<#list ns as x>${(x.a)!"-"}</#list>`, "n1dmn3"},
		{"null item falls back to an assigned variable", `<#assign x = {"a": "as"}><#list ns as x>${x.a}</#list>`, "n1asn3"},
		{"@loop inside", `<#list xs as x><@loop data=ys val="y">${x.a}${y.a}</@loop>;</#list>`, "1p1q;2p2q;3p3q;"},
		{"@loop of the same name inside", `<#list xs as x><@loop data=ys val="x">${x.a}</@loop>${x.a};</#list>`, "111;222;333;"},
		{"listing inside @loop of the same name", `<@loop data=ys val="x">${x.a}<#list xs as x>${x.a}</#list>${x.a};</@loop>${x.a}`, "p123p;q123q;dm"},
		{"legacy loop variables", `<#list xs as x>${x_index}${x?index}${x_has_next?c}</#list>`, "00true11true22false"},
		{"item_cycle over a path", `<#list xs as x>${x?item_cycle(x.a, "b")}</#list>`, "1b3"},
		{"capture inside", `<#list xs as x><#assign c>${x.a}!</#assign>${c}${c}</#list>${c}`, "1!1!2!2!3!3!3!"},
		{"capture of the loop variable's name", `<#list xs as x><#assign x>cap</#assign>${x.a}</#list>${x}`, "123cap"},
		{"capture around a nested listing", `<#list xs as x><#assign c>[${x.a}<#list ys as x>${x.a}</#list>${x.a}]</#assign>${c}</#list>`, "[1pq1][2pq2][3pq3]"},
		{"bodies rendered in place", `<#list xs as x><@json>${x.a}"${x.s}</@json><@urlencode>${x.a}&${x.s}</@urlencode></#list>`, `"1\"a"1%26a"2\"b"2%26b"3\"c"3%26c`},
		{"hash listing", `<#list h as k, v>${k}=${v.a};</#list>`, "k1=h1;k2=h2;"},
		{"hash listing key named like a field", `<#list h as x, v>${x}=${v.a};</#list>${x.a}`, "k1=h1;k2=h2;dm"},
		{"items", `<#list xs><#items as x>${x.a}<#sep>,</#items></#list>${x.a}`, "1,2,3dm"},
		{"conditions", `<#list xs as x><#if x.a == 2>two<#elseif x.s == "c">cee<#else>${x.a}</#if></#list>`, "1twocee"},
		{"break", `<#list xs as x><#if x.a == 2><#break></#if>${x.a}</#list>${x.a}`, "1dm"},
		{"continue", `<#list xs as x><#if x.s != "b"><#continue></#if>${x.a}</#list>${x.a}`, "2dm"},
		{"else", `<#list xs as x>${x.a}<#else>none</#list><#list [] as x>${x.a}<#else>${x.a}</#list>`, "123dm"},
		{"two listings of one name", `<#list xs as x>${x.a}</#list><#list xs2 as x>${(x.a)!"-"}</#list>${x.a}`, "1231-3dm"},
		{"assign inside, read after", `<#list xs as x><#list x.kids as k>${x.a}${k.a}<#assign x = {"a": "as"}>${x.a}</#list></#list>${x.a}`, "1k113k333k43as"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(tc.tpl, root)
			if err != nil {
				t.Fatalf("%s: %v", tc.tpl, err)
			}
			if got != tc.want {
				t.Fatalf("%s:\n got %q\nwant %q", tc.tpl, got, tc.want)
			}
		})
	}
}
