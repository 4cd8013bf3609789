package spec

import (
	"strings"

	"github.com/adgate/adgate/engine/event"
)

// This file is the postback selection rule: which postbacks of a partner
// an event triggers. The renderer, the gateway's planner and the lint all
// go through it, so a change to the rule is made here once.
//
// An event may trigger several postbacks (a GET for every PURCHASE and a
// JSON POST with the basket). Among the postbacks listing one event, at
// most one may be unnamed; the others carry a name, unique within the
// partner. The unnamed one is known by the event alone, as every postback
// was before names existed, so its gateway id does not change; a named one
// is known by (event, name). A name is therefore required exactly when an
// event would otherwise have two postbacks with the same identity.

// Selected is one postback an event triggers.
type Selected struct {
	// Index is the postback's index in Partner.Postbacks.
	Index int
	// Key is the postback key: the event name as the spec declares it
	// (INSTALL for an event named "install"; custom_event, as declared,
	// for the fallback).
	Key string
	// Name is the postback's name, "" for an unnamed postback.
	Name string
	// Custom reports the custom_event fallback: the event has no postback
	// of its own.
	Custom bool
	// Rename is the name the partner is to see instead of the event's,
	// from the app's custom event mapping; "" keeps the event's name.
	Rename string
	// Unmapped reports a custom event the app's mapping leaves out: the
	// app maps its custom events, so this one is not sent.
	Unmapped bool
}

// Ref is how a user names the selected postback: its name, or its key
// when it has none.
func (s Selected) Ref() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Key
}

// Selection is a partner's postback selection, built once from its spec
// (Partner.Selection) and then safe for concurrent use.
type Selection struct {
	// keys are the declared (event, postback) listings in spec order; a
	// listing in conflict (see Conflict) is left out.
	keys []Selected
	// hasCustom: some postback lists custom_event.
	hasCustom bool
}

// Conflict is a listing that would make a postback's identity ambiguous,
// so the spec cannot be run: an event listed twice in one postback or in
// two unnamed postbacks (Event >= 0: Postbacks[Postback].Events[Event] is
// the second listing), or a postback name (Event < 0) used by another
// postback or equal to an event the partner lists. First is the postback
// holding the first listing or name.
type Conflict struct {
	Postback, Event, First int
}

// sameEvent is how an event name matches a declared event: Branch sends
// both "open" and "INSTALL", so case does not count.
func sameEvent(declared, name string) bool { return strings.EqualFold(declared, name) }

// Selection builds the partner's selection rule, with the listings in
// conflict, which it leaves out (the first listing wins).
func (p *Partner) Selection() (*Selection, []Conflict) {
	s := &Selection{}
	var conflicts []Conflict
	for i := range p.Postbacks {
		pb := &p.Postbacks[i]
		for j, ev := range pb.Events {
			if first := s.conflicting(i, ev, pb.Name); first >= 0 {
				conflicts = append(conflicts, Conflict{Postback: i, Event: j, First: first})
				continue
			}
			if sameEvent(ev, CustomEvent) {
				s.hasCustom = true
			}
			s.keys = append(s.keys, Selected{Index: i, Key: ev, Name: pb.Name})
		}
	}
	for i := range p.Postbacks {
		if first := p.nameConflict(i); first >= 0 {
			conflicts = append(conflicts, Conflict{Postback: i, Event: -1, First: first})
		}
	}
	return s, conflicts
}

// conflicting returns the postback that already lists event ev in a way
// postback i (named name) may not list it again, or -1.
func (s *Selection) conflicting(i int, ev, name string) int {
	for _, k := range s.keys {
		if sameEvent(k.Key, ev) && (k.Index == i || k.Name == "" && name == "") {
			return k.Index
		}
	}
	return -1
}

// nameConflict returns the postback whose name, or an event of which,
// postback i's name repeats, or -1. Names and event keys share one
// namespace (Find looks a reference up in both), so they must not meet.
func (p *Partner) nameConflict(i int) int {
	name := p.Postbacks[i].Name
	if name == "" {
		return -1
	}
	for k := range p.Postbacks {
		if k < i && strings.EqualFold(p.Postbacks[k].Name, name) {
			return k
		}
		for _, ev := range p.Postbacks[k].Events {
			if sameEvent(ev, name) {
				return k
			}
		}
	}
	return -1
}

// Find appends to dst the postbacks ref names, as when a user asks for
// postbacks by name (render --postback), and returns the extended slice:
// the postback named ref, or else every postback declaring the event ref,
// in spec order (case-insensitively both). A postback found by name has
// its first event as Key.
func (s *Selection) Find(dst []Selected, ref string) []Selected {
	for _, k := range s.keys {
		if k.Name != "" && strings.EqualFold(k.Name, ref) {
			return append(dst, k)
		}
	}
	for _, k := range s.keys {
		if sameEvent(k.Key, ref) {
			dst = append(dst, k)
		}
	}
	return dst
}

// Keys returns the reference (Selected.Ref) of every postback listing in
// spec order, each once: event keys for unnamed postbacks, names for
// named ones.
func (s *Selection) Keys() []string {
	out := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		ref := k.Ref()
		dup := false
		for _, o := range out {
			dup = dup || strings.EqualFold(o, ref)
		}
		if !dup {
			out = append(out, ref)
		}
	}
	return out
}

// Select appends to dst the postbacks an event named name triggers, in
// spec order, and returns the extended slice; a caller passing a small
// array's slice selects without allocating. An event triggers every
// postback that declares its name, compared case-insensitively; failing
// that, an event that is not a lifecycle event (event.IsLifecycle)
// triggers every custom_event postback.
//
// renames is an app's custom event mapping (lower-cased event name -> the
// name the partner sees), nil when the app has none. With a mapping, a
// custom event it lists is renamed (Selected.Rename) and one it leaves out
// is selected as Unmapped, so that the caller can say why it is not sent.
func (s *Selection) Select(dst []Selected, name string, renames map[string]string) []Selected {
	n := len(dst)
	for _, k := range s.keys {
		if sameEvent(k.Key, name) {
			dst = append(dst, k)
		}
	}
	if len(dst) > n || !s.hasCustom || event.IsLifecycle(name) {
		return dst
	}
	for _, k := range s.keys {
		if !sameEvent(k.Key, CustomEvent) {
			continue
		}
		k.Custom = true
		if renames != nil {
			to, ok := renames[strings.ToLower(name)]
			switch {
			case !ok:
				k.Unmapped = true
			case to != name:
				k.Rename = to
			}
		}
		dst = append(dst, k)
	}
	return dst
}

// Postback returns the first postback declared for event (matched as
// Select matches names), or nil.
func (p *Partner) Postback(event string) *Postback {
	for i := range p.Postbacks {
		for _, e := range p.Postbacks[i].Events {
			if sameEvent(e, event) {
				return &p.Postbacks[i]
			}
		}
	}
	return nil
}
