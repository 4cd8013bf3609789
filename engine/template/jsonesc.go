package template

import (
	"strings"
	"unicode/utf8"
)

// JSONEscaping is a set of rules for writing text inside a JSON string
// (without the quotes). adgate writes JSON strings in three places, each
// bound to a reference: the engine's <@json>/<@jsonmap> directives (Jackson,
// as Branch's runtime uses), ?json_string (Apache FreeMarker) and the
// renderer's JSON bodies. They share one escaper so that the escapes they
// have in common cannot drift apart; the rules differ only where the
// references do.
type JSONEscaping uint8

// The escapings. All write " \ \b \f \n \r \t as JSON's short escapes and
// the other control characters below U+0020 as \u00XX (upper-case hex).
const (
	// JSONJackson is what Jackson writes for a Java string (<@json>,
	// <@jsonmap>): nothing else is escaped, and bytes that are not UTF-8
	// pass through.
	JSONJackson JSONEscaping = iota
	// JSONSafe adds the escapes a JSON body embedded anywhere needs:
	// U+2028 and U+2029 (line terminators to JavaScript) as \u2028 and
	// \u2029, and invalid UTF-8 as U+FFFD.
	JSONSafe
	// JSONFreeMarker is ?json_string: JSONSafe, plus DEL and the C1
	// controls (U+007F-U+009F) as \u00XX, and FreeMarker's escapes
	// against HTML embedding: "</" as "<\/", "<!" as "\u003C!", "]]>" and
	// "-->" with \u003E.
	JSONFreeMarker
)

// jsonSpecial marks, per escaping, the bytes the escaper must look at; a
// table lookup is the inner loop of every JSON body macro.
var jsonSpecial = func() (t [3][256]bool) {
	for c := 0; c < 256; c++ {
		base := c < 0x20 || c == '"' || c == '\\'
		t[JSONJackson][c] = base
		t[JSONSafe][c] = base || c >= utf8.RuneSelf
		t[JSONFreeMarker][c] = base || c >= 0x7f || c == '<' || c == '/' || c == '>'
	}
	return t
}()

// WriteJSONString writes s to b escaped by the rules of esc.
func WriteJSONString(b *strings.Builder, s string, esc JSONEscaping) { writeJSON(b, s, esc) }

// textWriter is what the escaper writes to: a strings.Builder, or an
// execution's output buffer.
type textWriter interface {
	WriteString(s string) (int, error)
	WriteByte(c byte) error
}

// plainJSON returns the length of the prefix of s that esc writes as it
// is: all of s for most values.
func plainJSON(s string, esc JSONEscaping) int {
	special := &jsonSpecial[esc]
	for i := 0; i < len(s); i++ {
		if special[s[i]] {
			return i
		}
	}
	return len(s)
}

func writeJSON[W textWriter](b W, s string, esc JSONEscaping) {
	special := &jsonSpecial[esc]
	start := 0
	for i := plainJSON(s, esc); i < len(s); {
		c := s[i]
		if !special[c] {
			i++
			continue
		}
		// rep replaces the size bytes at i; "" means \u00XX of r
		r, size, rep := rune(c), 1, ""
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				rep = `\"`
			case '\\':
				rep = `\\`
			case '\n':
				rep = `\n`
			case '\r':
				rep = `\r`
			case '\t':
				rep = `\t`
			case '\b':
				rep = `\b`
			case '\f':
				rep = `\f`
			case '<':
				if i+1 >= len(s) || s[i+1] != '!' {
					i++
					continue
				}
				rep = `\u003C`
			case '/':
				if i == 0 || s[i-1] != '<' {
					i++
					continue
				}
				rep = `\/`
			case '>':
				if i < 2 || s[i-2:i] != "]]" && s[i-2:i] != "--" {
					i++
					continue
				}
				rep = `\u003E`
			}
		} else {
			r, size = utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				rep = "\uFFFD"
			case r == '\u2028':
				rep = `\u2028`
			case r == '\u2029':
				rep = `\u2029`
			case r <= 0x9f && esc == JSONFreeMarker: // a C1 control
			default:
				i += size
				continue
			}
		}
		b.WriteString(s[start:i])
		if rep != "" {
			b.WriteString(rep)
		} else {
			writeUnicodeEscape(b, r)
		}
		i += size
		start = i
	}
	b.WriteString(s[start:])
}

// writeUnicodeEscape writes r (below U+0100) as \u00XX.
func writeUnicodeEscape[W textWriter](b W, r rune) {
	b.WriteString(`\u00`)
	b.WriteByte(upperHex[r>>4&15])
	b.WriteByte(upperHex[r&15])
}
