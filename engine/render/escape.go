package render

import (
	"strings"

	"github.com/adgate/adgate/engine/template"
)

// Encoding says how a macro's value is escaped where it is inserted.
type Encoding uint8

// The encodings of the places a macro can stand.
const (
	// EncQuery percent-encodes for a URL query component (and for form
	// bodies): RFC 3986 unreserved characters A-Z a-z 0-9 - . _ ~ are kept,
	// every other byte of the UTF-8 value becomes %XX with upper-case hex,
	// space included (%20, never +). So + & = / ? # % and spaces in a value
	// can never end its query parameter or start another one.
	EncQuery Encoding = iota
	// EncJSON escapes for the inside of a JSON string as
	// template.JSONSafe does: " \ and control characters (\n \r \t \b \f,
	// others \u00XX), U+2028/U+2029 as \u2028 and \u2029; invalid UTF-8
	// becomes U+FFFD. Everything else is kept.
	EncJSON
	// EncRaw inserts the value as it is (headers, plain-text bodies).
	EncRaw
)

func (e Encoding) String() string {
	switch e {
	case EncQuery:
		return "query"
	case EncJSON:
		return "json"
	}
	return "raw"
}

const upperHex = "0123456789ABCDEF"

// unreservedSet marks the RFC 3986 unreserved bytes; a table lookup is
// the inner loop of every URL macro.
var unreservedSet = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
	}
	return t
}()

func unreserved(c byte) bool { return unreservedSet[c] }

// QueryEscape returns s encoded as EncQuery describes.
func QueryEscape(s string) string {
	var b strings.Builder
	writeQuery(&b, s)
	return b.String()
}

// queryExtra is what writeQuery adds for a byte: 2 for a byte it
// percent-encodes (one byte becomes three), 0 for an unreserved one.
var queryExtra = func() (t [256]uint8) {
	for c := range t {
		if !unreservedSet[c] {
			t[c] = 2
		}
	}
	return t
}()

// queryLen is the length of s encoded by writeQuery (branch-free: a
// clean value costs a table load and an add a byte).
func queryLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		n += int(queryExtra[s[i]])
	}
	return n
}

func writeQuery(b *strings.Builder, s string) {
	clean := 0
	for clean < len(s) && unreservedSet[s[clean]] {
		clean++
	}
	if clean == len(s) {
		b.WriteString(s)
		return
	}
	b.Grow(len(s) - clean + 16)
	var esc [3]byte
	esc[0] = '%'
	start := 0
	for i := clean; i < len(s); i++ {
		c := s[i]
		if unreservedSet[c] {
			continue
		}
		b.WriteString(s[start:i])
		esc[1], esc[2] = upperHex[c>>4], upperHex[c&15]
		b.Write(esc[:])
		start = i + 1
	}
	b.WriteString(s[start:])
}

// appendQuery is writeQuery for a byte slice.
func appendQuery(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreservedSet[c] {
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		start = i + 1
	}
	return append(b, s[start:]...)
}

// JSONEscape returns s escaped as EncJSON describes (without quotes).
func JSONEscape(s string) string {
	var b strings.Builder
	template.WriteJSONString(&b, s, template.JSONSafe)
	return b.String()
}

func writeEncoded(b *strings.Builder, s string, enc Encoding) {
	switch enc {
	case EncQuery:
		writeQuery(b, s)
	case EncJSON:
		template.WriteJSONString(b, s, template.JSONSafe)
	default:
		b.WriteString(s)
	}
}
