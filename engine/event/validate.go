package event

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/adgate/adgate/engine/template"
	"github.com/adgate/adgate/schemas"
)

// SchemaFile is the event schema's name in schemas.FS.
const SchemaFile = "event.schema.json"

// Validator checks events against schemas/event.schema.json. Compile it
// once; it is safe for concurrent use.
//
// The gateway validates every ingested event, so the schema is compiled
// into a tree of checks that runs over the decoded template.Value: an
// event costs one decode and one walk, not a second pass through a
// generic JSON Schema validator. The checks are the draft-07 keywords
// schemagen emits (type, enum, pattern, properties, required,
// additionalProperties, items), with gojsonschema's decisions and
// messages; NewValidator refuses a schema using any other keyword rather
// than ignoring it.
type Validator struct {
	root *check
}

// typeSet is a set of JSON Schema types, one bit each.
type typeSet uint8

const (
	tString typeSet = 1 << iota
	tInteger
	tNumber
	tBoolean
	tObject
	tArray
	tNull
)

var typeBits = map[string]typeSet{
	"string": tString, "integer": tInteger, "number": tNumber, "boolean": tBoolean,
	"object": tObject, "array": tArray, "null": tNull,
}

// check is one compiled subschema.
type check struct {
	types    typeSet
	expected string // the type list as gojsonschema prints it
	// enum holds the allowed strings; allowed is the list as gojsonschema
	// prints it (each value JSON-encoded).
	enum    []string
	allowed string
	pattern *regexp.Regexp

	props    map[string]*check
	required []string
	// denyExtra refuses members props does not name; extra, when set,
	// checks them instead.
	denyExtra bool
	extra     *check
	items     *check
}

// annotations are keywords that describe and never constrain.
var annotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true,
	"default": true, "examples": true,
}

// NewValidator compiles the embedded event schema.
func NewValidator() (*Validator, error) {
	b, err := fs.ReadFile(schemas.FS, SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", SchemaFile, err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("compiling %s: %w", SchemaFile, err)
	}
	root, err := compile(doc, "#")
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", SchemaFile, err)
	}
	return &Validator{root: root}, nil
}

func compile(doc any, at string) (*check, error) {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a subschema must be an object", at)
	}
	c := &check{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first unsupported keyword reported is always the same
	for _, k := range keys {
		v := m[k]
		var err error
		switch {
		case annotations[k]:
		case k == "type":
			err = c.compileType(v, at)
		case k == "enum":
			err = c.compileEnum(v, at)
		case k == "pattern":
			p, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s/pattern: want a string", at)
			}
			c.pattern, err = regexp.Compile(p)
		case k == "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s/properties: want an object", at)
			}
			c.props = make(map[string]*check, len(props))
			for name, sub := range props {
				if c.props[name], err = compile(sub, at+"/properties/"+name); err != nil {
					return nil, err
				}
			}
		case k == "required":
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s/required: want an array", at)
			}
			for _, r := range list {
				s, ok := r.(string)
				if !ok {
					return nil, fmt.Errorf("%s/required: want strings", at)
				}
				c.required = append(c.required, s)
			}
		case k == "additionalProperties":
			switch ap := v.(type) {
			case bool:
				c.denyExtra = !ap
			default:
				c.extra, err = compile(ap, at+"/additionalProperties")
			}
		case k == "items":
			c.items, err = compile(v, at+"/items")
		default:
			return nil, fmt.Errorf("%s: keyword %q is not supported by the event validator; extend engine/event/validate.go with it", at, k)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *check) compileType(v any, at string) error {
	var names []string
	switch t := v.(type) {
	case string:
		names = []string{t}
	case []any:
		for _, n := range t {
			s, ok := n.(string)
			if !ok {
				return fmt.Errorf("%s/type: want type names", at)
			}
			names = append(names, s)
		}
	default:
		return fmt.Errorf("%s/type: want a type name or a list of them", at)
	}
	for _, n := range names {
		bit, ok := typeBits[n]
		if !ok {
			return fmt.Errorf("%s/type: unknown type %q", at, n)
		}
		c.types |= bit
	}
	c.expected = names[0]
	if len(names) > 1 {
		c.expected = "[" + strings.Join(names, ",") + "]"
	}
	return nil
}

func (c *check) compileEnum(v any, at string) error {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return fmt.Errorf("%s/enum: want a non-empty array", at)
	}
	quoted := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return fmt.Errorf("%s/enum: only string values are supported by the event validator", at)
		}
		c.enum = append(c.enum, s)
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("%s/enum: %w", at, err)
		}
		quoted[i] = string(b)
	}
	c.allowed = strings.Join(quoted, ", ")
	return nil
}

// FieldError is one schema violation, at a dotted field path
// ("user_data.os", "content_items.0.$price"; "(root)" for the event itself).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return e.Field + ": " + e.Message }

// ValidationError lists every violation found in one event.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.String()
	}
	return "event does not match schemas/" + SchemaFile + ": " + strings.Join(msgs, "; ")
}

// Validate checks one event's JSON. It returns a *ValidationError naming
// every offending field, or another error when b is not JSON at all.
func (v *Validator) Validate(b []byte) error {
	val, err := template.ParseJSON(b)
	if err != nil {
		return fmt.Errorf("decoding event JSON: %w", err)
	}
	if ve := v.Check(val); ve != nil {
		return ve
	}
	return nil
}

// Parse decodes and validates one event: Parse of the package and
// Validate in one pass over the bytes. The error is a *ValidationError
// naming every offending field, or the decoder's error when b is not JSON
// (or not an event Parse accepts).
func (v *Validator) Parse(b []byte) (*Event, error) {
	val, err := template.ParseJSON(b)
	if err != nil {
		return nil, fmt.Errorf("decoding event JSON: %w", err)
	}
	return v.ParseValue(val)
}

// ParseValue is Parse for an event already decoded by template.ParseJSON
// or template.ParseJSONSeq, so a caller that had to decode the bytes
// anyway (the gateway splitting a batch) does not decode them twice.
func (v *Validator) ParseValue(val template.Value) (*Event, error) {
	if ve := v.Check(val); ve != nil {
		return nil, ve
	}
	return FromValue(val)
}

// Check validates an already decoded event value and returns nil or the
// violations. A JSON null is a present member whose value is missing, as
// template.ParseJSON decodes it.
func (v *Validator) Check(val template.Value) *ValidationError {
	// The path to the member being checked lives on this stack, spelled
	// out only for an error, so a valid event costs no path strings and
	// no allocations for it; events are a few levels deep.
	var segs [16]segment
	w := walker{path: segs[:0]}
	w.check(v.root, val)
	if len(w.errs) == 0 {
		return nil
	}
	// the same event always gets the same message
	slices.SortFunc(w.errs, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Message, b.Message))
	})
	return &ValidationError{Fields: w.errs}
}

type walker struct {
	errs []FieldError
	// path is where the walk is: one segment per member entered.
	path []segment
}

// segment is one step of a member's location: an object key, or an array
// index when key is "" and idx >= 0.
type segment struct {
	key string
	idx int
}

// at spells the current path as gojsonschema does, without its "(root)."
// prefix ("user_data.os", "content_items.0.$price", "(root)").
func (w *walker) at() string {
	if len(w.path) == 0 {
		return "(root)"
	}
	segs := make([]string, len(w.path))
	for i, g := range w.path {
		if g.key != "" || g.idx < 0 {
			segs[i] = g.key
		} else {
			segs[i] = strconv.Itoa(g.idx)
		}
	}
	return strings.Join(segs, ".")
}

func (w *walker) add(msg string) {
	w.errs = append(w.errs, FieldError{Field: w.at(), Message: msg})
}

// kindType returns the JSON Schema type of a decoded value (a missing
// value found in a document is a null); every number is a "number" here.
func kindType(val template.Value) typeSet {
	switch val.Kind() {
	case template.KindString:
		return tString
	case template.KindNumber:
		return tNumber
	case template.KindBool:
		return tBoolean
	case template.KindHash:
		return tObject
	case template.KindSeq:
		return tArray
	}
	return tNull
}

// isIntegral reports whether a number's exact decimal text is a whole
// number (1.0 is: JSON Schema types by value, not by spelling).
func isIntegral(text string) bool {
	dot := strings.IndexByte(text, '.')
	if dot < 0 {
		return true
	}
	return strings.Trim(text[dot+1:], "0") == ""
}

var typeNames = map[typeSet]string{
	tString: "string", tInteger: "integer", tNumber: "number", tBoolean: "boolean",
	tObject: "object", tArray: "array", tNull: "null",
}

// check applies c to val at the path, in gojsonschema's order: a wrong
// type stops there; then enum, pattern (strings only), object and array
// members.
func (w *walker) check(c *check, val template.Value) {
	t := kindType(val)
	if c.types != 0 {
		if t == tNumber && c.types&tNumber == 0 && isIntegral(val.NumberText()) {
			t = tInteger // the exact text is read only where it decides
		}
		if c.types&t == 0 {
			w.add("Invalid type. Expected: " + c.expected + ", given: " + typeNames[t])
			return
		}
	}
	if c.enum != nil {
		s, isStr := "", t == tString
		if isStr {
			s, _ = val.AsString()
		}
		if !isStr || !slices.Contains(c.enum, s) {
			w.add(w.at() + " must be one of the following: " + c.allowed)
		}
	}
	switch t {
	case tString:
		if c.pattern != nil {
			if s, _ := val.AsString(); !c.pattern.MatchString(s) {
				w.add("Does not match pattern '" + c.pattern.String() + "'")
			}
		}
	case tObject:
		w.object(c, val)
	case tArray:
		if c.items != nil {
			for i := range val.Len() {
				w.path = append(w.path, segment{idx: i})
				w.check(c.items, val.Index(i))
				w.path = w.path[:len(w.path)-1]
			}
		}
	}
}

func (w *walker) object(c *check, val template.Value) {
	keys := val.Keys()
	for _, r := range c.required {
		if !slices.Contains(keys, r) {
			w.add(r + " is required")
		}
	}
	for _, k := range keys {
		sub, declared := c.props[k]
		switch {
		case declared:
		case c.extra != nil:
			sub = c.extra
		case c.denyExtra:
			// gojsonschema names the object, not the member
			w.add("Additional property " + k + " is not allowed")
			continue
		default:
			continue
		}
		// Get finds the member's own value: a real key wins over an alias
		w.path = append(w.path, segment{key: k, idx: -1})
		w.check(sub, val.Get(k))
		w.path = w.path[:len(w.path)-1]
	}
}
