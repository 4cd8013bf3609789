package spec

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/diag"
)

var update = flag.Bool("update", false, "rewrite golden files")

const clevertapPath = "../../partners/clevertap.yaml"

func readCleverTap(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(clevertapPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCleverTapIsClean(t *testing.T) {
	p, ds, err := LoadFile(context.Background(), clevertapPath)
	if err != nil || len(ds) != 0 {
		t.Fatalf("clevertap.yaml: err=%v\n%v", err, ds)
	}
	if p.ID != "clevertap" || p.MachineNameOrDefault() != "a_clevertap" || p.Status != StatusInReview {
		t.Errorf("header = %q %q %q", p.ID, p.MachineNameOrDefault(), p.Status)
	}
	if len(p.Postbacks) != 1 || strings.Join(p.Postbacks[0].Events, ",") != "INSTALL,OPEN,PURCHASE,custom_event" {
		t.Fatalf("postbacks = %+v", p.Postbacks)
	}
	for _, ev := range []string{"install", "OPEN", "purchase", "custom_event"} {
		if p.Postback(ev) == nil {
			t.Errorf("no postback for %s", ev)
		}
	}
	if len(p.Parameters) != 15 || len(p.LinkOnly) != 2 {
		t.Errorf("%d parameters, %d link-only; the doc has 15 and 2", len(p.Parameters), len(p.LinkOnly))
	}
	if id := p.Parameter("identity"); id == nil || id.Template != "${(custom_data.identity)!}" || id.Branch != "CUSTOM_EVENT_METADATA" {
		t.Errorf("identity = %+v", id)
	}
	if !strings.Contains(p.Postbacks[0].URL, "&utm_medium={utm_medium}&") {
		t.Error("the URL does not carry the utm_medium fix")
	}
}

// linePosOf returns the 1-based line and column (in code points) of the
// n-th (0-based) occurrence of needle in text.
func linePosOf(t *testing.T, text, needle string, n int) (int, int) {
	t.Helper()
	return linePosAfter(t, text, "", needle, n)
}

// linePosAfter is linePosOf counting only occurrences after marker.
func linePosAfter(t *testing.T, text, marker, needle string, n int) (int, int) {
	t.Helper()
	off := strings.Index(text, marker) - 1
	if off < -1 {
		t.Fatalf("no %q in text", marker)
	}
	for i := 0; i <= n; i++ {
		j := strings.Index(text[off+1:], needle)
		if j < 0 {
			t.Fatalf("%q occurs fewer than %d times", needle, n+1)
		}
		off += 1 + j
	}
	before := text[:off]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndex(before, "\n")+1:]) + 1
	return line, col
}

func checkText(t *testing.T, name, text string) diag.List {
	t.Helper()
	l := newTestLoader(t)
	_, ds := l.Check(name, []byte(text))
	return ds
}

func find(ds diag.List, rule string) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range ds {
		if d.Rule == rule {
			out = append(out, d)
		}
	}
	return out
}

// TestCleverTapOriginalDefect restores the doc's utm_source={utm_medium}
// and requires the duplicate key at the exact line and column of the
// second utm_source, and the misplaced macro at its own column.
func TestCleverTapOriginalDefect(t *testing.T) {
	orig := strings.Replace(readCleverTap(t), "&utm_medium={utm_medium}&", "&utm_source={utm_medium}&", 1)
	ds := checkText(t, "clevertap.yaml", orig)
	if !ds.HasErrors() {
		t.Fatalf("original CleverTap URL passes:\n%v", ds)
	}
	dup := find(ds, RuleDuplicateQueryKey)
	line, col := linePosAfter(t, orig, "    url: ", "utm_source=", 1)
	if len(dup) != 1 || dup[0].Line() != line || dup[0].Col() != col || dup[0].Severity != diag.Error || !strings.Contains(dup[0].Message, `"utm_source"`) {
		t.Errorf("duplicate key: got %v, want one error at %d:%d naming utm_source", dup, line, col)
	}
	mis := find(ds, RuleMacroKeyMismatch)
	line, col = linePosAfter(t, orig, "    url: ", "{utm_medium}", 0)
	if len(mis) != 1 || mis[0].Line() != line || mis[0].Col() != col {
		t.Errorf("misplaced macro: got %v, want one at %d:%d", mis, line, col)
	}
}

func TestRenamedMacro(t *testing.T) {
	text := strings.Replace(readCleverTap(t), "&os={os}&", "&os={os_name}&", 1)
	ds := checkText(t, "clevertap.yaml", text)
	und := find(ds, RuleUndefinedMacro)
	line, col := linePosOf(t, text, "{os_name}", 0)
	if len(und) != 1 || und[0].Line() != line || und[0].Col() != col || !strings.Contains(und[0].Message, "{os_name}") {
		t.Errorf("undefined macro: got %v, want one at %d:%d", und, line, col)
	}
	unused := find(ds, RuleUnusedParameter)
	line, col = linePosOf(t, text, "macro: os\n", 0)
	if len(unused) != 1 || unused[0].Severity != diag.Warning || unused[0].Line() != line || unused[0].Col() != col+len("macro: ") {
		t.Errorf("unused parameter: got %v, want a warning at %d:%d", unused, line, col+len("macro: "))
	}
}

func TestBrokenIndentation(t *testing.T) {
	text := strings.Replace(readCleverTap(t), "    branch: OS_VERSION", "      branch: OS_VERSION", 1)
	ds := checkText(t, "clevertap.yaml", text)
	line, _ := linePosOf(t, text, "      branch: OS_VERSION", 0)
	syn := find(ds, RuleYAMLSyntax)
	if len(syn) != 1 || syn[0].Line() != line {
		t.Errorf("got %v, want a yaml-syntax error on line %d", ds, line)
	}
}

func TestUnknownBranchParameterNamed(t *testing.T) {
	text := strings.Replace(readCleverTap(t), "branch: OS_VERSION", "branch: OS_VERSON", 1)
	ds := checkText(t, "clevertap.yaml", text)
	unk := find(ds, RuleUnknownBranch)
	line, col := linePosOf(t, text, "OS_VERSON", 0)
	if len(unk) != 1 || unk[0].Line() != line || unk[0].Col() != col || !strings.Contains(unk[0].Message, `"OS_VERSON"`) || !strings.Contains(unk[0].Message, "OS_VERSION?") {
		t.Errorf("got %v, want one at %d:%d naming OS_VERSON and suggesting OS_VERSION", unk, line, col)
	}
}

// TestColumnsInsideScalars puts the same defect in every YAML scalar style
// and requires the finding at the macro itself.
func TestColumnsInsideScalars(t *testing.T) {
	head := "id: t\nname: T\nparameters:\n  - {macro: a, branch: AAID}\npostbacks:\n  - events: [INSTALL]\n    url: "
	tests := []struct {
		name, url, needle string
		nth               int
	}{
		{"plain", "https://ex.com/p?a={a}&b={bad}", "{bad}", 0},
		{"plain multi-line", "https://ex.com/p?a={a}\n      &b={bad}", "{bad}", 0},
		{"single-quoted", "'https://ex.com/p?a={a}&q=''x''&b={bad}'", "{bad}", 0},
		{"single-quoted multi-line", "'https://ex.com/p?a={a}\n      &b={bad}'", "{bad}", 0},
		{"double-quoted", `"https://ex.com/p?a={a}&q=\"x\"\t\u00e9&b={bad}"`, "{bad}", 0},
		{"double-quoted escaped break", "\"https://ex.com/p?a={a}\\\n      &b={bad}\"", "{bad}", 0},
		{"literal block", "|-\n      https://ex.com/p?a={a}&b={bad}", "{bad}", 0},
		{"folded block", ">-\n      https://ex.com/p?a={a}\n      &b={bad}", "{bad}", 0},
		{"non-ASCII before", "https://ex.com/é?a={a}&b={bad}", "{bad}", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := head + tt.url + "\n"
			ds := checkText(t, "t.yaml", text)
			und := find(ds, RuleUndefinedMacro)
			line, col := linePosOf(t, text, tt.needle, tt.nth)
			if len(und) != 1 || und[0].Line() != line || und[0].Col() != col {
				t.Errorf("got %v, want undefined-macro at %d:%d\n%s", und, line, col, ds)
			}
		})
	}
}

func TestLoadDirSkipsFixturesAndReportsAll(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "id: a\nname: A\n")
	write("a.test.yaml", "not: [a spec\n")
	write("b.yaml", "id: b\nname: B\nstatus: nope\n")
	write("c.yaml", "id: c\nname: C\n")
	write("notes.txt", "ignored")
	ps, ds, err := LoadDir(context.Background(), dir)
	var le diag.ListError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a diag.ListError", err)
	}
	if len(ps) != 2 || ps[0].ID != "a" || ps[1].ID != "c" {
		t.Errorf("loaded %v, want a and c (b has an error)", ps)
	}
	if len(ds) != 1 || filepath.Base(ds[0].File) != "b.yaml" || ds[0].Line() != 3 {
		t.Errorf("diags = %v", ds)
	}

	l := newTestLoader(t)
	ps, ds, err = l.LoadPaths(context.Background(), filepath.Join(dir, "a.yaml"), dir, dir+string(filepath.Separator)+".")
	if len(ps) != 2 || len(find(ds, RuleDuplicateID)) != 0 {
		t.Errorf("the same file given twice: %v %v %v", ps, ds, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := LoadDir(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
	if _, _, err := LoadDir(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Error("missing dir: no error")
	}
}

func TestLoadFileRefusesSpecWithErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.yaml")
	if err := os.WriteFile(path, []byte("id: x\nname: X\npostbacks:\n  - events: [INSTALL]\n    url: https://ex.com/?a={a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, ds, err := LoadFile(context.Background(), path)
	if p != nil || err == nil || len(find(ds, RuleUndefinedMacro)) != 1 {
		t.Fatalf("p=%v err=%v ds=%v", p, err, ds)
	}
}

// TestAliasBomb: alias expansion is bounded, not exponential.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("a" + string(rune('0'+i%10)) + string(rune('a'+i)) + ": &b" + string(rune('a'+i)) + " [")
		prev := "a0"
		if i > 1 {
			prev = "b" + string(rune('a'+i-1))
		}
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
	}
	ds := checkText(t, "bomb.yaml", b.String())
	if !ds.HasErrors() {
		t.Fatal("alias bomb accepted")
	}
}

// TestGoldenFormats writes the findings for testdata/golden/*.yaml in the
// three output formats and compares them with the golden files
// (go test -update rewrites them).
func TestGoldenFormats(t *testing.T) {
	l := newTestLoader(t)
	_, ds, _ := l.LoadPaths(context.Background(), filepath.Join("testdata", "golden", "specs"))
	if len(ds) < 5 {
		t.Fatalf("golden specs produce only %d findings", len(ds))
	}
	for _, f := range []diag.Format{diag.Text, diag.JSON, diag.GitHub} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := ds.Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", "findings."+string(f))
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s output differs from %s:\n%s", f, golden, buf.String())
			}
		})
	}
}

// TestTemplateProblems: the lint reports the template package's errors,
// each once, at its code-point offset in the text, with the lint's rule.
func TestTemplateProblems(t *testing.T) {
	tests := []struct {
		text string
		want []string // "offset rule"
	}{
		{`${"}"}<#if a == "x">x</#if>`, nil},
		{`<#assign x>y</#assign><@loop data=s val="v">${v}<@break/></@loop><@sep>,</@>`, nil},
		{`<#-- ${ unclosed inside a comment is fine -->`, nil},
		{`<#if a>b<#elseif c>d<#else>e</#if>`, nil},
		{`${a?eval}${b? interpret}`, []string{"3 template-blocked", "12 template-blocked"}},
		{`<#list s as x></#list><#import "a" as b>`, []string{"22 template-blocked", "0 branch-blocked"}},
		{`é<#list s as x>${x?counter}<#sep>,</#list><#-- <#list -->`, []string{"1 branch-blocked", "47 branch-blocked"}},
		{`<#list s as x><#break></#list><#continue>`, []string{"30 template-syntax", "0 branch-blocked"}},
		{`é<#if a>`, []string{"1 template-syntax"}},
		{`x</#if>`, []string{"1 template-syntax"}},
		{`<#else>`, []string{"0 template-syntax"}},
		{`<@json>x</@loop>`, []string{"0 template-syntax", "8 template-syntax"}},
		{`${a`, []string{"0 template-syntax"}},
		{`${ }`, []string{"3 template-syntax"}},
		{`<#--`, []string{"0 template-syntax"}},
		{`<#bogus>`, []string{"0 template-syntax"}},
		{`<#if a`, []string{"0 template-syntax"}},
		{`ééé${a?nope}`, []string{"7 template-syntax"}},
	}
	for _, tt := range tests {
		var got []string
		for _, p := range parseTemplate(tt.text).problems() {
			got = append(got, strconv.Itoa(p.off)+" "+p.rule)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q: got %v, want %v", tt.text, got, tt.want)
		}
	}
}

// TestTemplateFindingsOnce: through the whole lint, each blocked
// construct and each class of template syntax error in a spec is one
// finding (rule, line:col, message), in a URL, a body and a parameter
// template alike.
func TestTemplateFindingsOnce(t *testing.T) {
	const head = "id: t\nname: T\nparameters:\n  - macro: a\n    branch: AAID\n  - macro: x\n    branch: CUSTOM_EVENT_METADATA\n    template: '"
	const tail = "'\npostbacks:\n  - events: [INSTALL]\n    url: https://ex.com/p?a={a}&x={x}\n"
	tests := []struct {
		tmpl string
		want string // "rule line:col message prefix"; the template starts at 8:16
	}{
		{`${a?interpret}`, "template-blocked 8:19 template uses ?interpret, which adgate refuses"},
		{`${a?eval}`, "template-blocked 8:19 template uses ?eval, which Branch blocks"},
		{`${a?new()}`, "template-blocked 8:19 template uses ?new, which adgate refuses"},
		{`${a?api}`, "template-blocked 8:19 template uses ?api, which adgate refuses"},
		{`<#list a as b>${b}</#list>`, "branch-blocked 8:16 template uses <#list, which Branch's blocklist refuses in webhook templates: adgate runs it"},
		{`<#include "x">`, "template-blocked 8:16 template uses <#include, which Branch blocks"},
		{`<#macro m>x</#macro>`, "template-blocked 8:16 template uses <#macro, which Branch blocks"},
		{`<#setting locale="de">`, "template-blocked 8:16 template uses <#setting, which Branch blocks"},
		{`${sprig.env("HOME")}`, "template-blocked 8:24 Sprig function env is not available"},
		{`<#if a>b`, "template-syntax 8:16 unclosed <#if>: add </#if>"},
		{`b</#if>`, "template-syntax 8:17 unexpected </#if> with no matching <#if>"},
		{`<@json>b`, "template-syntax 8:16 unclosed <@json>: add </@json>"},
		{`${a`, "template-syntax 8:16 unclosed ${: add }"},
		{`<#if a`, "template-syntax 8:16 unclosed tag <#if: add >"},
		{`${"a}`, "template-syntax 8:18 unclosed string literal"},
		{`<#-- a`, "template-syntax 8:16 unclosed comment"},
		{`${a # b}`, "template-syntax 8:20 unexpected character '#'"},
		{`${ }`, "template-syntax 8:19 expected an expression"},
		{`<#bogus>`, "template-syntax 8:16 unknown directive #bogus"},
		{`<#switch a></#switch>`, "template-syntax 8:16 directive #switch is not supported"},
		{`<@foo/>`, "template-syntax 8:16 unknown user directive <@foo>"},
		{`${a?nope}`, "template-syntax 8:20 unknown built-in ?nope"},
	}
	for _, tt := range tests {
		ds := checkText(t, "t.yaml", head+tt.tmpl+tail)
		var got []string
		for _, d := range ds {
			if strings.HasPrefix(d.Rule, "template-") || d.Rule == RuleBranchBlocked {
				got = append(got, fmt.Sprintf("%s %d:%d %s", d.Rule, d.Line(), d.Col(), d.Message))
			}
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
			t.Errorf("%s: got %q, want one finding %q...", tt.tmpl, got, tt.want)
		}
	}
}

// TestSuppressionSuggestsRule: a misspelt rule id in adgate:ignore names the
// rule that was probably meant; an id far from every rule suggests nothing.
func TestSuppressionSuggestsRule(t *testing.T) {
	for _, tt := range []struct{ id, want string }{
		{"url-insecur", `; did you mean url-insecure?`},
		{"undefined-macros", `; did you mean undefined-macro?`},
		{"no-such-rule-at-all", ``},
	} {
		ds := checkText(t, "t.yaml", "id: t\nname: T\n# adgate:ignore "+tt.id+" reason\n")
		got := find(ds, RuleUnknownSuppress)
		if len(got) != 1 {
			t.Fatalf("%s: got %v", tt.id, ds)
		}
		if want := `adgate:ignore names unknown rule "` + tt.id + `"` + tt.want; got[0].Message != want {
			t.Errorf("%s: message %q, want %q", tt.id, got[0].Message, want)
		}
	}
}

// TestURLShape: a URL template's top-level units, read from the template
// tree: literal text, {macros}, and one opaque unit (□) for each ${...} or
// block, whether it parsed or not; tags that write nothing are no unit.
func TestURLShape(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://x/?a={a}&b=${b}", "https://x/?a={a}&b=□"},
		{"https://x/<#if c>?a=1<#else>?a=2</#if>&z", "https://x/□&z"},
		{`https://x/<#assign v = 1><@break/><#-- c -->z`, "https://x/z"},
		{"https://x/<@urlencode>a b</@urlencode>", "https://x/□"},
		{"https://x/<#assign c>y</#assign>z", "https://x/□z"},
		{"https://x/${a?nope}z", "https://x/□z"},
		{"https://x/<#list a as b>${b}</#list>z", "https://x/□z"},
		{"https://x/<#bogus>z", "https://x/z"},
		{"é{m}é${x}", "é{m}é□"},
	}
	for _, tt := range tests {
		var b strings.Builder
		units := urlShape(parseTemplate(tt.url))
		for _, u := range units {
			switch {
			case u.literal():
				b.WriteRune(u.r)
			case u.macro != "":
				b.WriteString("{" + u.macro + "}")
			default:
				b.WriteString("□")
			}
		}
		if b.String() != tt.want {
			t.Errorf("%q: units %q, want %q", tt.url, b.String(), tt.want)
		}
		// offsets are code points into the template, in order
		rs := []rune(tt.url)
		for i, u := range units {
			if u.off < 0 || u.off >= len(rs) || i > 0 && u.off <= units[i-1].off || u.literal() && rs[u.off] != u.r {
				t.Errorf("%q: unit %d at %d does not fit the text", tt.url, i, u.off)
			}
		}
	}
}
