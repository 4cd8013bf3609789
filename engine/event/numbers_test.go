package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLongNumber(t *testing.T) {
	long := strings.Repeat("9", 65)
	for _, tc := range []struct {
		name, doc string
		field     string
		length    int
	}{
		{"none", `{"name":"a","id":873493741231235681,"event_data":{"revenue":19.99}}`, "", 0},
		{"at the limit", `{"v":` + strings.Repeat("1", 64) + `}`, "", 0},
		{"top level", `{"name":"a","revenue":` + long + `}`, "revenue", 65},
		{"nested", `{"name":"a","event_data":{"currency":"USD","revenue":` + long + `}}`, "event_data.revenue", 65},
		{"negative with exponent", `{"x":-` + strings.Repeat("1", 60) + `e+10}`, "x", 65},
		{"fraction", `{"x":0.` + strings.Repeat("3", 63) + `}`, "x", 65},
		{"in an array", `{"content_items":[{"$price":1},{"$price":` + long + `}]}`, "content_items.1.$price", 65},
		{"array of arrays", `{"m":[[1,2],[3,` + long + `]]}`, "m.1.1", 65},
		{"after a nested container", `{"a":{"b":[1,{"c":2}]},"d":` + long + `}`, "d", 65},
		{"escaped key", `{"we\"ird\u00e9":` + long + `}`, `we"irdé`, 65},
		{"key with structural characters", `{"a,b:[c]":{"x":` + long + `}}`, "a,b:[c].x", 65},
		{"digits inside a string", `{"s":"` + long + `"}`, "", 0},
		{"whitespace everywhere", "{ \"a\" :\n [ 1 , " + long + " ] }", "a.1", 65},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.doc)) {
				t.Fatalf("test document is not JSON: %s", tc.doc)
			}
			field, n, found := LongNumber([]byte(tc.doc), 64)
			if found != (tc.length > 0) || field != tc.field || n != tc.length {
				t.Errorf("LongNumber = %q, %d, %t; want %q, %d", field, n, found, tc.field, tc.length)
			}
		})
	}
}

// FuzzLongNumber: any input, JSON or not, ends without a panic, and on
// valid JSON a reported number really is that long.
func FuzzLongNumber(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":123456789}]}`, `{"\u0041":1e999}`, `[`, `"`, `{"a":"\`, `}]`, "-"} {
		f.Add([]byte(s), 4)
	}
	f.Fuzz(func(t *testing.T, doc []byte, limit int) {
		_, n, found := LongNumber(doc, limit)
		if found && (n <= limit || n > len(doc)) {
			t.Fatalf("reported length %d for limit %d in %d bytes", n, limit, len(doc))
		}
	})
}
