package template

import "testing"

func TestPathText(t *testing.T) {
	v, err := ParseJSON([]byte(`{"a":{"b":"x","n":12.50,"t":true,"h":{"k":1},"s":[1],"$3p":"d","nul":null},"str":"s"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path []string
		s    string
		stop int
		k    Kind
	}{
		{[]string{"a", "b"}, "x", -1, KindString},
		{[]string{"a", "n"}, "12.5", -1, KindNumber},
		{[]string{"a", "t"}, "true", -1, KindBool},
		{[]string{"a", "dollar_3p"}, "d", -1, KindString},
		{[]string{"a", "nul"}, "", -1, KindMissing},
		{[]string{"a", "nul", "x"}, "", -1, KindMissing},
		{[]string{"a", "none", "x"}, "", -1, KindMissing},
		{[]string{"a", "h"}, "", 2, KindHash},
		{[]string{"a", "s"}, "", 2, KindSeq},
		{[]string{"a", "b", "c"}, "", 2, KindString},
		{[]string{"str", "c", "d"}, "", 1, KindString},
		{nil, "", 0, KindHash},
	}
	for _, tt := range tests {
		s, stop, k := v.PathText(tt.path)
		if s != tt.s || stop != tt.stop || k != tt.k {
			t.Errorf("PathText(%q) = %q, %d, %s; want %q, %d, %s", tt.path, s, stop, k, tt.s, tt.stop, tt.k)
		}
		if tt.stop < 0 {
			// a chain of Get gives the same text
			w := v
			for _, key := range tt.path {
				w = w.Get(key)
			}
			if ws, _ := w.AsString(); ws != s {
				t.Errorf("Get chain %q = %q, PathText %q", tt.path, ws, s)
			}
		}
	}
}
