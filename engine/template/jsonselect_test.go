package template

import (
	"slices"
	"strings"
	"testing"
)

// sameValue reports whether two template values are indistinguishable to a
// template: kind, key order, items and exact text.
func sameValue(a, b Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case KindHash:
		ak, bk := a.Keys(), b.Keys()
		if len(ak) != len(bk) {
			return false
		}
		for i := range ak {
			if ak[i] != bk[i] || !sameValue(a.Get(ak[i]), b.Get(bk[i])) {
				return false
			}
		}
		return true
	case KindSeq:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case KindNumber:
		return a.NumberText() == b.NumberText()
	}
	as, _ := a.AsString()
	bs, _ := b.AsString()
	return as == bs
}

var selectPaths = [][]string{
	{"name"}, {"id"}, {"user_data", "os"}, {"user_data", "idfa"}, {"timestamp"}, {"custom_data"},
	{"last_attributed_touch_data", "~click_id"}, {"$x"}, {"a", "b", "c"}, {"a", "b", "d"},
}

// lookup is a chain of Get, the plainest reading of a path.
func lookup(v Value, path []string) Value {
	for _, k := range path {
		v = v.Get(k)
	}
	return v
}

var testSel = NewJSONSelection(selectPaths...)

// checkFields compares ParseJSONSelected with ParseJSON on doc: the same
// error, or the same values at every selected path and the same kinds on
// the way there.
func checkFields(t *testing.T, doc []byte) {
	t.Helper()
	full, ferr := ParseJSON(doc)
	own := append([]byte(nil), doc...)
	sel, serr := ParseJSONSelected(own, testSel)
	for i := range own {
		own[i] = 0 // ParseJSONSelected reads in place: nothing kept may change
	}
	if (ferr == nil) != (serr == nil) {
		t.Fatalf("ParseJSON error %v, ParseJSONSelected error %v on %q", ferr, serr, doc)
	}
	if ferr != nil {
		if ferr.Error() != serr.Error() {
			t.Fatalf("errors differ: %v / %v", ferr, serr)
		}
		return
	}
	if sel.Kind() != full.Kind() {
		t.Fatalf("document is a %s, want %s on %q", sel.Kind(), full.Kind(), doc)
	}
	for _, p := range selectPaths {
		for i := 1; i < len(p); i++ {
			if g, w := lookup(sel, p[:i]), lookup(full, p[:i]); g.Kind() != w.Kind() {
				t.Fatalf("%s is a %s, want %s on %q", p[:i], g.Kind(), w.Kind(), doc)
			}
		}
		if !sameValue(lookup(sel, p), lookup(full, p)) {
			t.Fatalf("%s differs on %q", p, doc)
		}
	}
}

func TestParseJSONSelected(t *testing.T) {
	for _, doc := range []string{
		`{"name":"INSTALL","id":551302741529937217,"timestamp":1700000000123,"user_data":{"os":"IOS","idfa":"X"},"skipped":{"a":[1,2.5,-0.25,true,false,null,"s\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]}}`,
		`{"name":"x","user_data":{"a":1},"user_data":{"b":2}}`, // duplicate: first position, last value
		`{"name":"x","other":1e5,"user_data":{}}`,              // exponent: full decoder decides
		`{"name":"x","other":1e999999999999,"user_data":{}}`,   // out of range: refused
		`{"name":"x","o\u0074her":1,"user_data":{}}`,           // escaped key
		`{"na\u006de":"x"}`,                                    // escaped name key
		`{"name":"x","$x":"dollar","id":"a string id"}`,
		`{"name":"x","skip":"bad \x escape"}`,
		"{\"name\":\"x\",\"skip\":\"raw \x01 control\"}",
		`{"name":"x","skip":01}`,
		`{"name":"x","skip":[1,]}`,
		`{"name":"x","skip":{"a" 1}}`,
		`{"name":"x","skip":tru}`,
		`{"name":"x"} trailing`,
		`{"name":"x",}`,
		`["name"]`,
		`{"name":""}`,
		`{"name":"x","user_data":null}`,
		`{"name":"x","user_data":"not a hash","a":{"b":[1]}}`,
		`{"name":"x","a":{"b":{"c":1,"e":2},"b":{"d":3}}}`,
		`{"name":"x","a":{"b":{"c":{"deep":[{"x":1}]},"d":null}}}`,
		`{"name":"x","a":{"b":` + strings.Repeat("{\"c\":", 62) + "1" + strings.Repeat("}", 62) + `}}`,
		`{"name":"x","a":{"b":` + strings.Repeat("{\"c\":", 63) + "1" + strings.Repeat("}", 63) + `}}`,
		"{\"name\":\"x\",\"skip\":\"\xff\xfe\",\"user_data\":{\"os\":\"\xc3\"}}",
		`{"name":"x","skip":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`,
		`{"name":"x","skip":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
		`{"name":"x","user_data":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
		` {"name":"x"} `,
		``,
		`{`,
		`{"name":"x","skip":"unterminated`,
		`{"name":"x","skip":"\u12"}`,
	} {
		checkFields(t, []byte(doc))
	}
}

// TestParseJSONSelectedNil decodes everything.
func TestParseJSONSelectedNil(t *testing.T) {
	doc := []byte(`{"name":"x","a":1,"b":{"c":2}}`)
	v, err := ParseJSONSelected(doc, nil)
	if err != nil || len(v.Keys()) != 3 {
		t.Fatalf("%v %v", v, err)
	}
}

// TestParseJSONSelectedAllocs keeps the skipping cheap: a document whose
// fields are all skipped allocates only the slab's three slices and the
// arena for the one string kept.
func TestParseJSONSelectedAllocs(t *testing.T) {
	doc := []byte(`{"name":"INSTALL","skip1":{"a":[1,2,3,{"b":"c"}],"d":"` + strings.Repeat("x", 500) + `"},"skip2":[true,false,null,1.5]}`)
	n := testing.AllocsPerRun(100, func() {
		if _, err := ParseJSONSelected(doc, testSel); err != nil {
			t.Fatal(err)
		}
	})
	if n > 4 {
		t.Errorf("%v allocations, want at most 4", n)
	}
}

func FuzzParseJSONSelected(f *testing.F) {
	f.Add([]byte(`{"name":"INSTALL","id":551302741529937217,"timestamp":1700000000123,"user_data":{"os":"IOS"},"x":[1,{"y":null}]}`))
	f.Add([]byte(`{"name":"x","custom_data":{"a":"\ud800"},"$x":1.25,"z":"\u0041"}`))
	f.Add([]byte(`{"name":"x","user_data":1,"user_data":2}`))
	f.Add([]byte(`{"name":"x","a":{"b":{"c":1,"e":[2]},"f":3},"a":{"b":{"d":"\u00e9"}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkFields(t, doc)
	})
}

// TestParseJSONSelectedSkips makes sure an ordinary event takes the
// selective path rather than ParseJSON's.
func TestParseJSONSelectedSkips(t *testing.T) {
	v, err := ParseJSONSelected([]byte(`{"name":"x","id":1,"big":{"a":[1,2]},"user_data":{"os":"IOS","aaid":"A"},"custom_data":{"k":{"l":1}}}`), testSel)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(v.Keys(), ","); got != "name,id,user_data,custom_data" {
		t.Errorf("keys %s, want name,id,user_data,custom_data", got)
	}
	if got := strings.Join(v.Get("user_data").Keys(), ","); got != "os" {
		t.Errorf("user_data keys %s, want os", got)
	}
	if v.Get("custom_data").Get("k").Get("l").NumberText() != "1" {
		t.Errorf("custom_data not kept whole")
	}
}

// TestParseJSONSelectedOwnsMemory: the scanner reads the caller's bytes
// in place, so nothing it keeps may refer to them: overwriting the
// document afterwards changes no value.
func TestParseJSONSelectedOwnsMemory(t *testing.T) {
	docs := []string{
		`{"name":"INSTALL","id":"id-1","timestamp":1700000000123,"user_data":{"os":"IOS","idfa":"X Y"},"custom_data":{"k":"v","n":[1,"s"]},"last_attributed_touch_data":{"~click_id":"c\u00e9"},"$x":"é"}`,
		"{\"name\":\"x\u00e9\",\"user_data\":{\"os\":\"\xc3\"},\"a\":{\"b\":{\"c\":\"deep\",\"d\":12.5}}}",
	}
	for _, d := range docs {
		want, err := ParseJSON([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(d)
		got, err := ParseJSONSelected(b, testSel)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] = 'Z'
		}
		for _, p := range selectPaths {
			if !sameValue(lookup(got, p), lookup(want, p)) {
				t.Errorf("%s changed with the document: %v", p, lookup(got, p))
			}
		}
	}
}

// TestStringRun checks the eight-bytes-at-a-time scan against the tables
// for every byte value at every position of a 20-byte run of plain bytes,
// with a second stopping byte after it and with any start.
func TestStringRun(t *testing.T) {
	for _, ascii := range []bool{false, true} {
		table := &jsonPlain
		if ascii {
			table = &jsonPlainASCII
		}
		for c := 0; c < 256; c++ {
			for pos := 0; pos < 20; pos++ {
				for _, second := range []byte{'a', '"', 0x01, 0xc3} {
					b := []byte(strings.Repeat("a~ Z.b1", 3))[:20]
					b[pos] = byte(c)
					if pos+3 < len(b) {
						b[pos+3] = second
					}
					for start := 0; start <= pos; start += 3 {
						want := start
						for want < len(b) && table[b[want]] {
							want++
						}
						if got := stringRun(string(b), start, ascii); got != want {
							t.Fatalf("ascii=%v %q from %d: %d, want %d", ascii, b, start, got, want)
						}
					}
				}
			}
		}
	}
}

// TestParseJSONSeq: each document of a sequence decodes as ParseJSON
// decodes its bytes alone, and a long number stops the sequence.
func TestParseJSONSeq(t *testing.T) {
	in := " {\"a\":1,\"b\":[2.50,\"x\\u00e9\",null]}\n\n{\"c\":{\"d\":true}}{\"e\":-3e2}\r\n[]"
	var got []string
	err := ParseJSONSeq([]byte(in), 0, func(v Value, start, end int) error {
		want, err := ParseJSON([]byte(in[start:end]))
		if err != nil || !sameValue(v, want) {
			t.Errorf("document %q: %v, or not the value ParseJSON gives", in[start:end], err)
		}
		got = append(got, in[start:end])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`{"a":1,"b":[2.50,"x\u00e9",null]}`, `{"c":{"d":true}}`, `{"e":-3e2}`, `[]`}; !slices.Equal(got, want) {
		t.Errorf("documents %q, want %q", got, want)
	}
	for _, tc := range []struct {
		in  string
		max int
		ok  bool
	}{
		{`{"a":123} {"b":-12}`, 3, true},
		{`{"a":123} {"b":-123}`, 3, false},
		{`{"a":1.5e10}`, 6, true},
		{`{"a":1.5e10}`, 5, false},
		{`{"a":1} x`, 0, false},
		{"{\"a\":\"\xff\"}", 0, false},
		{"", 0, true},
	} {
		if err := ParseJSONSeq([]byte(tc.in), tc.max, func(Value, int, int) error { return nil }); (err == nil) != tc.ok {
			t.Errorf("ParseJSONSeq(%q, %d): %v", tc.in, tc.max, err)
		}
	}
}
