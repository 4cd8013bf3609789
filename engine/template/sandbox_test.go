package template

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// TestSandboxAttacks runs the templates of issue 9 that took the engine
// seconds within the step bound; each must now stop with a RuleLimit
// error positioned at the construct that hit the bound.
func TestSandboxAttacks(t *testing.T) {
	long := strings.Repeat("a", 50000)
	// at is the text of the construct the error must point at: its last
	// occurrence in the template, which is on the last line
	cases := []struct{ name, text, at, msg string }{
		{"number squaring", "<#assign x = 99999999999999999999>\n" + strings.Repeat("<#assign x = x*x>", 20) + "${x?c?length}",
			"x*x>" + strings.Repeat("<#assign x = x*x>", 14) + "${x?c?length}", "more than 1000 digits"},
		{"number addition across scales", `${"1e-9999"?number + "1e9999"?number}`, `"1e-9999"?number +`, "more than 1000 digits"},
		{"long regex", `${sprig.regexMatch("` + strings.Repeat("a*", 4000) + `c", "` + long + `")?c}`,
			`"` + strings.Repeat("a*", 4000), "longer than 1024 bytes"},
		{"regex program", `${sprig.regexMatch("(a|b){1000}c", "ab")?c}`, `"(a|b)`, "more than 2000"},
		{"regex text", `${sprig.regexMatch("` + strings.Repeat("a*", 500) + `c", "` + long + `")?c}`,
			`sprig.regexMatch`, "steps"},
		{"string scanning", `<#assign s = "` + long + `">` + `<@loop data=sprig.until(10000) val="i">${s?upper_case?length}</@loop>`,
			`s?upper_case`, "steps"},
		{"string comparison", `<#assign s = "` + long + `">` + `<@loop data=sprig.until(10000) val="i">${(s == s + "")?c}</@loop>`,
			`s == s`, "steps"},
		{"string arguments", `<#assign s = "` + long + `">` + `<@loop data=sprig.until(10000) val="i">${"x"?contains(s)?c}</@loop>`,
			`s)?c}`, "steps"},
		{"sprig list results", `<@loop data=sprig.until(10000) val="i">${sprig.until(10000)?size}</@loop>`,
			`sprig.until(10000)?size`, "steps"},
		{"string indexing", `<#assign s = "` + long + `">` + `<@loop data=sprig.until(10000) val="i">${s[i]}</@loop>`,
			`s[i]`, "steps"},
		{"sprig arguments", `<#assign s = "` + long + `">` + `<@loop data=sprig.until(10000) val="i">${sprig.trim(s)?length}</@loop>`,
			`sprig.trim`, "steps"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Parse("attack", tc.text, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// no deadline: the bounds alone must stop these
			_, err = tp.ExecuteString(Missing(), &ExecOptions{MaxDuration: -1})
			var te *Error
			if !errors.As(err, &te) || te.Rule != RuleLimit {
				t.Fatalf("got %v, want a %s error", err, RuleLimit)
			}
			lastLine := tc.text[strings.LastIndexByte(tc.text, '\n')+1:]
			line, col := strings.Count(tc.text, "\n")+1, strings.LastIndex(lastLine, tc.at)+1
			if te.Line != line || te.Col != col || !strings.Contains(te.Msg, tc.msg) {
				t.Errorf("got %d:%d %q, want %d:%d and %q", te.Line, te.Col, te.Msg, line, col, tc.msg)
			}
		})
	}
}

// TestSandboxWithinBounds checks that the bounds leave ordinary work
// alone: numbers up to the digit bound, short regexes, long texts
// scanned a few times.
func TestSandboxWithinBounds(t *testing.T) {
	long := strings.Repeat("ab", 20000)
	cases := []struct{ text, want string }{
		{"<#assign x = 99999999999999999999>" + strings.Repeat("<#assign x = x*x>", 5) + "${x?c?length}", "640"},
		{`${("1e-400"?number + "1e400"?number)?c?length}`, "401"},
		{`${sprig.regexMatch("^(ab)+$", "` + long + `")?c}`, "true"},
		{`${"` + long + `"?upper_case?length}`, "40000"},
	}
	for _, tc := range cases {
		tp, err := Parse("ok", tc.text, Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := tp.ExecuteString(Missing(), nil)
		if err != nil || out != tc.want {
			t.Errorf("%.60s: got %q, %v; want %q", tc.text, out, err, tc.want)
		}
	}
}

// TestDeadline lifts the step bound so that only the deadline can stop a
// loop of a billion iterations.
func TestDeadline(t *testing.T) {
	loop := `<@loop data=sprig.until(1000) val="i">`
	text := "x\n" + strings.Repeat(loop, 3) + "${i}" + strings.Repeat("</@loop>", 3)
	tp, err := Parse("slow", text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tp.ExecuteString(Missing(), &ExecOptions{MaxSteps: 1 << 50, MaxOutput: 1 << 50, MaxDuration: 1})
	var te *Error
	if !errors.As(err, &te) || te.Rule != RuleLimit || !strings.Contains(te.Msg, "time limit") {
		t.Fatalf("got %v, want the time limit", err)
	}
	if te.Line != 2 || te.Col < 1 {
		t.Errorf("got position %d:%d, want a construct of line 2", te.Line, te.Col)
	}
}

// TestIndexOf compares ?index_of and ?last_index_of, which search in
// linear time, with Java's definition searched naively, on random texts
// over a small alphabet (so that partial matches abound) with characters
// outside the BMP.
func TestIndexOf(t *testing.T) {
	naive := func(u, us []uint16, from int, last bool) int {
		match := func(i int) bool {
			for j := range us {
				if u[i+j] != us[j] {
					return false
				}
			}
			return true
		}
		if last {
			for i := min(from, len(u)-len(us)); i >= 0; i-- {
				if match(i) {
					return i
				}
			}
			return -1
		}
		for i := max(from, 0); i+len(us) <= len(u); i++ {
			if match(i) {
				return i
			}
		}
		if len(us) == 0 {
			return min(max(from, 0), len(u))
		}
		return -1
	}
	rng := rand.New(rand.NewSource(1))
	alpha := []rune{'a', 'b', '😀'}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alpha[rng.Intn(len(alpha))])
		}
		return b.String()
	}
	for range 500 {
		s, sub := word(rng.Intn(12)), word(rng.Intn(4))
		from := rng.Intn(16) - 2
		for _, last := range []bool{false, true} {
			name := "index_of"
			if last {
				name = "last_index_of"
			}
			tp, err := Parse("i", `${s?`+name+`(sub, from)}`, Options{})
			if err != nil {
				t.Fatal(err)
			}
			root := NewHash([]string{"s", "sub", "from"}, []Value{String(s), String(sub), Int(int64(from))})
			got, err := tp.ExecuteString(root, nil)
			want := itoa(naive(utf16.Encode([]rune(s)), utf16.Encode([]rune(sub)), from, last))
			if err != nil || got != want {
				t.Errorf("%q?%s(%q, %d) = %s %v, want %s", s, name, sub, from, got, err, want)
			}
		}
	}
}

// TestSharedClock runs a template of a few thousand steps on a clock that
// started an hour ago: the shared deadline has passed at its first look.
func TestSharedClock(t *testing.T) {
	tp, err := Parse("c", `<@loop data=sprig.until(5000) val="i">${i}</@loop>`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.ExecuteString(Missing(), &ExecOptions{MaxDuration: time.Minute}); err != nil {
		t.Fatalf("own clock: %v", err)
	}
	_, err = tp.ExecuteString(Missing(), &ExecOptions{MaxDuration: time.Minute, Clock: StartedAt(time.Now().Add(-time.Hour))})
	if !isRule(err, RuleLimit) || !strings.Contains(err.Error(), "time limit") {
		t.Fatalf("shared clock: got %v, want the time limit", err)
	}
}
