package template

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// macroRefRE is the macro syntax as the partner schema writes its pattern
// (schemas/partner.schema.json, parameter.macro), wrapped in braces. The
// scanner must find exactly what this finds.
var macroRefRE = regexp.MustCompile(`\{([A-Za-z0-9_~$+.-]+(?:\[[A-Za-z0-9_~$+.-]+\][A-Za-z0-9_~$+.-]*)*)\}`)

func TestMacroIndexes(t *testing.T) {
	tests := []struct {
		text string
		want []string // the names found, in order
	}{
		{"https://x.test/?a={a}&b={b}", []string{"a", "b"}},
		{"{DeviceIds[IFA]}", []string{"DeviceIds[IFA]"}},
		{"idfa={DeviceIds[IFA]}&aid={DeviceIds[AID]}", []string{"DeviceIds[IFA]", "DeviceIds[AID]"}},
		{"{a[b][c]}{a[b].c}", []string{"a[b][c]", "a[b].c"}},
		{"{~click_id}{android_id-idfa}{a+b}{$x}", []string{"~click_id", "android_id-idfa", "a+b", "$x"}},
		{"${x}", []string{"x"}}, // raw text: the interpolation's body reads as one
		{"{[IFA]}{a[]}{a[b}{a]}{a[b[c]]}", nil},
		{"{}{ a}{a }{a b}{a/b}{\"k\": 1}", nil},
		{"{{a}}", []string{"a"}},
		{"{a{b}", []string{"b"}},
		{"{a", nil},
		{"{a[IFA]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var got []string
			for _, m := range MacroIndexes(tt.text) {
				if tt.text[m[0]] != '{' || tt.text[m[1]-1] != '}' || m[2] != m[0]+1 || m[3] != m[1]-1 {
					t.Fatalf("bad indexes %v in %q", m, tt.text)
				}
				got = append(got, tt.text[m[2]:m[3]])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("names = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMacroNamePrefix(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want int
	}{
		{"idfa", 4}, {"idfa&x=1", 4}, {"DeviceIds[IFA]", 14}, {"DeviceIds[IFA", 9},
		{"DeviceIds[]", 9}, {"a[b]c}", 5}, {"[a]", 0}, {"", 0}, {"}", 0}, {"a b", 1},
	} {
		if got := MacroNamePrefix(tt.s); got != tt.want {
			t.Errorf("MacroNamePrefix(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// FuzzMacroIndexes: the scanner agrees with the schema's pattern on any
// text, and the parser splits out of text exactly the macros the scanner
// finds.
func FuzzMacroIndexes(f *testing.F) {
	for _, s := range []string{
		"https://x.test/?idfa={DeviceIds[IFA]}&c={click}", "{a[b]c[d]}", "{a[b}{c]}", "{{a}}", "{a{b}",
		"${x}{y}", "<#if a>{m}</#if>{m[1]}", "{\"k\": {v}}", "{a[[b]]}", "{~x-y.z+$}",
	} {
		f.Add(s)
	}
	root := loadEvent(f)
	f.Fuzz(func(t *testing.T, text string) {
		got := MacroIndexes(text)
		want := macroRefRE.FindAllStringSubmatchIndex(text, -1)
		if len(got) != len(want) {
			t.Fatalf("MacroIndexes(%q) = %v, schema pattern finds %v", text, got, want)
		}
		for i := range got {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("MacroIndexes(%q) = %v, schema pattern finds %v", text, got, want)
			}
			if name := text[got[i][2]:got[i][3]]; !IsMacroName(name) {
				t.Fatalf("IsMacroName(%q) = false for a name the scanner found", name)
			}
		}
		// The parser splits out of text exactly the scanner's macros: with
		// every name declared, a text without FreeMarker syntax renders
		// as the text with each macro replaced.
		if strings.ContainsAny(text, "$#<>") {
			return
		}
		tp, err := Parse("fuzz", text, Options{IsMacro: func(string) bool { return true }})
		if err != nil {
			return
		}
		out, err := tp.ExecuteString(root, &ExecOptions{Macro: func(w *strings.Builder, name string) error {
			w.WriteString("\x00" + name + "\x00")
			return nil
		}})
		if err != nil {
			t.Fatalf("execute %q: %v", text, err)
		}
		var b strings.Builder
		last := 0
		for _, m := range want {
			b.WriteString(text[last:m[0]] + "\x00" + text[m[2]:m[3]] + "\x00")
			last = m[1]
		}
		b.WriteString(text[last:])
		if out != b.String() {
			t.Fatalf("parser splits %q as %q, scanner as %q", text, out, b.String())
		}
	})
}
