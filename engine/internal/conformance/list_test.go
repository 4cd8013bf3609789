package conformance

import (
	"fmt"
	"strings"
)

// generatedListTemplates sizes the generated <#list> corpus.
const generatedListTemplates = 160

// listEvent is a data model with what the event files lack for listing:
// null items, nested sequences, a hash with a null value and $ keys.
const listEvent = `{
  "name": "PURCHASE", "id": 7,
  "user_data": {"os": "IOS", "idfa": "27AFDDCC-15DA", "country": "FR"},
  "custom_data": {"tags": ["a", "b c", "d&e"], "empty_list": [], "count": 3, "label": "x"},
  "content_items": [{"price": 1.5, "sku": "s1"}, {"price": 2, "sku": "b"}, {"sku": "s3"}],
  "list_data": {"nulls": ["a", null, "c"], "nested": [[1, 2], [], [3]], "one": ["solo"],
    "pairs": {"k1": "v1", "$k2": 2, "k3": null, "~k4": true}, "empty": {}, "nums": [10, 20, 30, 40, 50]}
}`

// handListCases are hand-written <#list> templates: each construct of the
// family, its corners (null items, shadowing, white-space stripping, hash
// listing with alias keys) and its parse and run-time errors.
var handListCases = []string{
	// plain listing and the separators
	`<#list custom_data.tags as t>${t}<#sep>, </#sep></#list>`,
	`<#list custom_data.tags as t>${t}<#sep>;</#list>`,
	`<#list custom_data.tags as t>[${t}<#sep>|]</#list>`,
	`<#list custom_data.empty_list as t>${t}<#sep>,</#list>`,
	`<#list custom_data.empty_list as t>${t}<#else>none</#list>`,
	`<#list custom_data.tags as t>${t}<#else>none</#list>`,
	`<#list [] as t>${t}<#else>empty literal</#list>`,
	`<#list ["a", "b"] as t>${t}</#list>`,
	`<#list [1, 2.5, "x", true] as t>${t}<#sep>/</#list>`,
	`<#list "a-b-c"?split("-") as t>${t?upper_case}<#sep>+</#list>`,
	`<#list user_data?keys as k>${k}<#sep>,</#list>`,
	`<#list user_data?values as v>${v}<#sep>,</#list>`,
	// loop-variable built-ins
	`<#list custom_data.tags as t>${t?index}${t?counter}${t?has_next?c}${t?is_first?c}${t?is_last?c};</#list>`,
	`<#list list_data.nums as n>${n?item_parity}${n?item_parity_cap}${n?is_odd_item?c}${n?is_even_item?c} </#list>`,
	`<#list list_data.nums as n>${n?item_cycle("r", "g", "b")}</#list>`,
	`<#list list_data.nums as n>${n?item_cycle(1, n, "z")}<#sep>,</#list>`,
	`<#list list_data.nums as n>${n_index}:${n_has_next?c} </#list>`,
	`<#list list_data.nums as n><#if n?is_first>[</#if>${n}<#if n?is_last>]<#else>,</#if></#list>`,
	`<#list list_data.nums as n>${n?index * n}<#sep>,</#list>`,
	`<#list list_data.nums as n>${"${n?counter}."}</#list>`,
	// #break and #continue
	`<#list list_data.nums as n><#if n?index == 2><#break></#if>${n}<#sep>,</#list>`,
	`<#list list_data.nums as n><#if n?index % 2 == 1><#continue></#if>${n}<#sep>,</#list>`,
	`<#list list_data.nums as n><#if n gt 20><#break/></#if>${n} </#list>`,
	`<#list list_data.nums as n><#continue>${n}</#list>after`,
	`<#list list_data.nums as n>${n}<#if n?counter == 3><#break></#if><#sep>,</#list>`,
	`<#list list_data.nested as row><#list row as c><#if c == 2><#break></#if>${c}</#list>;</#list>`,
	`<#list list_data.nested as row><#list row as c>${c}<#else>-</#list><#sep>|</#list>`,
	`<#list list_data.nested as row>${row?index}:<#list row as c>${c?index}${row?index}</#list> </#list>`,
	// #items
	`<#list custom_data.tags>[<#items as t>${t}<#sep>,</#items>]</#list>`,
	`<#list custom_data.empty_list>[<#items as t>${t}</#items>]<#else>nothing</#list>`,
	`<#list list_data.nums><ul><#items as n><li>${n?counter}<#if n?index == 1><#break></#if></#items></ul></#list>`,
	`<#list list_data.nums>x<#items as n><#continue></#items>y</#list>`,
	`<#list list_data.pairs><#items as k, v>${k}<#sep>,</#items></#list>`,
	`<#list list_data.nums><#sep>early<#items as n>${n}</#items></#list>`,
	// hashes
	`<#list list_data.pairs as k, v>${k}=${v!"null"}<#sep>&</#list>`,
	`<#list list_data.pairs as k, v>${k?index}${v?has_next?c}<#sep> </#list>`,
	`<#list list_data.empty as k, v>${k}<#else>no pairs</#list>`,
	`<#list {"a": 1, "b": "two"} as k, v>${k}:${v}<#sep>,</#list>`,
	`<#list user_data as k, v>${k}<#sep>,</#list>`,
	`<#list last_attributed_touch_data!{} as k, v>${k}<#sep>,</#list>`,
	`<#list content_items[0] as k, v>${k}=${v}<#sep>;</#list>`,
	`<#list app.app_bundles as b><#list b as k, v>${k}<#sep>,</#list>|</#list>`,
	// nulls and shadowing
	`<#list list_data.nulls as x>${x!"N"}<#sep>,</#list>`,
	`<#list list_data.nulls as name>${name}<#sep>,</#list>`,
	`<#list list_data.nulls as x>${x?index}${x?has_next?c}</#list>`,
	`<#assign x = "outer"><#list custom_data.tags as x>${x}</#list>${x}`,
	`<#list custom_data.tags as x><#assign x = "set">${x}</#list>${x}`,
	`<#list custom_data.tags as x>${x}<#list list_data.one as x>${x}</#list>${x};</#list>`,
	`<#list custom_data.tags as name>${name}</#list>${name}`,
	`<#assign acc = ""><#list list_data.nums as n><#assign acc = acc + n?c></#list>${acc}`,
	`<#assign sum = 0><#list content_items as i><#assign sum = sum + (i.price!0)></#list>${sum}`,
	// with Branch's directives
	`<#list app.app_bundles as b><#if b.os == "IOS">${b.ios.bundle_id}<#break></#if></#list>`,
	`<#list app.app_bundles as bundle><#if bundle.os == "ANDROID">${bundle.android.package_name}<#break></#if></#list>`,
	`<@json><#list custom_data.tags as t>${t}<#sep>,</#list></@json>`,
	`<@urlencode><#list custom_data.tags as t>${t}<#sep>&</#list></@urlencode>`,
	`<#list content_items as i><@jsonmap data=i/><#sep>,</#list>`,
	`<@loop data=custom_data.tags val="t"><#list list_data.one as o>${o}${t}</#list><@sep>;</@sep></@loop>`,
	`<#list list_data.nums as n><@loop data=custom_data.tags val="t">${t}<#if t == "b c"><#break></#if></@loop>${n};</#list>`,
	`<@loop data=custom_data.tags val="t"><#list list_data.nums as n>${n}<@break/></#list>${t}</@loop>`,
	`<#list list_data.nums as n><@sep>,</@sep>${n}</#list>`,
	`<#assign c><#list custom_data.tags as t>${t}</#list></#assign>${c?length}`,
	`<#list custom_data.tags as t><#assign c><#if t?index == 1><#break></#if>${t}</#assign>${c}</#list>`,
	// white-space stripping
	"<#list custom_data.tags as t>\n  ${t}\n</#list>\n",
	"a\n<#list custom_data.tags as t>\n  <#if t?is_first>\n  first\n  </#if>\n  ${t}<#sep>,</#sep>\n</#list>\nb\n",
	"<#list custom_data.tags as t>\n${t}\n<#sep>\n,\n</#list>\n",
	"<#list custom_data.empty_list as t>\n  ${t}\n<#else>\n  empty\n</#list>\nend",
	"<#list custom_data.tags>\n  <ul>\n  <#items as t>\n    <li>${t}\n  </#items>\n  </ul>\n</#list>\n",
	"  <#list list_data.nums as n>  \n<#if n?index == 1>\n<#break>\n</#if>\n${n}\n  </#list>\n",
	"<#list list_data.nums as n>\n<#continue>\n</#list>\nx",
	"x<#list custom_data.tags as t>\n${t}<#sep>\n</#list>",
	"<#list custom_data.tags as t>${t}<#sep>, \n</#list>\n",
	"\n<#list list_data.pairs as k, v>\n ${k}\n<#else>\n</#list>\n",
	"<#list list_data.nested as row>\n  <#list row as c>\n    ${c}\n  <#else>\n    -\n  </#list>\n</#list>\n",
	// run-time errors
	`<#list nope as x>${x}</#list>`,
	`<#list user_data.os as x>${x}</#list>`,
	`<#list custom_data.count as x>${x}</#list>`,
	`<#list user_data as x>${x}</#list>`,
	`<#list custom_data.tags as k, v>${k}</#list>`,
	`<#list (nope)! as x>${x}<#else>multi-empty</#list>`,
	`<#list (nope)! as k, v>${k}<#else>multi-empty hash</#list>`,
	`<#list nope! as x>${x}<#else>default</#list>`,
	`<#list list_data.nested as x>${x}</#list>`,
	`<#list list_data.nums as n>${n?item_cycle(nope)}</#list>`,
	`<#list list_data.nums><#items as n>${n}</#items><#items as n>${n}</#items></#list>`,
	// parse errors
	`<#break>`,
	`<#list custom_data.tags as t></#list><#continue>`,
	`<#sep>,`,
	`<#items as x></#items>`,
	`<#list custom_data.tags></#list>`,
	`<#list custom_data.tags as t><#items as u></#items></#list>`,
	`<#list custom_data.tags><#items as t><#items as u></#items></#items></#list>`,
	`${x?index}`,
	`<#list custom_data.tags as t></#list>${t?index}`,
	`<#list custom_data.tags as t>${(t)?index}</#list>`,
	`<#list custom_data.tags as t><#else>${t?index}</#list>`,
	`<#list custom_data.tags as t><#else>a<#else>b</#list>`,
	`<#list custom_data.tags as t><#elseif true>x</#list>`,
	`<#list list_data.pairs as k, k>${k}</#list>`,
	`<#list custom_data.tags as t>${t}`,
	`<#list custom_data.tags>x<#break></#list>`,
	`<#list custom_data.tags as t>${t?item_cycle}</#list>`,
	`<#list custom_data.tags as t>${t?item_cycle()}</#list>`,
	`<#list custom_data.tags as t><@loop data=custom_data.tags val="u">${u?index}</@loop></#list>`,
}

// listTemplate returns one generated template built around the #list
// family, typed like the rest of the generator so that most render.
func (g *gen) listTemplate() string {
	g.depth = 0
	g.vars = g.vars[:0]
	return g.pick("", "\n", "a ", "<#assign acc = 0>") + g.listElement() + g.pick("", "\n", "${acc!}", "x\n")
}

// A listed value: its expression and what its items are.
type listed struct {
	x    string
	kind byte // 's' scalars, 'h' hashes, 'n' numbers, '?' anything (errors)
}

var (
	seqListed = []listed{
		{"custom_data.tags", 's'}, {"custom_data.empty_list", 's'}, {"list_data.nulls", 's'}, {"list_data.one", 's'},
		{"list_data.nums", 'n'}, {"[1, 2, 3]", 'n'}, {"[\"a\", \"b\"]", 's'}, {"\"x,y,z\"?split(\",\")", 's'},
		{"user_data?keys", 's'}, {"app.app_bundles", 'h'}, {"content_items", 'h'}, {"[]", 's'},
		{"[{\"os\": \"X\"}, {\"os\": \"IOS\"}]", 'h'}, {"(nope)!", 's'}, {"list_data.nested", '?'},
		{"nope", '?'}, {"user_data.os", '?'}, {"user_data", '?'}, {"custom_data.count", '?'},
	}
	hashListed = []string{"list_data.pairs", "user_data", "last_attributed_touch_data", "content_items[0]",
		"{\"a\": 1, \"b\": \"c\"}", "list_data.empty", "(nope)!", "custom_data.tags", "ad_network.credentials"}
)

func (g *gen) loopVar() string {
	v := g.pick("x", "y", "it", "name")
	g.vars = append(g.vars, v)
	return v
}

// loopBuiltin generates a use of a loop-variable built-in of v.
func (g *gen) loopBuiltin(v string) string {
	return v + g.pick("?index", "?counter", "?has_next?c", "?is_first?c", "?is_last?c", "?item_parity",
		"?item_parity_cap", "?is_odd_item?c", "?is_even_item?c", `?item_cycle("r", "g")`, "?counter * 2", "_index", "_has_next?c")
}

// itemExpr generates an interpolation of item v of the given kind.
func (g *gen) itemExpr(v string, kind byte) string {
	switch kind {
	case 's':
		return g.pick(v+"!\"-\"", "("+v+"!\"\")?upper_case", v+"?has_content?c", "("+v+"!\"\")?length")
	case 'n':
		return g.pick(v, v+" + 1", v+"?c", "("+v+" / 4)?string(\"0.0\")")
	case 'h':
		return g.pick("("+v+".os)!\"-\"", "("+v+".sku)!\"-\"", v+"?keys?join(\"+\")", "("+v+".price)!0")
	}
	return g.pick(v, v+"?size", g.any())
}

// condOf generates a condition on loop variable v.
func (g *gen) condOf(v string) string {
	return g.pick(v+"?index == 1", v+"?counter gt 2", v+"?has_next", "!"+v+"?has_next", v+"?is_last",
		v+"?index % 2 == 0", v+"?is_first", g.boolean())
}

func (g *gen) listElement() string {
	g.depth++
	defer func() { g.depth-- }()
	nvars := len(g.vars)
	defer func() { g.vars = g.vars[:nvars] }()
	nl := g.pick("", "", "\n", "\n  ")
	if g.chance(0.2) {
		h := g.pick(hashListed...)
		k, v := g.pick("k", "key"), g.pick("v", "val")
		g.vars = append(g.vars, k, v)
		body := "${" + k + "}=<@jsonmap data=" + v + "/>"
		if g.chance(0.5) {
			body += "${" + g.loopBuiltin(k) + "}"
		}
		return "<#list " + h + " as " + k + ", " + v + ">" + nl + body + g.sepOrBreak(k) + nl + g.elsePart() + "</#list>" + nl
	}
	l := seqListed[g.r.IntN(len(seqListed))]
	v := g.loopVar()
	var body strings.Builder
	for n := 1 + g.r.IntN(3); n > 0; n-- {
		switch g.r.IntN(7) {
		case 0, 1:
			body.WriteString("${" + g.itemExpr(v, l.kind) + "}")
		case 2:
			body.WriteString("${" + g.loopBuiltin(g.vars[g.r.IntN(len(g.vars))]) + "}")
		case 3:
			body.WriteString(nl + "<#if " + g.condOf(v) + ">" + g.pick("<#break>", "<#continue>", "!") + "</#if>" + nl)
		case 4:
			if g.depth < 3 {
				body.WriteString(g.listElement())
			} else {
				body.WriteString(g.text())
			}
		case 5:
			if l.kind == 'n' {
				body.WriteString("<#assign acc = (acc!0) + " + v + ">")
			} else {
				body.WriteString(g.element())
			}
		default:
			body.WriteString(g.text())
		}
	}
	sep := g.sepOrBreak(v)
	if g.chance(0.25) {
		// the #items form: the loop variable is bound by #items
		return "<#list " + l.x + ">" + nl + g.pick("", "[", "<ul>") + "<#items as " + v + ">" + nl + body.String() + sep + nl +
			"</#items>" + g.pick("", "]", "</ul>") + nl + g.elsePart() + "</#list>" + nl
	}
	return "<#list " + l.x + " as " + v + ">" + nl + body.String() + sep + nl + g.elsePart() + "</#list>" + nl
}

// sepOrBreak ends a loop body: a separator (closed or not), a guarded
// #break or #continue, or nothing.
func (g *gen) sepOrBreak(v string) string {
	switch g.r.IntN(5) {
	case 0:
		return "<#sep>" + g.pick(",", ", ", "\n") + "</#sep>"
	case 1:
		return "<#sep>" + g.pick(";", " | ")
	case 2:
		return "<#if " + g.condOf(v) + "><#break></#if>"
	case 3:
		return "<@sep>" + g.pick(",", ";") + "</@sep>"
	}
	return ""
}

func (g *gen) elsePart() string {
	if g.chance(0.3) {
		return "<#else>" + g.pick("empty", "${user_data.os!}", "\n  none\n")
	}
	return ""
}

// listCases returns the hand-written and generated <#list> corpus.
func listCases(g *gen, n int) []tcase {
	var out []tcase
	for i, text := range handListCases {
		out = append(out, tcase{name: fmt.Sprintf("list%03d.ftl", i), text: text, oracle: forOracle(text), origin: "list"})
	}
	for i := 0; i < n; i++ {
		text := g.listTemplate()
		out = append(out, tcase{name: fmt.Sprintf("genlist%04d.ftl", i), text: text, oracle: forOracle(text), origin: "gen-list"})
	}
	return out
}
