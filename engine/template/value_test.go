package template

import "testing"

func TestParseJSONExactNumbers(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`551302741529937217`, "551302741529937217"},
		{`9223372036854775807`, "9223372036854775807"},
		{`-9223372036854775808`, "-9223372036854775808"},
		{`99999999999999999999999`, "99999999999999999999999"},
		{`1.50`, "1.5"},
		{`1e3`, "1000"},
		{`0`, "0"},
		{`-12`, "-12"},
	}
	for _, tc := range tests {
		v, err := ParseJSON([]byte(tc.in))
		if err != nil {
			t.Fatalf("ParseJSON(%s): %v", tc.in, err)
		}
		got, ok := v.AsString()
		if !ok || got != tc.want {
			t.Errorf("ParseJSON(%s).AsString() = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}
