package template

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWriteJSONString(t *testing.T) {
	// want per escaping: Jackson, Safe, FreeMarker
	tests := []struct {
		in   string
		want [3]string
	}{
		{"", [3]string{"", "", ""}},
		{"plain & text", [3]string{"plain & text", "plain & text", "plain & text"}},
		{`say "hi"`, [3]string{`say \"hi\"`, `say \"hi\"`, `say \"hi\"`}},
		{`back\slash`, [3]string{`back\\slash`, `back\\slash`, `back\\slash`}},
		{"a\nb\rc\td\be\ff", [3]string{`a\nb\rc\td\be\ff`, `a\nb\rc\td\be\ff`, `a\nb\rc\td\be\ff`}},
		{"\x00\x01\x1f", [3]string{`\u0000\u0001\u001F`, `\u0000\u0001\u001F`, `\u0000\u0001\u001F`}},
		{"del\x7f", [3]string{"del\x7f", "del\x7f", `del\u007F`}},
		{"c1\u0085\u009f", [3]string{"c1\u0085\u009f", "c1\u0085\u009f", `c1\u0085\u009F`}},
		{"line\u2028sep\u2029", [3]string{"line\u2028sep\u2029", `line\u2028sep\u2029`, `line\u2028sep\u2029`}},
		{"bad\xffutf8\xc2", [3]string{"bad\xffutf8\xc2", "bad\uFFFDutf8\uFFFD", "bad\uFFFDutf8\uFFFD"}},
		{"é😀\uFFFD", [3]string{"é😀\uFFFD", "é😀\uFFFD", "é😀\uFFFD"}},
		{"<b></b>", [3]string{"<b></b>", "<b></b>", `<b><\/b>`}},
		{"<!-- x -->", [3]string{"<!-- x -->", "<!-- x -->", `\u003C!-- x --\u003E`}},
		{"<![CDATA[x]]>", [3]string{"<![CDATA[x]]>", "<![CDATA[x]]>", `\u003C![CDATA[x]]\u003E`}},
		{"a/b>c<d<", [3]string{"a/b>c<d<", "a/b>c<d<", "a/b>c<d<"}},
		{"/<!", [3]string{"/<!", "/<!", `/\u003C!`}},
		{`q"b\</ ]]> <!-- ` + "\n\x01\u2028", [3]string{
			`q\"b\\</ ]]> <!-- \n\u0001` + "\u2028",
			`q\"b\\</ ]]> <!-- \n\u0001\u2028`,
			`q\"b\\<\/ ]]\u003E \u003C!-- \n\u0001\u2028`}},
	}
	for _, tt := range tests {
		for esc, want := range tt.want {
			var b strings.Builder
			b.WriteString("prefix:")
			WriteJSONString(&b, tt.in, JSONEscaping(esc))
			if got := strings.TrimPrefix(b.String(), "prefix:"); got != want {
				t.Errorf("WriteJSONString(%q, %d) = %q, want %q", tt.in, esc, got, want)
			}
		}
	}
}

// FuzzWriteJSONString checks that every escaping gives a JSON string that
// decodes to the input (when that is valid UTF-8).
func FuzzWriteJSONString(f *testing.F) {
	for _, s := range []string{"a</b<!x]]>-->\u2028\u2029\x7f\u0085\xff\x00é\"\\\n", "\xc2\x85\xc2", "</"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for esc := range 3 {
			var b strings.Builder
			WriteJSONString(&b, s, JSONEscaping(esc))
			var back string
			if err := json.Unmarshal([]byte(`"`+b.String()+`"`), &back); err != nil {
				t.Fatalf("escaping %d of %q = %q does not decode: %v", esc, s, b.String(), err)
			}
			if utf8.ValidString(s) && back != s {
				t.Fatalf("escaping %d of %q decodes to %q", esc, s, back)
			}
		}
	})
}
