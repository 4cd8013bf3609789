package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkBody returns why a rendered body of encoding enc would not parse at
// the partner, naming the position, or "" when it parses. A JSON body must
// be one JSON value; a form body (EncQuery) must parse as
// application/x-www-form-urlencoded as Go's url.ParseQuery reads it: no
// malformed %-escape and no ';'.
func checkBody(body string, enc Encoding) string {
	switch enc {
	case EncJSON:
		if json.Valid([]byte(body)) {
			return ""
		}
		var raw json.RawMessage
		err := json.Unmarshal([]byte(body), &raw)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Offset counts the bytes read, the offending one included
			return "rendered body is not valid JSON at " + where(body, int(se.Offset)-1) + ": " + se.Error()
		}
		return "rendered body is not valid JSON: " + fmt.Sprint(err)
	case EncQuery:
		for i := 0; i < len(body); i++ {
			switch body[i] {
			case ';':
				return "rendered form body has ';' at " + where(body, i) + ", which form decoders reject as a separator"
			case '%':
				if i+2 >= len(body) || !isHex(body[i+1]) || !isHex(body[i+2]) {
					return "rendered form body has a malformed %-escape at " + where(body, i)
				}
			}
		}
	}
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// where words byte offset off of text as a 1-based line and column (in
// code points), as the template errors of skip reasons are.
func where(text string, off int) string {
	off = max(0, min(off, len(text)))
	line := 1 + strings.Count(text[:off], "\n")
	col := 1 + utf8.RuneCountInString(text[strings.LastIndexByte(text[:off], '\n')+1:off])
	return fmt.Sprintf("line %d, column %d", line, col)
}
