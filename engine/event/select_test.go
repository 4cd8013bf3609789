package event

import (
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/template"
)

// sameValue reports whether two template values are indistinguishable to a
// template: kind, key order, items and exact text.
func sameValue(a, b template.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case template.KindHash:
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
	case template.KindSeq:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case template.KindNumber:
		return a.NumberText() == b.NumberText()
	}
	as, _ := a.AsString()
	bs, _ := b.AsString()
	return as == bs
}

var selectRoots = []string{"user_data", "timestamp", "custom_data", "last_attributed_touch_data", "$x"}

// checkFields compares ParseFields with Parse on doc: the same error, or
// the same values at every root ParseFields keeps, and nothing else kept.
func checkFields(t *testing.T, doc []byte, roots []string) {
	t.Helper()
	full, ferr := Parse(doc)
	sel, serr := ParseFields(doc, roots)
	if (ferr == nil) != (serr == nil) {
		t.Fatalf("Parse error %v, ParseFields error %v on %q", ferr, serr, doc)
	}
	if ferr != nil {
		if ferr.Error() != serr.Error() {
			t.Fatalf("errors differ: %v / %v", ferr, serr)
		}
		return
	}
	if sel.Name() != full.Name() || sel.ID() != full.ID() {
		t.Fatalf("name/id %q %q, want %q %q", sel.Name(), sel.ID(), full.Name(), full.ID())
	}
	keep := append([]string{"name", "id"}, roots...)
	var want []string
	for _, k := range full.Value().Keys() {
		for _, r := range keep {
			if k == r {
				want = append(want, k)
				break
			}
		}
	}
	// a document left to the full decoder keeps every field; otherwise
	// exactly the kept ones, in the event's order
	var got []string
	for _, k := range sel.Value().Keys() {
		if !sameValue(sel.Value().Get(k), full.Value().Get(k)) {
			t.Fatalf("field %s differs on %q", k, doc)
		}
		for _, r := range keep {
			if k == r {
				got = append(got, k)
				break
			}
		}
	}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("keys %q, want %q on %q", got, want, doc)
	}
	for _, k := range want {
		if !sameValue(sel.Value().Get(k), full.Value().Get(k)) {
			t.Fatalf("field %s differs on %q", k, doc)
		}
	}
}

func TestParseFields(t *testing.T) {
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
		checkFields(t, []byte(doc), selectRoots)
	}
}

// TestParseFieldsNilRoots decodes everything.
func TestParseFieldsNilRoots(t *testing.T) {
	doc := []byte(`{"name":"x","a":1,"b":{"c":2}}`)
	ev, err := ParseFields(doc, nil)
	if err != nil || len(ev.Value().Keys()) != 3 {
		t.Fatalf("%v %v", ev, err)
	}
}

// TestParseFieldsAllocs keeps the skipping cheap: a document whose fields
// are all skipped allocates only the event and its small hash.
func TestParseFieldsAllocs(t *testing.T) {
	doc := []byte(`{"name":"INSTALL","skip1":{"a":[1,2,3,{"b":"c"}],"d":"` + strings.Repeat("x", 500) + `"},"skip2":[true,false,null,1.5]}`)
	n := testing.AllocsPerRun(100, func() {
		if _, err := ParseFields(doc, selectRoots); err != nil {
			t.Fatal(err)
		}
	})
	if n > 8 {
		t.Errorf("%v allocations, want at most 8", n)
	}
}

func FuzzParseFields(f *testing.F) {
	f.Add([]byte(`{"name":"INSTALL","id":551302741529937217,"timestamp":1700000000123,"user_data":{"os":"IOS"},"x":[1,{"y":null}]}`))
	f.Add([]byte(`{"name":"x","custom_data":{"a":"\ud800"},"$x":1.25,"z":"\u0041"}`))
	f.Add([]byte(`{"name":"x","user_data":1,"user_data":2}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkFields(t, doc, selectRoots)
	})
}

// TestParseFieldsSkips makes sure an ordinary event takes the selective path
// rather than the full decoder's.
func TestParseFieldsSkips(t *testing.T) {
	ev, err := ParseFields([]byte(`{"name":"x","id":1,"big":{"a":[1,2]},"user_data":{"os":"IOS"}}`), selectRoots)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ev.Value().Keys(), ","); got != "name,id,user_data" {
		t.Errorf("keys %s, want name,id,user_data", got)
	}
}
