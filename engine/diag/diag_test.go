package diag

import "testing"

func TestParseChoice(t *testing.T) {
	tests := []struct {
		in, want, err string
		choices       []string
	}{
		{"json", "json", "", []string{"text", "json", "github"}},
		{"xml", "", `unknown format "xml" (want text, json or github)`, []string{"text", "json", "github"}},
		{"", "", `unknown format "" (want text or json)`, []string{"text", "json"}},
		{"b", "", `unknown format "b" (want a)`, []string{"a"}},
	}
	for _, tt := range tests {
		got, err := ParseChoice("format", tt.in, tt.choices...)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tt.want || msg != tt.err {
			t.Errorf("ParseChoice(%q, %q) = %q, %q; want %q, %q", tt.in, tt.choices, got, msg, tt.want, tt.err)
		}
	}
	if f, err := ParseFormat("github"); f != GitHub || err != nil {
		t.Errorf("ParseFormat(github) = %q, %v", f, err)
	}
}
