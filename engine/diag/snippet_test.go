package diag

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, which -update rewrites.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update and review the diff)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

var sampleSpec = "id: acme\n" +
	"name: Acme\n" +
	"postbacks:\n" +
	"  - events: [install]\n" +
	"    url: https://pb.acme.test/i?c={click}&d={devce}\n" +
	"    body: |\n" +
	"      <#if x>\n" +
	"        ${y}\n" +
	"      </#if\n" +
	"\tlabel: \ttabbed\n" +
	"    desc: 日本語の説明 {mcro} café\n" +
	"    note: évènement\u202eevil\u202c {x}\n" +
	"    long: https://pb.acme.test/" + strings.Repeat("a=1&", 40) + "bad={nope}&" + strings.Repeat("b=2&", 40) + "end\n"

// sampleDoc is a Markdown doc: its lines end at LF only, so the row joined
// by U+2028 is one line, as the importer counts it.
var sampleBlank = "a: [1,\n\n  2]\n"

var sampleDoc = "# Doc\nrow one\u2028row two {x}\r\nlast {y}\n"

func TestSnippets(t *testing.T) {
	src := NewSource([]byte(sampleSpec))
	doc := NewPlainSource([]byte(sampleDoc))
	blank := NewSource([]byte(sampleBlank))
	col := func(line int, sub string) int {
		l := string(src.Line(line))
		i := strings.Index(l, sub)
		if i < 0 {
			t.Fatalf("line %d has no %q", line, sub)
		}
		return len([]rune(l[:i])) + 1
	}
	d := func(file string, r Range, msg string) Diagnostic {
		return Diagnostic{File: file, Range: r, Severity: Error, Rule: "test-rule", Message: msg, Hint: "fix it"}
	}
	tests := []struct {
		name string
		d    Diagnostic
	}{
		{"point", d("acme.yaml", src.Point(1, 5), "a point")},
		{"single-line range", d("acme.yaml", src.Span(5, col(5, "{devce}"), 5, col(5, "{devce}")+len("{devce}")), "a macro")},
		{"multi-line range", d("acme.yaml", src.Span(7, col(7, "<#if"), 9, col(9, "</#if")+len("</#if")), "an unclosed directive")},
		{"range over a blank line", d("blank.yaml", blank.Span(1, 4, 3, 5), "across a blank line")},
		{"range ending at a line start", d("acme.yaml", src.Span(7, 7, 8, 1), "a line")},
		{"range of many lines", d("acme.yaml", src.Span(3, 1, 9, 12), "many lines")},
		{"tab", d("acme.yaml", src.Span(10, col(10, "tabbed"), 10, col(10, "tabbed")+6), "after tabs")},
		{"wide and multibyte characters", d("acme.yaml", src.Span(11, col(11, "{mcro}"), 11, col(11, "{mcro}")+6), "after CJK")},
		{"bidi characters in the line", d("acme.yaml", src.Span(12, col(12, "{x}"), 12, col(12, "{x}")+3), "after bidi overrides")},
		{"long line", d("acme.yaml", src.Span(13, col(13, "{nope}"), 13, col(13, "{nope}")+6), "in a long URL")},
		{"past the line end", d("acme.yaml", src.Point(2, 11), "missing value")},
		{"whole line", d("acme.yaml", src.Point(4, 0), "a YAML error on this line")},
		{"whole file", d("acme.yaml", Range{}, "about the file")},
		{"missing source", d("gone.yaml", src.Point(1, 5), "no such file")},
		{"unknown offsets", d("acme.yaml", Point(5, col(5, "{click}")), "from a YAML node")},
		{"changed file", d("acme.yaml", Range{Start: Position{5, 3, 99}, End: Position{5, 3, 99}}, "offsets of another version")},
		{"bidi file name", d("evil\u202egnp.yaml", src.Point(1, 1), "named \"\u2066x\u2069\"\x1b[31m")},
		{"text file lines", d("doc.md", doc.Span(3, 6, 3, 9), "counted as a text file")},
		{"text file line separator", d("doc.md", doc.Span(2, 17, 2, 20), "after U+2028")},
	}
	p := Printer{Format: Text, Source: func(file string) ([]byte, bool) {
		switch file {
		case "gone.yaml":
			return nil, false
		case "doc.md":
			return []byte(sampleDoc), true
		case "blank.yaml":
			return []byte(sampleBlank), true
		}
		return []byte(sampleSpec), true
	}}
	var b, each bytes.Buffer
	var all List
	for _, tt := range tests {
		b.WriteString("== " + tt.name + " ==\n")
		var one bytes.Buffer
		if err := p.Print(&one, List{tt.d}); err != nil {
			t.Fatal(err)
		}
		b.Write(one.Bytes())
		each.Write(one.Bytes())
		all = append(all, tt.d)
	}
	golden(t, "snippets.golden", b.Bytes())
	// Printed together, the findings read as they do one by one.
	var together bytes.Buffer
	if err := p.Print(&together, all); err != nil {
		t.Fatal(err)
	}
	if together.String() != each.String() {
		t.Errorf("a list prints otherwise than its findings one by one:\n%s", together.String())
	}
}

// TestFormatsEscape checks that no format lets a hidden character through
// raw, and that JSON still decodes to the real file name and message.
func TestFormatsEscape(t *testing.T) {
	src := NewSource([]byte(sampleSpec))
	l := List{
		{File: "evil\u202egnp.yaml", Range: src.Span(5, 10, 5, 14), Severity: Warning, Rule: "r", Message: "quote \"a\u2067b\" \u0085 \x7f \U000E0001 \xff", Hint: "h\nnext"},
		{File: "whole.yaml", Severity: Info, Rule: "r", Message: "m"},
	}
	for _, f := range []Format{Text, JSON, GitHub} {
		var b bytes.Buffer
		if err := (Printer{Format: f}).Print(&b, l); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, r := range out {
			if r != '\n' && hidden(r) {
				t.Errorf("%s output has raw %U:\n%s", f, r, out)
			}
		}
		golden(t, "escape."+string(f), b.Bytes())
		if f == JSON {
			var back List
			if err := json.Unmarshal(b.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			// encoding/json turns the invalid byte into U+FFFD.
			want := strings.ReplaceAll(l[0].Message, "\xff", "\uFFFD")
			if len(back) != 2 || back[0].File != l[0].File || back[0].Message != want || back[0].Range != l[0].Range || back[1].Range != (Range{}) {
				t.Errorf("JSON round trip = %+v, want %+v", back, l)
			}
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain.yaml", "plain.yaml"},
		{`C:\specs\a.yaml`, `C:\specs\a.yaml`},
		{"évènement 日本", "évènement 日本"},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"\x1b[31mred", `\x1b[31mred`},
		{"\u202eabc\u202c", `\u202eabc\u202c`},
		{"\u2066x\u2069 \u200f \u061c", `\u2066x\u2069 \u200f \u061c`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"c1\u0085\u009b", `c1\u0085\u009b`},
		{"line\u2028sep", `line\u2028sep`},
		{"tag\U000E0041", `tag\U000e0041`},
		{"bad\xffutf8", `bad\xffutf8`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSourcePosition(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		line, col int
		want      Position
	}{
		{"first", "ab\ncd", 1, 1, Position{1, 1, 0}},
		{"second line", "ab\ncd", 2, 2, Position{2, 2, 4}},
		{"multibyte", "é日x\n", 1, 3, Position{1, 3, 5}},
		{"CRLF", "a\r\nb", 2, 1, Position{2, 1, 3}},
		{"lone CR", "a\rb", 2, 1, Position{2, 1, 2}},
		{"line separator", "a\u2028b", 2, 1, Position{2, 1, 4}},
		{"NEL", "a\u0085b", 2, 1, Position{2, 1, 3}},
		{"past the line end", "ab\ncd", 1, 9, Position{1, 3, 2}},
		{"past the file end", "ab\ncd", 7, 1, Position{2, 3, 5}},
		{"whole line", "ab\ncd", 2, 0, Position{2, 0, 3}},
		{"no line", "ab", 0, 0, Position{}},
	}
	for _, tt := range tests {
		if got := NewSource([]byte(tt.data)).Position(tt.line, tt.col); got != tt.want {
			t.Errorf("%s: Position(%d, %d) = %+v, want %+v", tt.name, tt.line, tt.col, got, tt.want)
		}
	}
	// A Markdown doc breaks lines at LF only, so U+2028 stays inside one.
	if got := NewPlainSource([]byte("a\u2028b\r\nc")).Position(2, 1); got != (Position{2, 1, 7}) {
		t.Errorf("plain source: Position(2, 1) = %+v", got)
	}
	if got := string(NewPlainSource([]byte("ab\r\nc")).Line(1)); got != "ab" {
		t.Errorf("plain source: line 1 = %q, want the text without CR", got)
	}
}

func TestLocate(t *testing.T) {
	l := List{
		{File: "a.yaml", Range: Point(2, 2), Severity: Error},
		{File: "b.yaml", Range: Point(2, 2), Severity: Error},
		{File: "a.yaml", Severity: Error},
	}
	l.Locate("a.yaml", NewSource([]byte("x\nyz\n")))
	if want := (Range{Position{2, 2, 3}, Position{2, 2, 3}}); l[0].Range != want {
		t.Errorf("located range = %+v, want %+v", l[0].Range, want)
	}
	if l[1].Range.Start.Offset != -1 || l[2].Range != (Range{}) {
		t.Errorf("Locate touched another file or a whole-file finding: %+v", l[1:])
	}
}

func TestSeverityZeroIsNotError(t *testing.T) {
	var s Severity
	if s == Error || s.Valid() || s.String() != "unset" {
		t.Errorf("zero Severity = %s, valid %v", s, s.Valid())
	}
	l := List{{File: "a.yaml", Rule: "r", Message: "m"}}
	if l.HasErrors() {
		t.Error("a diagnostic without severity counts as an error")
	}
	if _, err := json.Marshal(l); err == nil {
		t.Error("JSON accepted a diagnostic without severity")
	}
}

func FuzzSnippet(f *testing.F) {
	f.Add([]byte(sampleSpec), 5, 3, 9, 4)
	f.Add([]byte("a\r\nb\u2028c\td"), 2, 1, 3, 9)
	f.Add([]byte("\xff\xfe\t日"), 1, 2, 1, 1)
	f.Fuzz(func(t *testing.T, data []byte, l1, c1, l2, c2 int) {
		for _, src := range []*Source{NewSource(data), NewPlainSource(data)} {
			r := src.Span(l1, c1, l2, c2)
			if r.Start.Line > 0 && (r.Start.Offset > r.End.Offset || r.End.Offset > len(data)) {
				t.Fatalf("Span(%d, %d, %d, %d) = %+v outside the %d bytes", l1, c1, l2, c2, r, len(data))
			}
			var b bytes.Buffer
			d := Diagnostic{File: "f", Range: r, Severity: Error, Rule: "r", Message: "m"}
			if _, err := writeSnippet(&b, d, src); err != nil {
				t.Fatal(err)
			}
			for _, c := range b.String() {
				if c != '\n' && hidden(c) {
					t.Fatalf("snippet has raw %U:\n%s", c, b.String())
				}
			}
		}
	})
}
