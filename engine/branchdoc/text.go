package branchdoc

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cp1252Special maps the Windows-1252 code points 0x80-0x9F that are not
// C1 controls to the byte they came from. Mojibake in the docs is UTF-8
// that was decoded as Windows-1252 once: reversing it needs this table.
var cp1252Special = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E,
	'‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97,
	'˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// cp1252Decode is the forward table for bytes 0x80-0x9F; the five bytes
// Windows-1252 leaves undefined decode to the C1 control of the same value,
// as the tools that produced the docs did.
var cp1252Decode = func() [32]rune {
	var t [32]rune
	for i := range t {
		t[i] = rune(0x80 + i)
	}
	for r, b := range cp1252Special {
		t[b-0x80] = r
	}
	return t
}()

// cp1252Byte returns the Windows-1252 byte r was decoded from, if any.
func cp1252Byte(r rune) (byte, bool) {
	switch {
	case r < 0x80:
		return byte(r), true
	case r <= 0xFF:
		return byte(r), true
	}
	b, ok := cp1252Special[r]
	return b, ok
}

// decodeCP1252 reads bytes that are not valid UTF-8 as Windows-1252.
func decodeCP1252(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(cp1252Decode[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// fixMojibake undoes one round of "UTF-8 read as Windows-1252": every run
// of non-ASCII runes that maps back to bytes forming valid multi-byte UTF-8
// sequences is replaced by what those bytes encode. Runes that do not take
// part in such a sequence are kept, so genuine accented text survives.
func fixMojibake(s string) (string, bool) {
	changed := false
	// Text can be mangled more than once: undo up to four layers, which
	// also makes the result stable under another import in practice.
	for range 4 {
		out, ok := fixMojibakeOnce(s)
		if !ok {
			break
		}
		s, changed = out, true
	}
	return s, changed
}

func fixMojibakeOnce(s string) (string, bool) {
	if isASCII(s) {
		return s, false
	}
	rs := []rune(s)
	var out strings.Builder
	changed := false
	for i := 0; i < len(rs); {
		r := rs[i]
		if r < 0x80 {
			out.WriteRune(r)
			i++
			continue
		}
		// Collect the run of runes that have a Windows-1252 byte.
		j := i
		var bs []byte
		for j < len(rs) && rs[j] >= 0x80 {
			b, ok := cp1252Byte(rs[j])
			if !ok {
				break
			}
			bs = append(bs, b)
			j++
		}
		if j == i { // not representable: keep as is
			out.WriteRune(r)
			i++
			continue
		}
		// Decode greedily: valid multi-byte sequences become their rune,
		// anything else stays the original rune for that byte.
		for k := 0; k < len(bs); {
			dr, size := utf8.DecodeRune(bs[k:])
			// A control character is no one's intended text: such a
			// sequence is genuine Windows-1252 text, not mojibake.
			if dr != utf8.RuneError && size > 1 && !unicode.IsControl(dr) {
				out.WriteRune(dr)
				changed = true
				k += size
				continue
			}
			// â€ closing a run is ” (E2 80 9D) whose third byte was lost:
			// 0x9D has no Windows-1252 character, so a copy drops it.
			if k+2 == len(bs) && bs[k] == 0xE2 && bs[k+1] == 0x80 {
				out.WriteRune('\u201D')
				changed = true
				k += 2
				continue
			}
			out.WriteRune(rs[i+k])
			k++
		}
		i = j
	}
	if !changed {
		return s, false
	}
	return out.String(), true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// invisible runes never belong in a URL, macro or label; they come from
// copy-paste out of rich text (U+200B most often).
func isInvisible(r rune) bool {
	if r != '\t' && unicode.IsControl(r) {
		return true
	}
	switch r {
	case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD':
		return true
	}
	return false
}

// stripInvisible removes zero-width, soft-hyphen and control runes.
func stripInvisible(s string) (string, bool) {
	if !strings.ContainsFunc(s, isInvisible) {
		return s, false
	}
	return strings.Map(func(r rune) rune {
		if isInvisible(r) {
			return -1
		}
		return r
	}, s), true
}

// unmangleTemplate restores the double quotes that the doc export turned
// into backslashes inside templates: \"IOS\" and \IOS\ both mean "IOS",
// and \\ is the empty string literal "". FreeMarker templates in the docs
// never need a real backslash, so every backslash is a quote here. quotes
// reports whether a quote was restored (the exporter's \| and \, escapes
// are decoded too, but they are no repair).
func unmangleTemplate(s string) (out string, quotes bool) {
	if !strings.Contains(s, `\`) {
		return s, false
	}
	// \| and \, are the exporter's escapes, not mangled quotes.
	s = strings.ReplaceAll(s, `\|`, "|")
	s = strings.ReplaceAll(s, `\,`, ",")
	if !strings.Contains(s, `\`) {
		return s, false
	}
	s = strings.ReplaceAll(s, `\"`, `"`)
	return strings.ReplaceAll(s, `\`, `"`), true
}

// unmangleProse decodes the escapes found in free text: \n, \t, \r, \\,
// \| (a pipe inside a table cell) and \" are escapes; any other backslash
// is a mangled quote (\sub\ means "sub"). quotes reports whether a mangled
// quote was restored, the only change that is a repair rather than decoding.
func unmangleProse(s string) (out string, quotes bool) {
	if !strings.Contains(s, `\`) {
		return s, false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			case '\\', '|', '"', ',':
				b.WriteByte(s[i+1])
				i++
				continue
			}
		}
		b.WriteByte('"')
		quotes = true
	}
	return b.String(), quotes
}

// escapeProse is unmangleProse's inverse, used by the exporter.
func escapeProse(s string) string { return proseEscaper.Replace(s) }

var proseEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`, "|", `\|`)

// hasFreeMarker reports whether s contains FreeMarker syntax.
func hasFreeMarker(s string) bool {
	return strings.Contains(s, "<#") || strings.Contains(s, "</#") || strings.Contains(s, "<@") ||
		strings.Contains(s, "</@") || strings.Contains(s, "${")
}

// isNull reports whether a cell holds the literal null the doc export
// writes for an empty value.
func isNull(s string) bool { return s == "null" || s == "NULL" || s == "None" }

var jinjaTag = regexp.MustCompile(`\{%-?\s*(if|elif|elseif|else|endif)\b\s*(.*?)\s*-?%\}`)

// translateJinja rewrites the Jinja-style conditionals some docs use
// ({% if x %}a{% endif %}) into FreeMarker. It reports ok=false when s
// holds Jinja constructs it cannot translate, leaving s unchanged.
func translateJinja(s string) (out string, changed, ok bool) {
	if !strings.Contains(s, "{%") {
		return s, false, true
	}
	out = jinjaTag.ReplaceAllStringFunc(s, func(m string) string {
		sub := jinjaTag.FindStringSubmatch(m)
		switch sub[1] {
		case "if":
			return "<#if " + sub[2] + ">"
		case "elif", "elseif":
			return "<#elseif " + sub[2] + ">"
		case "else":
			return "<#else>"
		default:
			return "</#if>"
		}
	})
	if strings.Contains(out, "{%") {
		return s, false, false
	}
	return out, out != s, true
}
