package template

import (
	"strings"
	"testing"
)

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

// TestSlabHash: a slab's hashes are NewHash's, duplicates and large
// hashes included, and later hashes do not disturb earlier ones.
func TestSlabHash(t *testing.T) {
	big := make([]string, smallHash+3)
	bigv := make([]Value, len(big))
	for i := range big {
		big[i] = string(rune('a'+i%26)) + string(rune('A'+i/26))
		bigv[i] = Int(int64(i))
	}
	cases := []struct {
		keys []string
		vals []Value
	}{
		{nil, nil},
		{[]string{"a"}, []Value{String("x")}},
		{[]string{"a", "b", "a"}, []Value{Int(1), Int(2), Int(3)}},
		{[]string{"a", "b"}, []Value{Int(1)}},
		{big, bigv},
	}
	var s Slab
	s.Reserve(3, 1)
	var got []Value
	for _, c := range cases {
		// a region of two members: longer cases outgrow it, as a
		// repeated key does in the decoder
		keys, vals := s.Region(2)
		keys = append(keys, c.keys...)
		vals = append(vals, c.vals...)
		got = append(got, s.Own(keys, vals))
	}
	for i, c := range cases {
		want := NewHash(c.keys, c.vals)
		g := got[i]
		if g.Kind() != KindHash || strings.Join(g.Keys(), ",") != strings.Join(want.Keys(), ",") {
			t.Fatalf("case %d: keys %q, want %q", i, g.Keys(), want.Keys())
		}
		for _, k := range want.Keys() {
			a, _ := g.Get(k).AsString()
			b, _ := want.Get(k).AsString()
			if a != b {
				t.Errorf("case %d: %s = %q, want %q", i, k, a, b)
			}
		}
	}
}
