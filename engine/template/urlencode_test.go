package template

import (
	"strings"
	"testing"
)

// TestFormURLEncodedEveryByte checks the packed table against
// java.net.URLEncoder's rule written out byte by byte, for every byte
// value, alone and between other text, appended to a buffer with and
// without spare capacity.
func TestFormURLEncodedEveryByte(t *testing.T) {
	rule := func(c byte) string {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-*_", c) >= 0:
			return string(c)
		case c == ' ':
			return "+"
		}
		const hex = "0123456789ABCDEF"
		return "%" + string(hex[c>>4]) + string(hex[c&15])
	}
	var all strings.Builder
	var want strings.Builder
	for c := 0; c < 256; c++ {
		all.WriteByte(byte(c))
		want.WriteString(rule(byte(c)))
		for _, dst := range [][]byte{nil, []byte("x="), make([]byte, 1, 64)} {
			prefix := string(dst)
			got := string(appendFormURLEncoded(dst, "a"+string([]byte{byte(c)})+"b"))
			if exp := prefix + "a" + rule(byte(c)) + "b"; got != exp {
				t.Fatalf("byte %#x after %q: got %q, want %q", c, prefix, got, exp)
			}
		}
	}
	if got := string(appendFormURLEncoded(nil, all.String())); got != want.String() {
		t.Fatalf("all bytes: got %q, want %q", got, want.String())
	}
	if got := appendFormURLEncoded([]byte("keep"), ""); string(got) != "keep" {
		t.Fatalf("empty input: got %q", got)
	}
}
