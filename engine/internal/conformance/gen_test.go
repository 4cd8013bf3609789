package conformance

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// gen builds random templates over the grammar engine/template supports,
// typed so that most of them render (string, number and boolean
// expressions are generated apart), with a share of deliberate mistakes
// (missing values, wrong types) so that errors are compared too. It is
// deterministic for a seed.
type gen struct {
	r      *rand.Rand
	depth  int
	inLoop bool
	vars   []string // the loop variables of the <#list>s being generated
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *gen) chance(p float64) bool    { return g.r.Float64() < p }

var (
	strPaths = []string{
		"user_data.os", "user_data.os_version", "user_data.idfa", "user_data.country",
		"custom_data.label", "custom_data.num_text", "custom_data.dec_text", "custom_data.empty",
		"custom_data.odd", "last_attributed_touch_data.~campaign", "last_attributed_touch_data[\"~campaign\"]",
		"last_attributed_touch_data.$3p", "last_attributed_touch_data.tilde_channel",
		"last_attributed_touch_data.~channel", "event.name", "name", "ad_network.machine_name",
		"ad_network.credentials.key", "app.app_bundles[0].os", "content_items[1].sku",
	}
	numPaths = []string{
		"user_data.geo_dma_code", "custom_data.amount", "custom_data.big", "custom_data.count",
		"custom_data.neg", "last_attributed_touch_data.~id", "last_attributed_touch_data.+click_timestamp",
		"last_attributed_touch_data.plus_click_timestamp", "content_items[0].price", "timestamp",
		"event_data.revenue",
	}
	boolPaths = []string{"user_data.limit_ad_tracking", "custom_data.flag", "attributed", "event.attributed"}
	missPaths = []string{"nope", "user_data.nope", "custom_data.cleared", "nope.x", "custom_data.nope.y",
		"last_attributed_touch_data.~nope", "content_items[5].sku"}
	seqPaths  = []string{"app.app_bundles", "content_items", "custom_data.tags", "custom_data.empty_list"}
	hashPaths = []string{"user_data", "custom_data", "last_attributed_touch_data", "content_items[0]", "ad_network"}
)

func (g *gen) strLit() string {
	return g.pick(`"abc"`, `"IOS"`, `"ios"`, `'x y'`, `"a\"b"`, `"\x41\x00e9"`, `"tab\t"`, `r"C:\raw"`,
		`""`, `"&=/+ é"`, `"${user_data.os}-${custom_data.count}"`, `"a\l\g"`, `"ANDROID"`)
}

func (g *gen) numLit() string {
	return g.pick("0", "1", "7", "2", "3", "2.5", "0.1", "1.50", "100", "-4", "12345678901234567890", "0.0005",
		"0.3333333", "1.23456789012", "0.000001", "3.14159265358979", "1000000", "0.125", "99.99")
}

// str generates a string-valued expression.
func (g *gen) str() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 3 {
		return g.strLit()
	}
	switch g.r.IntN(16) {
	case 0, 1:
		return g.strLit()
	case 2, 3:
		return g.pick(strPaths...)
	case 4:
		return "(" + g.pick(missPaths...) + ")!" + g.strLit()
	case 5:
		return g.pick(missPaths...) + "!" + g.pick(`"d"`, `""`)
	case 6:
		return g.str() + " + " + g.pick(g.str(), g.num())
	case 7:
		return "(" + g.str() + ")?" + g.pick("lower_case", "upper_case", "cap_first", "trim", "url", "url('ISO-8859-1')", "string")
	case 8:
		return g.atomStr() + "?" + g.pick(`keep_before("/")`, `keep_after("-")`, `replace("a", "_")`, `replace("", ".")`, `substring(1)`, `substring(0, 1)`,
			"url_path", "json_string", `left_pad(12, "-=")`, `right_pad(12)`, `split("-")?join("+")`, `split("")?size?c`)
	case 9:
		return "(" + g.boolean() + ")?then(" + g.str() + ", " + g.str() + ")"
	case 10:
		return "(" + g.num() + ")?" + g.pick("c", "string", `string("0.00")`, `string("#,##0.#")`)
	case 11:
		return g.boolean() + "?c"
	case 12:
		if g.chance(0.5) {
			return "(" + g.pick(strPaths...) + ")!"
		}
		return g.pick(strPaths...) + "!"
	case 13:
		return "(" + g.pick(missPaths...) + ")!" // the multi-typed empty value
	case 14:
		switch g.r.IntN(8) {
		case 0:
			return g.pick(seqPaths...) + "?size?c"
		case 1:
			return g.pick(hashPaths...) + "?keys?join(\",\")"
		case 2:
			return "[" + g.str() + ", " + g.num() + "]?join(\"|\")"
		case 3:
			return "{\"k\": " + g.str() + "}.k"
		case 4:
			return g.pick(missPaths...) + "?default(" + g.str() + ")"
		case 5:
			return "(" + g.pick(missPaths...) + ")?if_exists"
		case 6:
			return g.atomStr() + "[" + g.pick("0", "1", "2") + "]"
		default:
			return g.boolean() + "?string(\"y\", \"n\")"
		}
	default:
		if g.chance(0.15) {
			return g.any() // deliberately untyped
		}
		return g.atomStr()
	}
}

func (g *gen) atomStr() string {
	if g.chance(0.5) {
		return g.pick(strPaths...)
	}
	return g.strLit()
}

// num generates a number-valued expression.
func (g *gen) num() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 3 {
		return g.numLit()
	}
	switch g.r.IntN(12) {
	case 0, 1:
		return g.numLit()
	case 2, 3:
		return g.pick(numPaths...)
	case 4:
		return g.num() + g.pick(" + ", " - ", " * ", " / ", " % ") + g.num()
	case 5:
		return "(" + g.num() + ")?" + g.pick("round", "floor", "ceiling", "abs", "int")
	case 10:
		return g.pick(seqPaths...) + "?" + g.pick("first", "last") + g.pick(".price", "")
	case 6:
		return g.atomStr() + g.pick("?length", `?index_of("a")`, `?last_index_of("S")`, `?index_of("", 3)`)
	case 7:
		return g.pick(`custom_data.num_text?number`, `custom_data.dec_text?number`, `"12.50"?number`, `"x"?number`)
	case 8:
		return "-" + g.pick(numPaths...)
	case 9:
		return g.pick(missPaths...) + "!" + g.numLit()
	default:
		return g.pick(seqPaths...) + "?size"
	}
}

// boolean generates a boolean-valued expression.
func (g *gen) boolean() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 3 {
		return g.pick("true", "false")
	}
	switch g.r.IntN(12) {
	case 0:
		return g.pick("true", "false")
	case 1:
		return g.pick(boolPaths...)
	case 2, 3:
		return g.str() + g.pick(" == ", " != ", " = ") + g.str()
	case 4:
		return "(" + g.num() + g.pick(" < ", " <= ", " > ", " >= ", " == ", " != ") + g.num() + ")"
	case 5:
		return g.num() + g.pick(" lt ", " gt ", " lte ", " gte ") + g.num()
	case 6:
		return g.boolean() + g.pick(" && ", " || ") + g.boolean()
	case 7:
		if g.chance(0.5) {
			return "!" + g.pick(boolPaths...)
		}
		return "!(" + g.boolean() + ")"
	case 8:
		if g.chance(0.5) {
			return "(" + g.pick(missPaths...) + ")??"
		}
		return g.pick(strPaths...) + "??"
	case 9:
		return "(" + g.pick(missPaths...) + ")?has_content"
	case 10:
		switch g.r.IntN(4) {
		case 0:
			return g.pick(seqPaths...) + "?seq_contains(" + g.pick(g.str(), g.num()) + ")"
		case 1:
			return g.pick(missPaths...) + "?exists"
		}
		return g.atomStr() + "?" + g.pick(`contains("a")`, `starts_with("I")`, `ends_with("S")`)
	default:
		if g.chance(0.3) {
			return g.any() // deliberately untyped
		}
		return g.pick(strPaths...) + "?has_content"
	}
}

func (g *gen) any() string {
	switch g.r.IntN(6) {
	case 0:
		return g.pick(missPaths...)
	case 1:
		return g.pick(hashPaths...)
	case 2:
		return g.pick(seqPaths...)
	case 3:
		return g.num()
	case 4:
		return g.boolean()
	}
	return g.str()
}

func (g *gen) text() string {
	var b strings.Builder
	for n := g.r.IntN(4); n >= 0; n-- {
		b.WriteString(g.pick("a", "b=", "&", " ", "  ", "\n", "\n  ", "{x}", "/", "?q=1", "}", "é"))
	}
	return b.String()
}

func (g *gen) body(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(g.element())
	}
	return b.String()
}

func (g *gen) element() string {
	g.depth++
	defer func() { g.depth-- }()
	k := g.r.IntN(15)
	if g.depth > 3 && k > 3 {
		k = g.r.IntN(4)
	}
	switch k {
	case 0, 1:
		return g.text()
	case 2, 3:
		return "${" + g.pick(g.str(), g.num(), g.boolean()) + "}"
	case 4, 5:
		s := "<#if " + g.boolean() + ">" + g.body(2)
		if g.chance(0.4) {
			s += "<#elseif " + g.boolean() + ">" + g.body(1)
		}
		if g.chance(0.5) {
			s += "<#else>" + g.body(1)
		}
		return s + "</#if>" + g.pick("", "\n")
	case 6:
		return g.pick("", "  ") + "<#assign v" + g.pick("1", "2") + " = " + g.pick(g.str(), g.num()) + ">" + g.pick("", "\n") + "${v" + g.pick("1", "2") + "!\"u\"}"
	case 7, 8:
		saved := g.inLoop
		g.inLoop = true
		inner := "${it" + g.pick(".os", ".sku", "") + "!\"-\"}"
		if g.chance(0.5) {
			inner += "<@sep>" + g.pick(",", ";") + "</@sep>"
		}
		if g.chance(0.3) {
			inner += "<#if " + g.boolean() + "><@break/></#if>"
		}
		s := "<@loop data=" + g.pick(seqPaths...) + " val=\"it\">" + g.body(1) + inner + "</@loop>"
		g.inLoop = saved
		return s
	case 9:
		return "<@json>" + g.body(2) + "</@json>"
	case 10:
		if g.chance(0.4) {
			// arithmetic results show their scale in <@jsonmap>
			return "<@jsonmap data=" + g.num() + "/>"
		}
		return "<@jsonmap data=" + g.pick(g.any(), g.pick(hashPaths...), g.pick(seqPaths...)) + "/>"
	case 11:
		return "<@urlencode>" + g.body(2) + "</@urlencode>"
	case 12:
		switch g.r.IntN(4) {
		case 0:
			return "<#assign c>" + g.body(1) + "</#assign>${c}"
		case 1:
			return "<#assign n = " + g.num() + "><#assign n += " + g.pick(g.num(), g.str()) + ">${n}"
		case 2:
			return "#{" + g.num() + "}"
		}
		return g.pick("<#-- c -->", "\n<#-- line -->\n", "  <#if true>\n</#if>\n", "\r\n<#if true>\r\n x\r\n</#if>\r\n")
	case 13:
		return "\n" + g.pick("", "  ", "\t") + "<#if " + g.boolean() + ">\n" + g.body(1) + "\n" + g.pick("", "  ") + "</#if>\n"
	default:
		// tag-only lines of every kind, for white-space stripping
		ind := func() string { return g.pick("", " ", "  ", "\t", " \t ") }
		open, closeTag := g.pick("<#if true>", "<#if false>", `<@loop data=app.app_bundles val="it">`, "<@json>", "<@urlencode>"), ""
		switch open[1] {
		case '#':
			closeTag = "</#if>"
		default:
			closeTag = "</@" + strings.Fields(open[2:])[0] + ">"
			closeTag = strings.Replace(closeTag, ">>", ">", 1)
		}
		mid := g.pick("<#assign w = 1>", "<#-- c -->", "${it.os!\"-\"}", "x", "<@sep>,</@sep>", "<#assign w = 1><#-- c -->", "<#assign w = 1> ")
		return ind() + open + ind() + g.pick("\n", "\r\n", "") + ind() + mid + ind() + "\n" + g.body(1) + ind() + closeTag + ind() + g.pick("\n", "", "\n\n")
	}
}

// template returns one generated template.
func (g *gen) template() string {
	g.depth = 0
	return g.body(1 + g.r.IntN(4))
}

// event returns one generated event JSON (fields the paths above read,
// with values chosen to hit formatting and comparison corners).
func (g *gen) event() string {
	os := g.pick("IOS", "ANDROID", "ios")
	str := func() string {
		return g.pick(`"abc"`, `"IOS"`, `"a-b/c"`, `"Spring sale & more"`, `""`, `"x=1+2"`, `"é tab\t"`, `"ANDROID"`)
	}
	num := func() string {
		return g.pick("0", "42", "-7", "1.5", "100.0", "1e3", "0.1", "9223372036854775807", "551302741529937217", "2.50")
	}
	return fmt.Sprintf(`{
  "name": %s, "id": 551302741529937217, "timestamp": %s, "attributed": %t,
  "user_data": {"os": %q, "os_version": "11.2", "idfa": "27AFDDCC-15DA", "country": %s,
    "geo_dma_code": %s, "limit_ad_tracking": %t},
  "custom_data": {"label": %s, "num_text": %q, "dec_text": "1.50", "empty": "", "odd": %s,
    "amount": %s, "big": 12345678901234567891, "count": %s, "neg": -%s, "flag": %t, "cleared": null,
    "tags": [%s, %s], "empty_list": []},
  "last_attributed_touch_data": {"~campaign": %s, "~channel": %s, "$3p": "a_criteo", "~id": 492712384728937114,
    "+click_timestamp": %s, "tilde_channel": "explicit"},
  "event_data": {"revenue": %s, "currency": "USD"},
  "content_items": [{"price": %s, "sku": %s}, {"price": 2, "sku": "b"}],
  "ad_network": {"machine_name": "a_criteo", "name": "Criteo", "credentials": {"key": %s}}
}`, g.pick(`"INSTALL"`, `"open"`, `"PURCHASE"`), num(), g.chance(0.5), os, str(), num(), g.chance(0.5),
		str(), g.pick("42", "1.50", "x"), str(), num(), g.pick("3", "0", "2"), g.pick("1", "2.5"), g.chance(0.5),
		str(), str(), str(), str(), num(), num(), num(), str(), str())
}
