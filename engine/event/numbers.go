package event

import (
	"encoding/json"
	"strconv"
	"strings"
)

// LongNumber finds the first JSON number in doc longer than limit
// characters (sign, digits, point and exponent) and returns its field path,
// in the form FieldError uses ("event_data.revenue", "content_items.0.$price"),
// and its length. A million-digit number costs seconds in the schema check
// and the exact-number parse; this linear scan lets the gateway refuse it
// before either runs.
//
// doc must be one well-formed JSON value, as a json.Decoder has already
// checked at the gateway's door; on other input the result is unspecified
// but the scan still ends without panicking.
func LongNumber(doc []byte, limit int) (field string, length int, found bool) {
	// path holds one segment per open container: the key or index of the
	// value being read in it. arrays says which containers are arrays,
	// and index counts their elements.
	var (
		path   []string
		arrays []bool
		index  []int
	)
	for i := 0; i < len(doc); {
		switch c := doc[i]; c {
		case '{', '[':
			path = append(path, "0")
			arrays = append(arrays, c == '[')
			index = append(index, 0)
			i++
		case '}', ']':
			if n := len(path); n > 0 {
				path, arrays, index = path[:n-1], arrays[:n-1], index[:n-1]
			}
			i++
		case ',':
			if n := len(path); n > 0 && arrays[n-1] {
				index[n-1]++
				path[n-1] = strconv.Itoa(index[n-1])
			}
			i++
		case '"':
			end := stringEnd(doc, i)
			// In an object, a string followed by ':' is the key of the
			// next value.
			if n := len(path); n > 0 && !arrays[n-1] {
				j := end
				for j < len(doc) && isJSONSpace(doc[j]) {
					j++
				}
				if j < len(doc) && doc[j] == ':' {
					path[n-1] = decodeKey(doc[i:end])
				}
			}
			i = end
		default:
			j := i
			for j < len(doc) && !isJSONSpace(doc[j]) && !strings.ContainsRune(",:{}[]\"", rune(doc[j])) {
				j++
			}
			if j == i {
				j++
			}
			if (c == '-' || '0' <= c && c <= '9') && j-i > limit {
				return strings.Join(path, "."), j - i, true
			}
			i = j
		}
	}
	return "", 0, false
}

// stringEnd returns the index just past the JSON string starting at
// doc[start] (a '"'), or len(doc) when it is not closed.
func stringEnd(doc []byte, start int) int {
	for i := start + 1; i < len(doc); i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(doc)
}

// decodeKey reads a quoted key; keys without escapes, nearly all, are
// sliced rather than decoded.
func decodeKey(quoted []byte) string {
	if len(quoted) >= 2 && !strings.ContainsRune(string(quoted), '\\') {
		return string(quoted[1 : len(quoted)-1])
	}
	var k string
	if err := json.Unmarshal(quoted, &k); err != nil {
		return string(quoted)
	}
	return k
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
