package main

import (
	"strings"
	"testing"
)

// TestSeveralPostbacksCLI runs the example partner with a GET and a named
// JSON POST for PURCHASE through render (each format, --postback by name
// and by event key, --explain) and test.
func TestSeveralPostbacksCLI(t *testing.T) {
	const dir, purchase = "../../examples/partners", "../../examples/events/purchase.json"
	tests := []struct {
		name string
		args []string
		want []string // substrings of stdout, in order
		not  string   // a substring stdout must not have
	}{
		{"text", []string{"--format", "text"},
			[]string{"\nPURCHASE: GET https://track.shopnet.example/pb?", "\nPURCHASE (basket): POST https://api.shopnet.example/v1/orders", `body: {"click_id": "jmp-7f3c2a"`}, ""},
		{"json", []string{"--format", "json"},
			[]string{`"postback": "PURCHASE",` + "\n" + `      "method": "GET"`, `"postback": "PURCHASE",` + "\n" + `      "name": "basket",`}, ""},
		{"curl", []string{"--format", "curl"}, []string{"# PURCHASE\ncurl ", "# PURCHASE (basket)\ncurl -X POST"}, ""},
		{"by name", []string{"--postback", "basket"}, []string{"PURCHASE (basket): POST"}, "GET"},
		{"by event key", []string{"--postback", "PURCHASE"}, []string{"PURCHASE: GET", "PURCHASE (basket): POST"}, ""},
		{"explain", []string{"--postback", "basket", "--explain"},
			[]string{"PURCHASE (basket): POST", "macros:", `{order_id}  "T-1001"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"render", "--partners", dir, "--partner", "shopnet", "--event", purchase}, tt.args...)
			code, out, errs := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			if tt.not != "" && strings.Contains(out, tt.not) {
				t.Errorf("output has %q:\n%s", tt.not, out)
			}
		})
	}
	if code, out, errs := runCLI(t, "test", dir); code != 0 || !strings.Contains(out, "ok  \tshopnet\t(5 cases)") {
		t.Errorf("test %s: exit %d\n%s%s", dir, code, out, errs)
	}
}
