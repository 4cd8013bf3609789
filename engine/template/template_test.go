package template

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func loadEvent(t testing.TB) Value {
	t.Helper()
	b, err := os.ReadFile("testdata/event.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type execCase struct {
	name, tpl, want string
	wantErr         string // substring of the error; "" means success
}

func runCases(t *testing.T, cases []execCase) {
	t.Helper()
	root := loadEvent(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(tc.tpl, root)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("%s: want error containing %q, got output %q", tc.tpl, tc.wantErr, got)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%s: error %q does not contain %q", tc.tpl, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.tpl, err)
			}
			if got != tc.want {
				t.Fatalf("%s:\n got %q\nwant %q", tc.tpl, got, tc.want)
			}
		})
	}
}

func render(tpl string, root Value) (string, error) {
	tp, err := Parse("t", tpl, Options{})
	if err != nil {
		return "", err
	}
	return tp.ExecuteString(root, nil)
}

func TestDefaultAndExists(t *testing.T) {
	runCases(t, []execCase{
		{"missing top", "[${nope!}]", "[]", ""},
		{"missing last step", `[${user_data.nope!"d"}]`, "[d]", ""},
		{"missing parent without parens", `${nope.x!"d"}`, "", "nope is missing"},
		{"missing parent in parens", `${(nope.x)!"d"}`, "d", ""},
		{"deep parens", `[${(nope.a.b.c)!}]`, "[]", ""},
		{"type error not swallowed", `${(user_data.os.x)!"d"}`, "", "expected a hash"},
		{"rhs binds loosely", `<#assign x=5>${x!1 + 2} ${(x!1) + 2}`, "5 7", ""},
		{"rhs swallows comparison", `${(user_data.os)!"X" == "IOS"}`, "IOS", ""},
		{"empty default is empty string", `<#if (nope)! == "">empty</#if>`, "empty", ""},
		{"empty default length", `${(user_data.nope)!?length}`, "0", ""},
		{"exists", `${(nope.x)???c} ${user_data.os???c} ${user_data.nope???c}`, "false true false", ""},
		{"not exists", `<#if !(nope)??>missing</#if>`, "missing", ""},
		{"null is missing", `${(custom_data.cleared)!"was-null"}`, "was-null", ""},
		{"builtin on missing", `${user_data.nope?lower_case!"d"}`, "", "user_data.nope is missing"},
		{"comparison in parens swallowed", `${(nope == 1)!"d"}`, "d", ""},
		{"rhs needs a whole expression", `[${(nope)! + -4}]`, "[-4]", ""},
		{"terminating ! in a directive call", `<@jsonmap data=(nope)! +1/> <@jsonmap data=(nope)!+1/>`, `"1" 1`, ""},
		{"! chains parse in linear time", "${" + strings.Repeat("x!", 200) + "}", "", "nested deeper"},
		{"has_content", `${""?has_content?c} ${"x"?has_content?c} ${(nope.x)?has_content?c} ${content_items?has_content?c} ${0?has_content?c}`, "false true false false true", ""},
	})
}

func TestComparisonsAndLogic(t *testing.T) {
	runCases(t, []execCase{
		{"string eq", `<#if user_data.os == "IOS">y<#else>n</#if>`, "y", ""},
		{"single equals", `<#if user_data.os = "IOS">y</#if>`, "y", ""},
		{"not equal", `<#if user_data.os != "IOS">y<#else>n</#if>`, "n", ""},
		{"string vs number", `<#if user_data.os == 1>y</#if>`, "", "can't compare"},
		{"number vs string", `<#if user_data.geo_dma_code == "807">y</#if>`, "", "can't compare"},
		{"string lt literal is a parse error", `<#if user_data.os < "Z">y</#if>`, "", "cannot compare strings"},
		{"string lt at runtime", `<#assign z = "Z"><#if (user_data.os < z)>y</#if>`, "", "on string values"},
		{"missing in comparison", `<#if nope == "IOS">y</#if>`, "", "nope is missing"},
		{"gt in parens", `<#if (user_data.geo_dma_code > 800)>gt</#if>`, "gt", ""},
		{"gt keyword", `<#if user_data.geo_dma_code gt 800>gt</#if>`, "gt", ""},
		{"number compare exact", `${(0.1 + 0.2 == 0.3)?c}`, "true", ""},
		{"collator case", `<#if "ios" == "IOS">eq<#else>ne</#if>`, "ne", ""},
		{"collator ignorable trailing control", `<#if "IOS\x0001" == "IOS">eq</#if>`, "eq", ""},
		{"collator zero width", `<#if "a\x200Bb" == "ab">eq</#if>`, "eq", ""},
		{"collator ignorable in the literal", `<#if user_data.os == "IOS\x0001">eq</#if><#if "ab" != "a\x200Bb">ne<#else>eq</#if>`, "eqeq", ""},
		{"collator ignorable in the data", `<#assign v = "I\x200BOS"><#if v == "IOS">eq</#if><#if v != "IO">ne</#if>`, "eqne", ""},
		{"logic", `<#if !(user_data.os == "ANDROID") && (true || nope)>ok</#if>`, "ok", ""},
		{"short circuit", `<#if false && nope>y<#else>n</#if>`, "n", ""},
		// FreeMarker reads | and & as || and &&; "or" is only a name.
		{"single-character logic", `${(true | nope)?c} ${(false & nope)?c} ${(true || false & false)?c}`, "true false true", ""},
		{"or is not an operator", `${(true or false)?c}`, "", `expected ")", found "or"`},
		{"non-boolean if", `<#if user_data.os>y</#if>`, "", "expected a boolean"},
		{"boolean literal in logic", `${1 && true}`, "", "where a boolean is expected"},
	})
}

func TestArithmeticAndNumbers(t *testing.T) {
	runCases(t, []execCase{
		{"exact decimal", `${0.1 + 0.2} ${1/3} ${10/4} ${7/2} ${(7/2)?int} ${-7/2?int}`, "0.3 0.333333333333 2.5 3.5 3 -3.5", ""},
		{"big ids", `${timestamp} ${last_attributed_touch_data["~id"]} ${12345678901234567890}`, "1512681005807 492712384728937114 12345678901234567890", ""},
		{"literal forms", `${08} ${+11} ${-5.013} ${1.50}`, "8 11 -5.013 1.5", ""},
		{"half even", `${2.5?string("0")} ${3.5?string("0")} ${1234567.891?string("#,##0.##")} ${1?string("0.00")}`, "2 4 1,234,567.89 1.00", ""},
		{"round floor ceiling", `${1.5?round} ${(-1.5)?round} ${-1.5?round} ${1.2?floor} ${(-1.2)?ceiling} ${-3?abs} ${(-3)?abs}`, "2 -1 -2 1 -1 -3 3", ""},
		{"round through double", `${12345678901234567890?ceiling} ${9007199254740993?floor} ${timestamp?round}`, "12345678901234567168 9007199254740992 1512681005807", ""},
		{"multiplication caps the scale at 12", `${1 / 1.50 * 2.5} ${1.6666666666675 * 1} ${-0.0000000000005} ${0 - 1.6666666666675}`, "1.666666666668 1.666666666668 -0.000000000001 -1.6666666666675", ""},
		{"modulus", `${7.5 % 2} ${-7 % 3}`, "1 -1", ""},
		{"division by zero", `${1/0}`, "", "division by zero"},
		{"concat", `${"t=" + timestamp} ${1 + true} ${"a" + true}`, "t=1512681005807 1true atrue", ""},
		{"number of string", `${"12.50"?number} ${"1e3"?number}`, "12.5 1000", ""},
		{"bad number", `${" 1"?number}`, "", "can't convert"},
		{"exponent literal", `${1e3!}`, "", "exponents"},
		{"minus on string literal", `${"a" - 2}`, "", "where a number is expected"},
		{"c and string", `${timestamp?c} ${1.0?c} ${timestamp?string} ${timestamp?string.computer}`, "1512681005807 1 1512681005807 1512681005807", ""},
		{"booleans", `${attributed} ${attributed?c} ${attributed?string("1","0")} ${user_data.limit_ad_tracking?c}`, "true true 1 false", ""},
	})
}

func TestStrings(t *testing.T) {
	runCases(t, []execCase{
		{"escapes", `${"q\"s\\ \x41\x00A9 \l\g\a \{ tab[\t]"}`, "q\"s\\ A© <>& { tab[\t]", ""},
		{"raw", `${r"${x} \n C:\dir"}`, `${x} \n C:\dir`, ""},
		{"single quotes", `${'it\'s'}`, "it's", ""},
		{"interpolation in literal", `${"os=${user_data.os}"}`, "os=IOS", ""},
		{"substring", `${"id1234"?substring(2)}|${"abc"?substring(3)}|${"abc"?substring(1,2)}|${"abc"?substring(1.9)}`, "1234||b|bc", ""},
		{"substring out of range", `${"a"?substring(2)}`, "", "mustn't be greater"},
		{"substring on number", `${123456?substring(2)}`, "3456", ""},
		{"case", `${"GrEeN MoUsE"?lower_case} ${"straße"?upper_case} ${"  x"?cap_first}`, "green mouse STRASSE   X", ""},
		{"url", `${"a b/c&d=é~*()'!?#+"?url}`, "a%20b%2Fc%26d%3D%C3%A9~*()'!%3F%23%2B", ""},
		{"url latin1", `${"é€"?url("ISO-8859-1")}`, "%E9%3F", ""},
		{"trim length", `[${"  a b 	"?trim}] ${"héllo"?length} ${"😀"?length}`, "[a b] 5 2", ""},
		{"keep", `${"ios/and"?keep_before("/")} ${"ios/and"?keep_after("/")} [${"x"?keep_after("/")}]`, "ios and []", ""},
		{"replace", `${"abc"?replace("", "|")} ${"aaa"?replace("a","b")}`, "|a|b|c| bbb", ""},
		{"url_path", `${"a/b c"?url_path}`, "a/b%20c", ""},
		{"index_of", `${"aébc"?index_of("b")} ${"abcb"?last_index_of("b")} ${"abc"?index_of("x")} ${"abcabc"?index_of("b", 2)} ${"😀b"?index_of("b")}`, "2 3 -1 4 2", ""},
		{"pad", `${"ab"?left_pad(5)}|${"a"?left_pad(8, "-=")}|${"a"?right_pad(8, "-=")}|${"abcdef"?left_pad(3)}`, "   ab|-=-=-=-a|a=-=-=-=|abcdef", ""},
		{"pad empty filling", `${"ab"?left_pad(5, "")}`, "", "0-length"},
		{"json_string", `${"q\"b\\</ ]]> <!-- \n\x01\x2028"?json_string}`, `q\"b\\<\/ ]]\u003E \u003C!-- \n\u0001\u2028`, ""},
		{"split", `${"a,,b,"?split(",")?join("|")} ${""?split("")?size}`, "a||b| 0", ""},
		{"boolean", `${"true"?boolean?c} ${"false"?boolean?c}`, "true false", ""},
		{"boolean strict", `${"TRUE"?boolean}`, "", "can't convert"},
		{"contains", `${"abc"?contains("b")?c} ${"abc"?starts_with("a")?c} ${"abc"?ends_with("a")?c}`, "true true false", ""},
		{"then", `${true?then("y", nope)} ${false?then(nope, "n")}`, "y n", ""},
		{"default of missing is missing", `<@jsonmap data=nope?default(nope2)/> ${nope?default(nope2)!"d"}`, "null d", ""},
		{"unknown builtin", `${"x"?no_such_builtin}`, "", "unknown built-in"},
		{"print hash", `${user_data}`, "", "is a hash"},
		{"print sequence", `${content_items}`, "", "is a sequence"},
		{"keys size", `${last_attributed_touch_data?size} ${custom_data?keys?seq_contains("cleared")?c}`, "25 true", ""},
	})
}

func TestDialect(t *testing.T) {
	runCases(t, []execCase{
		{"dollar", `${last_attributed_touch_data.$3p}`, "a_criteo", ""},
		{"tilde dotted", `${last_attributed_touch_data.~campaign}`, "spring sale & more", ""},
		{"plus dotted", `${last_attributed_touch_data.+click_timestamp}`, "1512680990", ""},
		{"bracket", `${last_attributed_touch_data["~id"]}`, "492712384728937114", ""},
		{"aliases", `${last_attributed_touch_data.tilde_id} ${last_attributed_touch_data.dollar_3p} ${last_attributed_touch_data.plus_url}`,
			"492712384728937114 a_criteo https://acme.app.link/xcLwHN3VfG?%7Eclick_id=594174602", ""},
		{"tilde top level", `${~x}`, "", "unexpected character"},
		{"blocked import", `<#import "a" as b>`, "", "Branch blocks"},
		{"blocked eval", `${"1"?eval}`, "", "Branch blocks"},
		{"blocked in text", `see <#include "x">`, "", "Branch blocks"},
		{"unknown directive", `x<#foo>y`, "", "unknown directive #foo"},
		{"unsupported directive", `<#switch x></#switch>`, "", "not supported"},
		{"special variable", `${.now}`, "", "special variable"},
		{"legacy interpolation", `a#{1+1}b`, "a2b", ""},
	})
}

func TestDirectives(t *testing.T) {
	runCases(t, []execCase{
		{"elseif else", `<#if false>a<#elseif user_data.os == "IOS">b<#else>c</#if>`, "b", ""},
		{"unclosed if", "<#if true>x", "", "unclosed <#if>"},
		{"stray end", "x</#if>", "", "no matching"},
		{"assign", `<#assign a = "x" b = 2><#assign b += 3>${a}${b}`, "x5", ""},
		{"assign missing", `<#assign a = nope>`, "", "nope is missing"},
		{"capture", `<#assign c>v=${user_data.os}</#assign>[${c}]`, "[v=IOS]", ""},
		{"comment", "a<#-- hidden -->b", "ab", ""},
		{"loop sep break", `<@loop data=app.app_bundles val="b">${b.os}<@sep>,</@sep></@loop>|<@loop data=app.app_bundles val="b">${b.os}<@break/>X</@loop>|${(b)!"unbound"}`,
			"ANDROID,IOS|ANDROID|unbound", ""},
		{"loop missing data", `<@loop data=nosuch val="x">a</@loop>|`, "|", ""},
		{"loop not a sequence", `<@loop data=user_data val="x">a</@loop>`, "", "must be a sequence"},
		{"loop without val", `<@loop data=content_items>a</@loop>`, "", "val"},
		{"break outside loop", `<@break/>`, "", "outside of <@loop>"},
		{"loop var restored", `<#assign b = "outer"><@loop data=app.app_bundles val="b">${b.os}</@loop>${b}`, "ANDROIDIOSouter", ""},
		{"json", "<@json>a\"b\\c\n</@json>", `"a\"b\\c\n"`, ""},
		{"jsonmap", `<@jsonmap data=user_data.screen_width/> <@jsonmap data=user_data.nope/> <@jsonmap data=app.app_bundles[1]/> <@jsonmap data=attributed/>`,
			`750 null {"os":"IOS","ios":{"bundle_id":"com.acme.Shop","itunes_id":"id1234567890"}} true`, ""},
		{"jsonmap aliases", `<@jsonmap data={"$a": 1.50, "b": 7/2}/>`, `{"$a":1.50,"b":3.500000000000,"dollar_a":1.50}`, ""},
		{"urlencode", `<@urlencode>a b&c=d/é~*</@urlencode>`, "a+b%26c%3Dd%2F%C3%A9%7E*", ""},
		{"unknown user directive", `<@foo/>`, "", "unknown user directive"},
		{"variable hides directive", `<#assign sep = ","><@loop data=app.app_bundles val="c"><@sep>x</@sep></@loop>`, "", "hides"},
		{"unclosed user directive", `<@json>x`, "", "unclosed <@json>"},
	})
}

func TestWhitespaceStripping(t *testing.T) {
	runCases(t, []execCase{
		{"probe 41", "  <#if true>\nX\n  </#if>  \nY ${user_data.os}\n<#if true> </#if>\nZ\n", "  \nX\nY IOS\n \nZ\n", ""},
		{"tag-only line", "a\n  <#if true>\nX\n  </#if>\n", "a\n  X\n", ""},
		{"comment line", "a\n<#-- c -->\nb", "a\nb", ""},
		{"first text never stripped", "a\n  <#assign x = 1>\nb${x}", "a\n  b1", ""},
		{"assign line", "${1}\n  <#assign x = 1>\nb${x}", "1\nb1", ""},
		{"interpolation keeps line", "a\n<#if true>${user_data.os}</#if>\nb", "a\nIOS\nb", ""},
		{"user directive line", "a\n<@loop data=content_items val=\"c\">\n</@loop>\nb", "a\nb", ""},
	})
}

func TestMacros(t *testing.T) {
	root := loadEvent(t)
	opt := Options{IsMacro: func(n string) bool { return n == "os" || n == "~click_id" }}
	tp, err := Parse("url", "https://x/?os={os}&c={~click_id}&keep={other}&${user_data.os}", opt)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	out, err := tp.ExecuteString(root, &ExecOptions{Macro: func(w *strings.Builder, name string) error {
		seen = append(seen, name)
		w.WriteString("<" + name + ">")
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://x/?os=<os>&c=<~click_id>&keep={other}&IOS"; out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	if strings.Join(seen, ",") != "os,~click_id" {
		t.Fatalf("macros called: %v", seen)
	}
	boom := errors.New("no value")
	_, err = tp.ExecuteString(root, &ExecOptions{Macro: func(*strings.Builder, string) error { return boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("macro error not returned: %v", err)
	}
}

func TestSandboxLimits(t *testing.T) {
	root := loadEvent(t)
	big := strings.Repeat("x", 100)
	tp, err := Parse("big", strings.Repeat(big, 20), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.ExecuteString(root, &ExecOptions{MaxOutput: 1000}); !isRule(err, RuleLimit) {
		t.Fatalf("output bound: got %v", err)
	}
	if out, err := tp.ExecuteString(root, &ExecOptions{MaxOutput: 2000}); err != nil || len(out) != 2000 {
		t.Fatalf("output at the bound: %d %v", len(out), err)
	}
	// nested loops multiply: 2^12 iterations from a small template
	nest := strings.Repeat(`<@loop data=app.app_bundles val="a">`, 12) + "x" + strings.Repeat(`</@loop>`, 12)
	tp, err = Parse("nest", nest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.ExecuteString(root, &ExecOptions{MaxSteps: 1000, MaxOutput: 1 << 20}); !isRule(err, RuleLimit) {
		t.Fatalf("step bound: got %v", err)
	}
	// string doubling cannot exceed the output bound in memory
	dbl := `<#assign s = "xxxxxxxxxx">` + strings.Repeat(`<#assign s = s + s>`, 30) + "${s?length}"
	tp, err = Parse("dbl", dbl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.ExecuteString(root, nil); !isRule(err, RuleLimit) {
		t.Fatalf("concat bound: got %v", err)
	}
	// so can sequence doubling
	dbl = `<#assign s = [1, 2, 3]>` + strings.Repeat(`<#assign s = s + s>`, 40) + "${s?size}"
	tp, err = Parse("seqdbl", dbl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.ExecuteString(root, nil); !isRule(err, RuleLimit) {
		t.Fatalf("sequence concat bound: got %v", err)
	}
	// deep nesting is refused at parse time
	if _, err := Parse("deep", "${"+strings.Repeat("(", 500)+"1"+strings.Repeat(")", 500)+"}", Options{}); !isRule(err, RuleLimit) {
		t.Fatalf("expression depth: got %v", err)
	}
}

func isRule(err error, rule string) bool {
	var e *Error
	return errors.As(err, &e) && e.Rule == rule
}

func TestErrorPositions(t *testing.T) {
	root := loadEvent(t)
	tests := []struct {
		tpl       string
		line, col int
		rule      string
	}{
		{"ab\n  ${nope.x}", 2, 5, RuleEval},
		{"x\n<#if true>", 2, 1, RuleSyntax}, // an unclosed block: at its opening tag
		{"${1 +}", 1, 6, RuleSyntax},
		{"a\nb <#include \"x\">", 2, 3, RuleBlocked},
		{"<#if user_data.os>y</#if>", 1, 6, RuleEval},
		{"ab\n  ${\"x${nope.y}\"}", 2, 9, RuleEval},
	}
	for _, tc := range tests {
		_, err := render(tc.tpl, root)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: want *Error, got %v", tc.tpl, err)
		}
		if e.Line != tc.line || e.Col != tc.col || e.Rule != tc.rule || e.Name != "t" {
			t.Errorf("%q: got %s:%d:%d %s (%s), want %d:%d %s", tc.tpl, e.Name, e.Line, e.Col, e.Rule, e.Msg, tc.line, tc.col, tc.rule)
		}
	}
}

func TestSprig(t *testing.T) {
	runCases(t, []execCase{
		{"sha256", `${sprig.sha256sum(user_data.idfa)}`, "76b0a598140da0e018e01f3f3c8108b435c6632497401ef8d461975b471e2bf8", ""},
		{"sha1 of lower case", `${sprig.sha1sum(user_data.idfa?lower_case)}`, "c8121a5e90b26e59ef4f3ef6c1eae495d8d64508", ""},
		{"b64", `${sprig.b64enc("a b")}`, "YSBi", ""},
		{"number arg", `${sprig.add(1, timestamp)}`, "1512681005808", ""},
		{"join seq", `${sprig.join("-", ["a", 1, true])}`, "a-1-true", ""},
		{"date in zone", `${sprig.dateInZone("2006-01-02 15:04", (timestamp / 1000)?int, "UTC")}`, "2017-12-07 21:10", ""},
		{"hash result", `${sprig.dict("b", 1, "a", "x")?keys?join(",")}`, "a,b", ""},
		{"float result", `${sprig.divf(1, 4)} ${sprig.mulf(2.5, 2)}`, "0.25 5", ""},
		{"error result", `${sprig.fail("no")}`, "", "sprig.fail failed: no"},
		// adgate's additions and changes to Sprig (sprigOverrides).
		{"md5", `${sprig.md5sum("abc")}`, "900150983cd24fb0d6963f7d28e17f72", ""},
		{"date is UTC whatever the host zone", `${sprig.date("2006-01-02 15:04 MST", 1512681005)}`, "2017-12-07 21:10 UTC", ""},
		{"htmlDate is UTC", `${sprig.htmlDate(1512681005)}`, "2017-12-07", ""},
		{"time result feeds a time parameter", `${sprig.unixEpoch(sprig.toDate("2006-01-02", "2024-03-01"))}`, "1709251200", ""},
		{"time result prints RFC 3339", `${sprig.toDate("2006-01-02", "2024-03-01")}`, "2024-03-01T00:00:00Z", ""},
		{"bad time argument", `${sprig.unixEpoch("yesterday")}`, "", "expected a time"},
		{"int sequence result", `<@loop data=sprig.until(3) val="i">${i}</@loop>`, "012", ""},
		{"unknown", `${sprig.nope(1)}`, "", "unknown Sprig function"},
		{"denied env", `${sprig.env("HOME")}`, "", "not available"},
		{"arity", `${sprig.b64enc()}`, "", "takes 1 arguments"},
		{"size bound", `${sprig.repeat(100000000, "x")}`, "", "larger than"},
		// Results that outgrow their arguments are refused before the call.
		{"repeat result bound", `${sprig.repeat(10000, sprig.repeat(6000, "aaaaaaaaaa"))}`, "", "sprig.repeat would build a result larger than 1048576 bytes"},
		{"replace result bound", `<#assign a = sprig.repeat(600, "aaaaaaaaaa")>${sprig.replace("a", a, a)}`, "", "sprig.replace would build a result larger than"},
		{"regex expansion bound", `<#assign a = sprig.repeat(2000, "a")>${sprig.regexReplaceAll("a", a, "$0$0$0$0$0$0")}`, "", "sprig.regexReplaceAll would build a result larger than"},
		{"join separator bound", `<#assign sep = sprig.repeat(5000, "x")>${sprig.join(sep, sprig.until(1000))}`, "", "sprig.join would build a result larger than"},
		{"argument bound", `<#assign a = sprig.repeat(3400, "aaaaaaaaaa")>${sprig.cat(a, a)}`, "", "sprig.cat arguments are larger than 65536 bytes"},
		{"shared parts count each time", `<#assign l = sprig.until(3000)>${sprig.toJson(sprig.list(l, l, l))}`, "", "sprig.list arguments are larger than"},
		{"within bounds", `${sprig.replace("a", "bb", "banana")} ${sprig.join("-", sprig.until(3))} ${sprig.indent(2, "x")}`, "bbbnbbnbb 0-1-2   x", ""},
		{"missing arg", `${sprig.upper(nope)}`, "", "nope is missing"},
	})
}

func TestRefs(t *testing.T) {
	tp, err := Parse("r", `${user_data.os}<#if (custom_data.x)!"" == "a">${"${event.name}"}</#if><@loop data=app.app_bundles val="b">${b.os}</@loop>${user_data.ip}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tp.Refs(), ","), "user_data,custom_data,event,app,b"; got != want {
		t.Fatalf("Refs() = %s, want %s", got, want)
	}
}
