package template

import (
	"fmt"
	"strings"
	"testing"
)

// TestModelHidesDirective: a data-model variable named like a user
// directive hides it, as FreeMarker's variable lookup does, unless it is
// null; small models are scanned once for every directive's name, large
// (indexed) ones looked up per directive, with the same answers.
func TestModelHidesDirective(t *testing.T) {
	const tpl = `<@json>a</@json><@urlencode>b c</@urlencode><@jsonmap data="x"/>`
	var wide strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&wide, `"k%d":%d,`, i, i)
	}
	tests := []struct{ name, model, wantErr string }{
		{"no such variable", `{"a":1,"jsons":2,"url":3,"":4,"jzon":5,"uRLencode":6}`, ""},
		{"null does not hide", `{"json":null,"urlencode":null}`, ""},
		{"json hides", `{"a":1,"json":"x"}`, "<@json>: the variable json hides"},
		{"later directive hidden", `{"urlencode":{}}`, "<@urlencode>: the variable urlencode hides"},
		{"last directive hidden", `{"jsonmap":[]}`, "<@jsonmap>: the variable jsonmap hides"},
		{"alias spelling hides nothing", `{"$json":1,"~urlencode":2}`, ""},
		{"large model", `{` + wide.String() + `"json":null,"urlencode":1}`, "<@urlencode>: the variable urlencode hides"},
		{"large model, nothing hidden", `{` + wide.String() + `"json":null}`, ""},
	}
	tp, err := Parse("t", tpl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := ParseJSON([]byte(tt.model))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tp.ExecuteString(root, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr == "" && got != `"a"b+c"x"`:
				t.Fatalf("got %q", got)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %q, %v; want an error with %q", got, err, tt.wantErr)
			}
		})
	}
}
