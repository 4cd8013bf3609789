package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// member is one key of an ordered JSON object: the schema keeps the CSV's
// field order so that a reader finds fields where the ontology lists them.
type member struct {
	key string
	val any
}

type object []member

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (o *object) set(key string, val any) {
	for i := range *o {
		if (*o)[i].key == key {
			(*o)[i].val = val
			return
		}
	}
	*o = append(*o, member{key, val})
}

// containers are the nested objects of an event, in the order the schema
// lists them, with the description the CSV has no row for.
type containerDef struct{ name, kind, desc string }

var containers = []containerDef{
	{"last_attributed_touch_data", "object", "Link data of the last attributed touch (click, impression or web-to-app redirect). Besides the fields below it carries every custom deep-link key set on the link, so unknown keys are allowed."},
	{"last_cta_view_data", "object", "Link data of the last Branch CTA view (Journeys, Deepviews). Unknown keys are allowed, as for last_attributed_touch_data."},
	{"user_data", "object", "The user and device the event happened on. Branch adds device fields over time (geo_*, screen_*), so unknown keys are allowed."},
	{"event_data", "object", "Standard commerce fields of the event. Unknown keys are allowed."},
	{"content_items", "array", "Content (Branch Universal Objects) the event concerns, one object per item. Unknown keys are allowed in each item."},
}

// override replaces what the CSV says about one field, by dotted path.
type override struct {
	schema object
	why    string
}

var digits = "^[0-9]+$"

// overrides are the departures from the CSV, each forced by real payloads:
// a schema that rejected them would make the gateway drop real events.
var overrides = map[string]override{
	"id": {object{{"type", []string{"string", "integer"}}},
		"Branch webhooks send the event id as a JSON number of 18-19 digits although the ontology says string; adgate keeps it exact either way."},
	"last_attributed_touch_data.~id": {object{{"type", []string{"integer", "string"}}, {"pattern", digits}},
		"an 18-19 digit integer; some exports send it as a string of digits."},
	"last_cta_view_data.~id": {object{{"type", []string{"integer", "string"}}, {"pattern", digits}},
		"an 18-19 digit integer; some exports send it as a string of digits."},
	"link_click_id": {object{{"type", []string{"integer", "string"}}, {"pattern", digits}},
		"an 18-19 digit integer; some exports send it as a string of digits."},
	"last_attributed_touch_data.+via_features": {nil,
		"a list of features: the ontology's format column says enum, but its definition and Branch's published example send an array."},
	"last_cta_view_data.+via_features": {nil,
		"a list of features, as for last_attributed_touch_data.+via_features."},
	"custom_data": {object{{"type", "object"}, {"additionalProperties", object{{"type", []string{"string", "null"}}}}},
		"values are strings; a null value (a cleared key) is accepted and reads as missing in templates."},
}

// Generate reads the ontology CSV and returns the JSON Schema (draft-07),
// indented, with a trailing newline.
func Generate(r io.Reader) ([]byte, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading CSV: %w", err)
	}
	top := object{}
	nested := map[string]*object{}
	order := append([]containerDef(nil), containers...)
	for _, c := range containers {
		nested[c.name] = &object{}
	}
	seen := map[string]int{}
	fields := 0
	for i, row := range rows {
		line := i + 1
		if len(row) < 3 || row[1] == "" || row[0] == "" || row[0] == "dimension" {
			continue
		}
		name := strings.TrimSpace(row[0])
		container, key, items := splitName(name)
		path := key
		if container != "" {
			path = container + "." + key
		}
		if prev, dup := seen[path]; dup {
			return nil, fmt.Errorf("line %d: field %s already defined on line %d", line, path, prev)
		}
		seen[path] = line
		if key == "custom_fields" {
			// The ontology says custom fields are not an object of their own:
			// their keys sit beside the others, which additionalProperties allows.
			continue
		}
		array := strings.HasSuffix(key, "[]")
		key = strings.TrimSuffix(key, "[]")
		path = strings.TrimSuffix(path, "[]")
		typ, err := fieldType(row[1], items, array)
		if err != nil {
			return nil, fmt.Errorf("line %d: field %s: %w", line, name, err)
		}
		desc := clean(row[2])
		if ov, ok := overrides[path]; ok {
			switch {
			case ov.schema != nil:
				typ = append(object{}, ov.schema...)
			case strings.HasSuffix(path, "+via_features"):
				typ = object{{"type", "array"}, {"items", typ}}
			}
			desc += " (adgate: " + ov.why + ")"
		}
		prop := append(object{{"description", desc}}, typ...)
		switch {
		case container == "":
			top.set(key, prop)
		case nested[container] == nil:
			// A nested object this generator does not know yet: keep it,
			// open like the others, rather than fail on a newer ontology.
			nested[container] = &object{{key, prop}}
			order = append(order, containerDef{container, "object", "Nested object " + container + " of the event."})
		default:
			nested[container].set(key, prop)
		}
		fields++
	}
	if fields == 0 {
		return nil, errors.New("no field rows found: is this Branch's event-ontology.csv?")
	}
	for _, c := range order {
		var s object
		switch c.kind {
		case "array":
			s = object{{"description", c.desc}, {"type", "array"}, {"items", object{
				{"type", "object"}, {"properties", *nested[c.name]}, {"additionalProperties", true}}}}
		default:
			s = object{{"description", c.desc}, {"type", "object"}, {"properties", *nested[c.name]}, {"additionalProperties", true}}
		}
		top.set(c.name, s)
	}
	schema := object{
		{"$schema", "http://json-schema.org/draft-07/schema#"},
		{"$id", "https://github.com/adgate/adgate/schemas/event.schema.json"},
		{"title", "Branch event"},
		{"description", "A Branch Event Ontology event, the JSON body Branch webhooks POST. Generated from Branch's event-ontology.csv by engine/event/internal/schemagen (go generate ./engine/event); do not edit by hand. Fields are typed as the ontology says, except where a note marked 'adgate:' explains why real payloads force a wider type. Branch adds fields over time, so unknown keys are allowed at every level."},
		{"type", "object"},
		{"required", []string{"name"}},
		{"properties", top},
		{"additionalProperties", true},
	}
	out, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// splitName maps a flattened ontology name onto the event's shape:
// user_data_os -> (user_data, os); last_attributed_touch_data_tilde_id ->
// (last_attributed_touch_data, ~id); content_items[].$sku -> (content_items,
// $sku, items). A name segment ending in "_data" is a nested object; the
// tilde_/dollar_/plus_ spellings stand for Branch's ~ $ + key prefixes.
func splitName(flat string) (container, key string, items bool) {
	if rest, ok := strings.CutPrefix(flat, "content_items[]."); ok {
		return "content_items", rest, true
	}
	if i := strings.Index(flat, "_data_"); i >= 0 {
		container, key = flat[:i+len("_data")], flat[i+len("_data_"):]
		for _, s := range []struct{ word, sigil string }{{"tilde_", "~"}, {"dollar_", "$"}, {"plus_", "+"}} {
			if rest, ok := strings.CutPrefix(key, s.word); ok {
				key = s.sigil + rest
				break
			}
		}
		return container, key, false
	}
	return "", flat, false
}

// fieldType maps the CSV's format column to schema keywords. In
// content_items rows the format array[T] describes the column across items,
// so each item holds a T; a name ending in [] holds a list of T per item.
func fieldType(format string, items, array bool) (object, error) {
	format = strings.TrimSpace(format)
	if items {
		if inner, ok := strings.CutPrefix(format, "array["); ok {
			format = strings.TrimSuffix(inner, "]")
		}
	}
	var t object
	switch {
	case format == "string":
		t = object{{"type", "string"}}
	case format == "int":
		t = object{{"type", "integer"}}
	case format == "double":
		t = object{{"type", "number"}}
	case format == "boolean":
		t = object{{"type", "boolean"}}
	case strings.HasPrefix(format, "enum"):
		body := strings.TrimSpace(strings.TrimPrefix(format, "enum"))
		if !strings.HasPrefix(body, "{") || !strings.HasSuffix(body, "}") {
			return nil, fmt.Errorf("malformed enum %q", format)
		}
		var vals []string
		for v := range strings.SplitSeq(body[1:len(body)-1], ",") {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("empty enum %q", format)
		}
		t = object{{"type", "string"}, {"enum", vals}}
	case strings.HasPrefix(format, "array[") && strings.HasSuffix(format, "]"):
		inner, err := fieldType(format[len("array["):len(format)-1], false, false)
		if err != nil {
			return nil, err
		}
		t = object{{"type", "array"}, {"items", inner}}
	case strings.HasPrefix(format, "map[string->") && strings.HasSuffix(format, "]"):
		inner, err := fieldType(format[len("map[string->"):len(format)-1], false, false)
		if err != nil {
			return nil, err
		}
		t = object{{"type", "object"}, {"additionalProperties", inner}}
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	if array {
		t = object{{"type", "array"}, {"items", t}}
	}
	return t, nil
}

// clean folds the CSV's multi-line definitions onto one line.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }
