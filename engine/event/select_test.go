package event

import (
	"testing"

	"github.com/adgate/adgate/engine/template"
)

// TestParseSelected: ParseSelected is Parse at the selected paths, with
// name and id always kept and Parse's errors word for word (the scanner
// itself is tested against template.ParseJSON in engine/template).
func TestParseSelected(t *testing.T) {
	sel := NewSelection([]Path{ParsePath("user_data.os"), ParsePath("custom_data")})
	for _, doc := range []string{
		`{"name":"INSTALL","id":551302741529937217,"user_data":{"os":"IOS","idfa":"X"},"custom_data":{"k":[1,2.5]},"skipped":1}`,
		`{"id":"s-1","name":"x","user_data":"not a hash"}`,
		`{"name":"x","skip":tru}`,
		`{"name":""}`,
		`{"id":1}`,
		`["name"]`,
		`{"name":1}`,
		``,
	} {
		full, ferr := Parse([]byte(doc))
		got, gerr := ParseSelected([]byte(doc), sel)
		if (ferr == nil) != (gerr == nil) || (ferr != nil && ferr.Error() != gerr.Error()) {
			t.Errorf("%s: ParseSelected error %v, want Parse's %v", doc, gerr, ferr)
			continue
		}
		if ferr != nil {
			continue
		}
		if got.Name() != full.Name() || got.ID() != full.ID() {
			t.Errorf("%s: name/id %q %q, want %q %q", doc, got.Name(), got.ID(), full.Name(), full.ID())
		}
		for _, p := range []string{"user_data.os", "custom_data.k", "user_data"} {
			g, _ := got.Lookup(p).AsString()
			w, _ := full.Lookup(p).AsString()
			if g != w || got.Lookup(p).Kind() != full.Lookup(p).Kind() {
				t.Errorf("%s: %s = %q, want %q", doc, p, g, w)
			}
		}
		if got.Lookup("skipped").Kind() != template.KindMissing {
			t.Errorf("%s: skipped field kept", doc)
		}
	}
}

// TestParseSelectedNil decodes everything.
func TestParseSelectedNil(t *testing.T) {
	doc := []byte(`{"name":"x","a":1,"b":{"c":2}}`)
	ev, err := ParseSelected(doc, nil)
	if err != nil || len(ev.Value().Keys()) != 3 {
		t.Fatalf("%v %v", ev, err)
	}
}
