package event

import (
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/xeipuuv/gojsonschema"

	"github.com/adgate/adgate/schemas"
)

// SchemaFile is the event schema's name in schemas.FS.
const SchemaFile = "event.schema.json"

// Validator checks event JSON against schemas/event.schema.json. Compile it
// once; it is safe for concurrent use.
type Validator struct {
	schema *gojsonschema.Schema
}

// NewValidator compiles the embedded event schema.
func NewValidator() (*Validator, error) {
	b, err := fs.ReadFile(schemas.FS, SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", SchemaFile, err)
	}
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(b))
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", SchemaFile, err)
	}
	return &Validator{schema: s}, nil
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
	res, err := v.schema.Validate(gojsonschema.NewBytesLoader(b))
	if err != nil {
		return fmt.Errorf("validating event: %w", err)
	}
	if res.Valid() {
		return nil
	}
	ve := &ValidationError{}
	for _, re := range res.Errors() {
		ve.Fields = append(ve.Fields, FieldError{Field: re.Field(), Message: re.Description()})
	}
	// gojsonschema reports in map order; sort so that the same event
	// always gets the same message.
	slices.SortFunc(ve.Fields, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Message, b.Message))
	})
	return ve
}
