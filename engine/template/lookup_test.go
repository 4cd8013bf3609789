package template

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	v, err := ParseJSON([]byte(`{"a":{"b":"x","n":12.50,"t":true,"h":{"k":1},"s":[1],"$3p":"d","nul":null},"str":"s"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  []string
		text  string // AsString of the value found
		kind  Kind
		depth int
	}{
		{[]string{"a", "b"}, "x", KindString, 2},
		{[]string{"a", "n"}, "12.5", KindNumber, 2},
		{[]string{"a", "t"}, "true", KindBool, 2},
		{[]string{"a", "dollar_3p"}, "d", KindString, 2},
		{[]string{"a", "nul"}, "", KindMissing, 2},
		{[]string{"a", "nul", "x"}, "", KindMissing, 3},
		{[]string{"a", "none", "x"}, "", KindMissing, 3},
		{[]string{"a", "h"}, "", KindHash, 2},
		{[]string{"a", "s"}, "", KindSeq, 2},
		{[]string{"a", "b", "c"}, "x", KindString, 2},
		{[]string{"a", "n", "c", "d"}, "12.5", KindNumber, 2},
		{[]string{"str", "c", "d"}, "s", KindString, 1},
		{nil, "", KindHash, 0},
	}
	for _, tt := range tests {
		found, depth := v.Lookup(tt.path...)
		text, _ := found.AsString()
		if text != tt.text || found.Kind() != tt.kind || depth != tt.depth {
			t.Errorf("Lookup(%q) = %q (%s), %d; want %q (%s), %d", tt.path, text, found.Kind(), depth, tt.text, tt.kind, tt.depth)
		}
		// LookupText is the text a template prints, ok where it prints one
		wantOK := depth == len(tt.path) && found.Kind() != KindHash && found.Kind() != KindSeq
		wantText := ""
		if wantOK {
			wantText = text
		}
		if s, ok := v.LookupText(tt.path...); s != wantText || ok != wantOK {
			t.Errorf("LookupText(%q) = %q, %v; want %q, %v", tt.path, s, ok, wantText, wantOK)
		}
		if depth == len(tt.path) {
			// a chain of Get finds the same value
			w := v
			for _, key := range tt.path {
				w = w.Get(key)
			}
			if ws, _ := w.AsString(); ws != text || w.Kind() != found.Kind() {
				t.Errorf("Get chain %q = %q (%s), Lookup %q (%s)", tt.path, ws, w.Kind(), text, found.Kind())
			}
		}
	}
}

// TestHashes: NewHash and the scanner's slab build the same hashes
// (first position and last value of a repeated key, large hashes
// indexed), and later slab hashes do not disturb earlier ones.
func TestHashes(t *testing.T) {
	big := make([]string, smallHash+3)
	bigv := make([]Value, len(big))
	var bigWant []string
	for i := range big {
		big[i] = string(rune('a'+i%26)) + string(rune('A'+i/26))
		bigv[i] = Int(int64(i))
		bigWant = append(bigWant, big[i]+"="+bigv[i].NumberText())
	}
	cases := []struct {
		keys []string
		vals []Value
		want string
	}{
		{nil, nil, ""},
		{[]string{"a"}, []Value{String("x")}, "a=x"},
		{[]string{"a", "b", "a"}, []Value{Int(1), Int(2), Int(3)}, "a=3,b=2"},
		{[]string{"a", "b"}, []Value{Int(1)}, "a=1"},
		{big, bigv, strings.Join(bigWant, ",")},
	}
	show := func(h Value) string {
		var out []string
		for _, k := range h.Keys() {
			s, _ := h.Get(k).AsString()
			out = append(out, k+"="+s)
		}
		return strings.Join(out, ",")
	}
	var s hashSlab
	s.reserve(3, 1)
	var slabbed []Value
	for _, c := range cases {
		// a region of two members: longer cases outgrow it, as a
		// repeated key does in the scanner
		keys, vals := s.region(2)
		keys = append(keys, c.keys...)
		vals = append(vals, c.vals...)
		slabbed = append(slabbed, s.own(keys, vals))
	}
	for i, c := range cases {
		h := NewHash(append([]string(nil), c.keys...), append([]Value(nil), c.vals...))
		if got := show(h); h.Kind() != KindHash || got != c.want {
			t.Errorf("case %d: NewHash gives %q, want %q", i, got, c.want)
		}
		if got := show(slabbed[i]); slabbed[i].Kind() != KindHash || got != c.want {
			t.Errorf("case %d: the slab gives %q, want %q", i, got, c.want)
		}
	}
}
