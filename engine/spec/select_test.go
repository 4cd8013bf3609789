package spec

import (
	"slices"
	"testing"
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
	want := []EventConflict{
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

func TestSelectionLookup(t *testing.T) {
	p := &Partner{Postbacks: []Postback{{Events: []string{"INSTALL"}}, {Events: []string{"custom_event"}}}}
	sel, _ := p.Selection()
	tests := []struct {
		key  string
		want Selected
		ok   bool
	}{
		{"INSTALL", Selected{Index: 0, Key: "INSTALL"}, true},
		{"install", Selected{Index: 0, Key: "INSTALL"}, true},
		// a key names a postback as declared: no fallback
		{"custom_event", Selected{Index: 1, Key: "custom_event"}, true},
		{"signup", Selected{}, false},
	}
	for _, tt := range tests {
		got, ok := sel.Lookup(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.ok)
		}
		if pb := p.Postback(tt.key); (pb != nil) != tt.ok || (pb != nil && pb != &p.Postbacks[tt.want.Index]) {
			t.Errorf("Postback(%q) = %v, want postback %d (%v)", tt.key, pb, tt.want.Index, tt.ok)
		}
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
