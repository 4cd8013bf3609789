package template

import (
	"strings"
	"testing"
)

// TestInPlaceBodiesKeepBounds: bodies rendered in place in the output
// (<#assign x>, <@json>, <@urlencode>) are bounded by MaxOutput on their
// own, as when each had a buffer of its own, and a directive's encoded
// result is checked against what the output already holds.
func TestInPlaceBodiesKeepBounds(t *testing.T) {
	pad := strings.Repeat("p", 60)
	body := strings.Repeat("b", 60)
	tests := []struct {
		name, tpl, want, wantErr string
	}{
		// 60 + 60 bytes of body would pass 100 if the body counted with
		// the text before it; a captured body does not
		{"capture beside output", pad + "<#assign x>" + body + "</#assign>", pad, ""},
		{"capture alone too long", "<#assign x>" + body + body + "</#assign>", "", "exceeds the limit of 100 bytes"},
		{"json fits", "<@json>ab</@json>", `"ab"`, ""},
		{"urlencode within the limit", pad + "<@urlencode>{}{}{}{}{}</@urlencode>", pad + "%7B%7D%7B%7D%7B%7D%7B%7D%7B%7D", ""},
		{"json after text", pad + "<@json>" + body[:10] + "</@json>", pad + `"` + body[:10] + `"`, ""},
		{"urlencode grows past the limit", pad + "<@urlencode>" + "{}{}{}{}{}{}{}" + "</@urlencode>", "", "1:61: template output exceeds"},
		{"nested bodies", "<@json><@urlencode>a b</@urlencode></@json>", `"a+b"`, ""},
		{"error cuts the body", `<@json>x${nope}</@json>`, "", "nope is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := Parse("t", tt.tpl, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tp.ExecuteString(NewHash(nil, nil), &ExecOptions{MaxOutput: 100})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
