package diag

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// hidden reports whether r must not reach a terminal, a CI log or an editor
// raw: controls (C0, DEL, C1) can move the cursor or end a line, and format
// characters, the bidi overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) among them, reorder or hide text, so a file name or a
// quoted value could show something other than what it is. Line and
// paragraph separators end a line in some viewers.
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029
}

// Escape returns s with every hidden character (see hidden) and every byte
// that is not UTF-8 written as a Go escape (\t, \x1b, \u202e), so a
// diagnostic shows exactly what the file holds. Backslashes stay as they
// are: they are path separators on Windows.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if hidden(r) || (r == utf8.RuneError && size == 1) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(escapeRune(r, s[i:i+size]))
		i += size
	}
	return b.String()
}

// escapeRune is r's text in Escape's output; raw is r's bytes in the input.
func escapeRune(r rune, raw string) string {
	switch {
	case r == utf8.RuneError && len(raw) == 1:
		return fmt.Sprintf(`\x%02x`, raw[0])
	case !hidden(r):
		return raw
	case r == '\t':
		return `\t`
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r < 0x80:
		return fmt.Sprintf(`\x%02x`, r)
	case r <= 0xFFFF:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return fmt.Sprintf(`\U%08x`, r)
}

// escapeJSON rewrites encoding/json output so that no hidden character is
// left raw: encoding/json escapes C0 controls but writes DEL, C1 and the
// format characters as they are. Such characters only occur inside JSON
// strings, where a \uXXXX escape decodes back to the same text, so a
// consumer still reads the real file name.
func escapeJSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == '\n' || !hidden(r) {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	return out
}
