package spec

import (
	"strings"

	"github.com/adgate/adgate/engine/event"
)

// This file is the postback selection rule: which postbacks of a partner
// an event triggers. The renderer, the gateway's planner and the lint all
// go through it, so a change to the rule (several postbacks per event, say)
// is made here once.

// Selected is one postback an event triggers.
type Selected struct {
	// Index is the postback's index in Partner.Postbacks.
	Index int
	// Key is the postback key: the event name as the spec declares it
	// (INSTALL for an event named "install"; custom_event, as declared,
	// for the fallback).
	Key string
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

// Selection is a partner's postback selection, built once from its spec
// (Partner.Selection) and then safe for concurrent use.
type Selection struct {
	// keys are the declared events in spec order; an event name that
	// appears again (an EventConflict) keeps its first postback.
	keys []Selected
	// custom indexes keys at the custom_event postback, -1 without one.
	custom int
}

// EventConflict is an event listed in two postbacks, or twice in one: its
// postback key would be ambiguous. Postbacks[Postback].Events[Event] is the
// second listing; First is the postback that listed it first.
type EventConflict struct {
	Postback, Event, First int
}

// sameEvent is how an event name matches a declared event: Branch sends
// both "open" and "INSTALL", so case does not count.
func sameEvent(declared, name string) bool { return strings.EqualFold(declared, name) }

// Selection builds the partner's selection rule, with the events listed
// more than once (the first listing wins).
func (p *Partner) Selection() (*Selection, []EventConflict) {
	s := &Selection{custom: -1}
	var conflicts []EventConflict
	for i := range p.Postbacks {
		for j, ev := range p.Postbacks[i].Events {
			if first, dup := s.Lookup(ev); dup {
				conflicts = append(conflicts, EventConflict{Postback: i, Event: j, First: first.Index})
				continue
			}
			if sameEvent(ev, CustomEvent) {
				s.custom = len(s.keys)
			}
			s.keys = append(s.keys, Selected{Index: i, Key: ev})
		}
	}
	return s, conflicts
}

// Lookup finds the postback declared under key (case-insensitively), as
// when a user asks for one postback by name.
func (s *Selection) Lookup(key string) (Selected, bool) {
	// A partner declares a handful of events, so comparing with EqualFold
	// beats lower-casing the name (an allocation per event) for a map.
	for _, k := range s.keys {
		if sameEvent(k.Key, key) {
			return k, true
		}
	}
	return Selected{}, false
}

// Keys returns every postback key in spec order.
func (s *Selection) Keys() []string {
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		out[i] = k.Key
	}
	return out
}

// Select appends to dst the postbacks an event named name triggers, in
// spec order, and returns the extended slice; a caller passing a small
// array's slice selects without allocating. Today an event triggers at
// most one postback: the one that declares its name, compared
// case-insensitively; failing that, an event that is not a lifecycle event
// (event.IsLifecycle) triggers the custom_event postback, if any.
//
// renames is an app's custom event mapping (lower-cased event name -> the
// name the partner sees), nil when the app has none. With a mapping, a
// custom event it lists is renamed (Selected.Rename) and one it leaves out
// is selected as Unmapped, so that the caller can say why it is not sent.
func (s *Selection) Select(dst []Selected, name string, renames map[string]string) []Selected {
	if k, ok := s.Lookup(name); ok {
		return append(dst, k)
	}
	if s.custom < 0 || event.IsLifecycle(name) {
		return dst
	}
	k := s.keys[s.custom]
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
	return append(dst, k)
}

// Postback returns the postback declared for event (matched as Select
// matches names), or nil.
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
