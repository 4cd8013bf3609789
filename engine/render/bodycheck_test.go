package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/spec"
)

func TestCheckBody(t *testing.T) {
	tests := []struct {
		name, body string
		enc        Encoding
		want       string // a substring of the reason; "" for none
	}{
		{"json object", `{"a": "x", "n": 1}`, EncJSON, ""},
		{"json empty value", `{"revenue": , "c": "USD"}`, EncJSON, "not valid JSON at line 1, column 13"},
		{"json on a later line", "{\n  \"a\": 1,\n  \"b\": x\n}", EncJSON, "at line 3, column 8"},
		{"json cut short", `{"a": `, EncJSON, "not valid JSON at line 1, column 6"},
		{"json two values", `{} {}`, EncJSON, "at line 1, column 4"},
		{"json position in code points", `{"é": "ü", x}`, EncJSON, "at line 1, column 12"},
		{"form", "a=1&b=%C3%A9+x", EncQuery, ""},
		{"form bad escape", "a=1&b=%G1", EncQuery, "malformed %-escape at line 1, column 7"},
		{"form escape cut short", "a=%4", EncQuery, "malformed %-escape at line 1, column 3"},
		{"form semicolon", "a=1;b=2", EncQuery, "has ';' at line 1, column 4"},
		{"text is not checked", `{"revenue": ,}`, EncRaw, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkBody(tt.body, tt.enc)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("checkBody(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

// TestBodyCheckSkips renders a JSON and a form body that do not parse:
// skipped with the position, unless body_check is off.
func TestBodyCheckSkips(t *testing.T) {
	_, cat := loadPartner(t, "acme")
	ev := parseEvent(t, `{"name":"PURCHASE","event_data":{"currency":"USD"}}`)
	for _, tt := range []struct {
		name  string
		pb    spec.Postback
		skip  string
		sends string
	}{
		{"json", spec.Postback{ContentType: "application/json", Body: `{"revenue": {revenue}}`},
			"partner t postback PURCHASE body: rendered body is not valid JSON at line 1, column 13", ""},
		{"json unchecked", spec.Postback{ContentType: "application/json", Body: `{"revenue": {revenue}}`, BodyCheck: spec.BodyCheckOff},
			"", `{"revenue": }`},
		{"json by its first character", spec.Postback{Body: ` [{revenue}, 1]`}, "not valid JSON at line 1, column 3", ""},
		{"form", spec.Postback{ContentType: "application/x-www-form-urlencoded", Body: `c={currency}&r=100%`},
			"malformed %-escape at line 1, column 12", ""},
		{"form valid", spec.Postback{ContentType: "application/x-www-form-urlencoded", Body: `c={currency}&r={revenue}`}, "", "c=USD&r="},
		{"text", spec.Postback{ContentType: "text/plain", Body: `{"revenue": {revenue}}`}, "", `{"revenue": }`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pb := tt.pb
			pb.Events, pb.Method, pb.URL = []string{"PURCHASE"}, "POST", "https://p.example/"
			p := &spec.Partner{ID: "t", Name: "T", Postbacks: []spec.Postback{pb}, Parameters: []spec.Parameter{
				{Macro: "revenue", Branch: "PURCHASE_REVENUE"}, {Macro: "currency", Branch: "PURCHASE_CURRENCY"},
			}}
			cp, err := Compile(p, cat)
			if err != nil {
				t.Fatal(err)
			}
			res, err := cp.Render(ev, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.skip != "":
				if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, tt.skip) || !strings.Contains(res.Skipped[0].Reason, "body_check: off") {
					t.Errorf("skipped %+v, want a reason containing %q", res.Skipped, tt.skip)
				}
			case len(res.Requests) != 1 || res.Requests[0].Body != tt.sends:
				t.Errorf("requests %+v (skipped %+v), want body %q", res.Requests, res.Skipped, tt.sends)
			}
		})
	}
}

// FuzzCheckBody: the JSON check agrees with encoding/json, and a reason's
// position is inside the body.
func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, `{"a": }`, "[1,\n2,", `"é`, "a=%zz;b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if got := checkBody(body, EncJSON); (got == "") != json.Valid([]byte(body)) {
			t.Fatalf("checkBody(%q) = %q, json.Valid = %v", body, got, json.Valid([]byte(body)))
		}
		lines := strings.Count(body, "\n") + 1
		for _, enc := range []Encoding{EncJSON, EncQuery} {
			got := checkBody(body, enc)
			var line, col int
			if i := strings.Index(got, " at line "); i >= 0 {
				if _, err := fmt.Sscanf(got[i:], " at line %d, column %d", &line, &col); err != nil || line < 1 || line > lines || col < 1 {
					t.Fatalf("checkBody(%q) = %q: position outside the body", body, got)
				}
			}
		}
	})
}
