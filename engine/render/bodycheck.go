package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/spec"
)

// checkBody returns why a rendered body of encoding enc would not parse at
// the partner, naming the position, or "" when it parses. A JSON body must
// be one JSON value; a form body (EncQuery) must have none of the things
// form decoders reject (spec.FormProblem).
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
		if off, what := spec.FormProblem(body); off >= 0 {
			return "rendered form body has " + what + " at " + where(body, off) + ", which form decoders reject"
		}
	}
	return ""
}

// where words byte offset off of text as a 1-based line and column (in
// code points), as the template errors of skip reasons are.
func where(text string, off int) string {
	off = max(0, min(off, len(text)))
	line := 1 + strings.Count(text[:off], "\n")
	col := 1 + utf8.RuneCountInString(text[strings.LastIndexByte(text[:off], '\n')+1:off])
	return fmt.Sprintf("line %d, column %d", line, col)
}
