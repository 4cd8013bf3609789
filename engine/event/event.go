package event

import (
	"fmt"
	"strings"

	"github.com/adgate/adgate/engine/template"
)

// Event is one decoded Branch event. Numbers are exact (18-19 digit ids
// print back digit for digit), key order is kept, and a JSON null reads as
// missing, as FreeMarker sees it. An Event is immutable and safe to share.
type Event struct {
	v    template.Value
	name string
}

// Parse decodes a Branch event from its JSON bytes. It checks the shape
// every later step relies on (a JSON object with a non-empty string name);
// field types are checked by Validator, against schemas/event.schema.json.
func Parse(b []byte) (*Event, error) {
	return fromJSON(template.ParseJSON(b))
}

// fromJSON wraps a decoded document, or words the decoder's error, for
// Parse and ParseSelected alike.
func fromJSON(v template.Value, err error) (*Event, error) {
	if err != nil {
		return nil, fmt.Errorf("decoding event JSON: %w", err)
	}
	return FromValue(v)
}

// Empty returns an event with no fields, not even a name: the data model
// of a template evaluated with no event (adgate eval without --event), in
// which every event field is missing. It is for evaluation only; nothing
// is rendered or sent for it.
func Empty() *Event { return &Event{v: template.NewHash(nil, nil)} }

// FromValue wraps an already decoded event.
func FromValue(v template.Value) (*Event, error) {
	if v.Kind() != template.KindHash {
		return nil, fmt.Errorf("event: the JSON document is a %s, want an object", v.Kind())
	}
	n := v.Get("name")
	name, _ := n.AsString()
	if n.Kind() != template.KindString || name == "" {
		return nil, fmt.Errorf("event: field name must be a non-empty string, got %s", n.Kind())
	}
	return &Event{v: v, name: name}, nil
}

// Name is the event's name as sent ("INSTALL", "open", "add_to_wishlist").
func (e *Event) Name() string { return e.name }

// ID returns the event id exactly as sent (a JSON number or string), or ""
// when the event has none.
func (e *Event) ID() string {
	id := e.v.Get("id")
	switch id.Kind() {
	case template.KindNumber:
		return id.NumberText()
	case template.KindString:
		s, _ := id.AsString()
		return s
	}
	return ""
}

// Value is the whole event as a template value.
func (e *Event) Value() template.Value { return e.v }

// Lookup returns the value at a dotted path such as user_data.aaid or
// last_attributed_touch_data.~click_id, or missing.
func (e *Event) Lookup(path string) template.Value { return ParsePath(path).Lookup(e.v) }

// Path is a parsed dotted path into a data model. Parsing once and looking
// up many times keeps string splitting off the rendering path.
type Path []string

// ParsePath splits a dotted path. Branch's key prefixes need no escaping:
// ~campaign, $3p and +url are ordinary segments, and the dollar_/tilde_/plus_
// spellings resolve to them (see template.Value.Get).
func ParsePath(s string) Path {
	if s == "" {
		return nil
	}
	return Path(strings.Split(s, "."))
}

// Lookup walks the path from v; a missing step, or a step into a value
// that is not a hash, gives missing.
func (p Path) Lookup(v template.Value) template.Value {
	if found, depth := v.Lookup(p...); depth == len(p) {
		return found
	}
	return template.Missing()
}

func (p Path) String() string { return strings.Join(p, ".") }

// IsLifecycle reports whether an event name is one of Branch's lifecycle
// events (install, reinstall, open, click, impression, web session start,
// pageview), in any case and with '_' or ' ' between words. Such events
// never fall back to a partner's custom_event postback.
func IsLifecycle(name string) bool {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", " ") {
	case "install", "reinstall", "open", "click", "impression", "web session start", "pageview":
		return true
	}
	return false
}
