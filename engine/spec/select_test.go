package spec

import (
	"encoding/json"
	"io/fs"
	"slices"
	"testing"

	"github.com/adgate/adgate/schemas"
)

func TestSelect(t *testing.T) {
	withCustom := &Partner{Postbacks: []Postback{
		{Events: []string{"INSTALL", "REINSTALL"}},
		{Events: []string{"open"}},
		{Events: []string{"PURCHASE"}},
		{Events: []string{"custom_event"}},
	}}
	withoutCustom := &Partner{Postbacks: []Postback{{Events: []string{"INSTALL"}}}}
	renames := map[string]string{"signup": "SIGN_UP", "level_up": "level_up"}
	tests := []struct {
		name    string
		p       *Partner
		event   string
		renames map[string]string
		want    []Selected
	}{
		{"declared", withCustom, "INSTALL", nil, []Selected{{Index: 0, Key: "INSTALL"}}},
		{"second event of a postback", withCustom, "REINSTALL", nil, []Selected{{Index: 0, Key: "REINSTALL"}}},
		{"case-insensitive, key as declared", withCustom, "install", nil, []Selected{{Index: 0, Key: "INSTALL"}}},
		{"declared lower-case", withCustom, "OPEN", nil, []Selected{{Index: 1, Key: "open"}}},
		{"custom event falls back", withCustom, "signup", nil, []Selected{{Index: 3, Key: "custom_event", Custom: true}}},
		{"declared commerce event", withCustom, "purchase", nil, []Selected{{Index: 2, Key: "PURCHASE"}}},
		{"undeclared lifecycle event: no fallback", withCustom, "CLICK", nil, nil},
		{"lifecycle spelled with spaces", withCustom, "Web Session Start", nil, nil},
		{"lifecycle spelled with underscores", withCustom, "web_session_start", nil, nil},
		{"no custom_event postback", withoutCustom, "signup", nil, nil},
		{"declared event ignores renames", withCustom, "INSTALL", renames, []Selected{{Index: 0, Key: "INSTALL"}}},
		{"renamed custom event", withCustom, "SignUp", renames, []Selected{{Index: 3, Key: "custom_event", Custom: true, Rename: "SIGN_UP"}}},
		{"mapped to its own name", withCustom, "level_up", renames, []Selected{{Index: 3, Key: "custom_event", Custom: true}}},
		{"unmapped custom event", withCustom, "tutorial", renames, []Selected{{Index: 3, Key: "custom_event", Custom: true, Unmapped: true}}},
		{"empty mapping maps nothing", withCustom, "tutorial", map[string]string{}, []Selected{{Index: 3, Key: "custom_event", Custom: true, Unmapped: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, conflicts := tt.p.Selection()
			if len(conflicts) > 0 {
				t.Fatalf("conflicts %v", conflicts)
			}
			var buf [1]Selected
			got := sel.Select(buf[:0], tt.event, tt.renames)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select(%q) = %+v, want %+v", tt.event, got, tt.want)
			}
		})
	}
}

func TestSelectionConflicts(t *testing.T) {
	p := &Partner{Postbacks: []Postback{
		{Events: []string{"INSTALL", "OPEN"}},
		{Events: []string{"install", "PURCHASE", "purchase"}},
		{Events: []string{"Open"}},
	}}
	sel, conflicts := p.Selection()
	want := []Conflict{
		{Postback: 1, Event: 0, First: 0},
		{Postback: 1, Event: 2, First: 1},
		{Postback: 2, Event: 0, First: 0},
	}
	if !slices.Equal(conflicts, want) {
		t.Errorf("conflicts = %+v, want %+v", conflicts, want)
	}
	if got := sel.Keys(); !slices.Equal(got, []string{"INSTALL", "OPEN", "PURCHASE"}) {
		t.Errorf("Keys() = %q: the first listing of an event should win", got)
	}
	var buf [1]Selected
	if got := sel.Select(buf[:0], "open", nil); len(got) != 1 || got[0].Index != 0 {
		t.Errorf("Select(open) = %+v, want the first postback", got)
	}
}

func TestSelectionFind(t *testing.T) {
	p := &Partner{Postbacks: []Postback{
		{Events: []string{"INSTALL"}},
		{Events: []string{"custom_event"}},
		{Events: []string{"PURCHASE"}},
		{Name: "basket", Events: []string{"PURCHASE", "ADD_TO_CART"}},
	}}
	sel, conflicts := p.Selection()
	if len(conflicts) > 0 {
		t.Fatalf("conflicts %v", conflicts)
	}
	tests := []struct {
		ref  string
		want []Selected
	}{
		{"INSTALL", []Selected{{Index: 0, Key: "INSTALL"}}},
		{"install", []Selected{{Index: 0, Key: "INSTALL"}}},
		// a key names a postback as declared: no fallback
		{"custom_event", []Selected{{Index: 1, Key: "custom_event"}}},
		{"signup", nil},
		// an event key finds every postback of the event, in spec order
		{"purchase", []Selected{{Index: 2, Key: "PURCHASE"}, {Index: 3, Key: "PURCHASE", Name: "basket"}}},
		// a name finds its postback alone, keyed by its first event
		{"Basket", []Selected{{Index: 3, Key: "PURCHASE", Name: "basket"}}},
		{"ADD_TO_CART", []Selected{{Index: 3, Key: "ADD_TO_CART", Name: "basket"}}},
	}
	for _, tt := range tests {
		got := sel.Find(nil, tt.ref)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Find(%q) = %+v; want %+v", tt.ref, got, tt.want)
		}
		if tt.ref == "Basket" {
			continue
		}
		if pb := p.Postback(tt.ref); (pb != nil) != (len(tt.want) > 0) || (pb != nil && pb != &p.Postbacks[tt.want[0].Index]) {
			t.Errorf("Postback(%q) = %v, want postback %v", tt.ref, pb, tt.want)
		}
	}
	if got, want := sel.Keys(), []string{"INSTALL", "custom_event", "PURCHASE", "basket"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}
}

// TestSelectSeveral is the rule for an event listed by several postbacks:
// each is selected, in spec order, with its name; the custom_event
// fallback selects every custom_event postback.
func TestSelectSeveral(t *testing.T) {
	p := &Partner{Postbacks: []Postback{
		{Name: "json", Events: []string{"PURCHASE"}},
		{Events: []string{"INSTALL", "purchase"}},
		{Events: []string{"custom_event"}},
		{Name: "custom-json", Events: []string{"custom_event", "OPEN"}},
	}}
	sel, conflicts := p.Selection()
	if len(conflicts) > 0 {
		t.Fatalf("conflicts %v", conflicts)
	}
	tests := []struct {
		event   string
		renames map[string]string
		want    []Selected
	}{
		{"PURCHASE", nil, []Selected{{Index: 0, Key: "PURCHASE", Name: "json"}, {Index: 1, Key: "purchase"}}},
		{"INSTALL", nil, []Selected{{Index: 1, Key: "INSTALL"}}},
		{"OPEN", nil, []Selected{{Index: 3, Key: "OPEN", Name: "custom-json"}}},
		{"signup", map[string]string{"signup": "SIGN_UP"}, []Selected{
			{Index: 2, Key: "custom_event", Custom: true, Rename: "SIGN_UP"},
			{Index: 3, Key: "custom_event", Name: "custom-json", Custom: true, Rename: "SIGN_UP"},
		}},
		{"CLICK", nil, nil},
	}
	for _, tt := range tests {
		var buf [4]Selected
		if got := sel.Select(buf[:0], tt.event, tt.renames); !slices.Equal(got, tt.want) {
			t.Errorf("Select(%q) = %+v, want %+v", tt.event, got, tt.want)
		}
	}
}

func TestSelectionNameConflicts(t *testing.T) {
	tests := []struct {
		name string
		pbs  []Postback
		want []Conflict
	}{
		{"two unnamed postbacks of one event", []Postback{{Events: []string{"PURCHASE"}}, {Events: []string{"purchase"}}},
			[]Conflict{{Postback: 1, Event: 0, First: 0}}},
		{"one unnamed, one named", []Postback{{Events: []string{"PURCHASE"}}, {Name: "b", Events: []string{"purchase"}}}, nil},
		{"two named", []Postback{{Name: "a", Events: []string{"PURCHASE"}}, {Name: "b", Events: []string{"purchase"}}}, nil},
		{"twice in one named postback", []Postback{{Name: "a", Events: []string{"PURCHASE", "Purchase"}}},
			[]Conflict{{Postback: 0, Event: 1, First: 0}}},
		{"a name used twice", []Postback{{Name: "a", Events: []string{"PURCHASE"}}, {Name: "A", Events: []string{"INSTALL"}}},
			[]Conflict{{Postback: 1, Event: -1, First: 0}}},
		{"a name that is an event", []Postback{{Events: []string{"PURCHASE"}}, {Name: "purchase", Events: []string{"INSTALL"}}},
			[]Conflict{{Postback: 1, Event: -1, First: 0}}},
		{"a name that is its own event", []Postback{{Name: "install", Events: []string{"INSTALL"}}},
			[]Conflict{{Postback: 0, Event: -1, First: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := (&Partner{Postbacks: tt.pbs}).Selection()
			if !slices.Equal(got, tt.want) {
				t.Errorf("conflicts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestNameSyntax keeps the documented constant and the schema's pattern
// the same.
func TestNameSyntax(t *testing.T) {
	raw, err := fs.ReadFile(schemas.FS, SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var sch struct {
		Definitions struct {
			Postback struct {
				Properties struct {
					Name struct{ Pattern string }
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &sch); err != nil {
		t.Fatal(err)
	}
	if got := sch.Definitions.Postback.Properties.Name.Pattern; got != NameSyntax {
		t.Errorf("schema pattern %q, NameSyntax %q", got, NameSyntax)
	}
}

func TestSelectAllocs(t *testing.T) {
	p := &Partner{Postbacks: []Postback{{Events: []string{"INSTALL"}}, {Events: []string{"PURCHASE"}}}}
	sel, _ := p.Selection()
	n := testing.AllocsPerRun(100, func() {
		var buf [1]Selected
		if len(sel.Select(buf[:0], "purchase", nil)) != 1 {
			t.Fatal("no selection")
		}
	})
	if n != 0 {
		t.Errorf("Select allocates %v times per call, want 0", n)
	}
}
