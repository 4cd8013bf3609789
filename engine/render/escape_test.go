package render

import (
	"encoding/json"
	"net/url"
	"testing"
	"unicode/utf8"
)

func TestQueryEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"AZaz09-._~", "AZaz09-._~"},
		{"a b", "a%20b"},
		{"a+b", "a%2Bb"},
		{"k=v&x=y", "k%3Dv%26x%3Dy"},
		{"/?#[]@!$'()*,;:%", "%2F%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B%3A%25"},
		{"é", "%C3%A9"},
		{"{x}", "%7Bx%7D"},
		{"\x00\r\n", "%00%0D%0A"},
		{"\xff", "%FF"},
	}
	for _, tt := range tests {
		if got := QueryEscape(tt.in); got != tt.want {
			t.Errorf("QueryEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzEscape checks that both encodings round-trip through standard
// decoders: a value can never break out of its query parameter or JSON string.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"a b+c&d=e/f", `"\` + "\n\u2028", "\xff\x00é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := QueryEscape(s)
		vals, err := url.ParseQuery("k=" + q + "&z=1")
		if err != nil || len(vals) != 2 || vals.Get("k") != s || vals.Get("z") != "1" {
			t.Fatalf("query %q -> %q -> %v %v", s, q, vals, err)
		}
		// the URL fast path's encoder and length agree with QueryEscape
		if a := string(appendQuery([]byte("p"), s)); a != "p"+q || queryLen(s) != len(q) {
			t.Fatalf("appendQuery %q -> %q, queryLen %d; QueryEscape %q", s, a, queryLen(s), q)
		}
		var back string
		if err := json.Unmarshal([]byte(`"`+JSONEscape(s)+`"`), &back); err != nil {
			t.Fatalf("json %q -> %q: %v", s, JSONEscape(s), err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("json round trip %q -> %q", s, back)
		}
	})
}
