package event

import (
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/adgate/adgate/schemas"
)

// reference validates b with gojsonschema, the generic validator the
// compiled one replaces on the hot path, and returns its sorted findings
// (nil when valid).
func reference(t testing.TB, s *gojsonschema.Schema, b []byte) []FieldError {
	t.Helper()
	res, err := s.Validate(gojsonschema.NewBytesLoader(b))
	if err != nil {
		t.Fatalf("gojsonschema on %s: %v", b, err)
	}
	var out []FieldError
	for _, re := range res.Errors() {
		out = append(out, FieldError{Field: re.Field(), Message: re.Description()})
	}
	slices.SortFunc(out, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Message, b.Message))
	})
	return out
}

func referenceSchema(t testing.TB) *gojsonschema.Schema {
	t.Helper()
	b, err := schemas.FS.ReadFile(SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// probes are values of every JSON type and the shapes the schema tells
// apart: integers spelled as fractions, digit strings, enum members.
var probes = []string{
	`null`, `true`, `false`, `0`, `-7`, `1.0`, `1.5`, `1e2`, `2.5e-1`, `551302741529937217`,
	`""`, `"abc"`, `"123"`, `"12a"`, `"IOS"`, `"BRANCH"`, `"CLICK"`, `"ADS"`, `"ios"`,
	`[]`, `[1]`, `["ADS","x"]`, `[null]`, `[{"$price":"x"}]`, `{}`, `{"a":1}`, `{"os":"PALM"}`,
}

// schemaPaths lists every property path the schema declares, with "*" for
// array items and additional properties.
func schemaPaths(node map[string]any, prefix []string, out *[][]string) {
	props, _ := node["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		p := append(slices.Clone(prefix), k)
		*out = append(*out, p)
		sub, _ := props[k].(map[string]any)
		schemaPaths(sub, p, out)
		if items, ok := sub["items"].(map[string]any); ok {
			schemaPaths(items, append(p, "0"), out)
		}
	}
	if ap, ok := node["additionalProperties"].(map[string]any); ok {
		*out = append(*out, append(slices.Clone(prefix), "extra_key"))
		schemaPaths(ap, append(slices.Clone(prefix), "extra_key"), out)
	}
}

// set puts raw at path in doc, creating objects (and one-item arrays for
// "0") on the way.
func set(doc map[string]any, path []string, raw json.RawMessage) {
	cur := doc
	for i, k := range path[:len(path)-1] {
		if path[i+1] == "0" {
			item := map[string]any{}
			cur[k] = []any{item}
			cur = item
			path = slices.Delete(slices.Clone(path), i+1, i+2)
			set(cur, path[i+1:], raw)
			return
		}
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = raw
}

// corpus builds the events the differential test checks: the example
// events, then each with every declared field (and an undeclared one) set
// to every probe, then a few documents that are not events at all.
func corpus(t testing.TB) [][]byte {
	t.Helper()
	var bases [][]byte
	files, _ := filepath.Glob("../../partners/events/*.json")
	files = append(files, "testdata/attributed-open.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, b)
	}
	if len(bases) < 2 {
		t.Fatalf("found %d example events; run from engine/event", len(bases))
	}
	var schema map[string]any
	b, _ := schemas.FS.ReadFile(SchemaFile)
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	schemaPaths(schema, nil, &paths)
	paths = append(paths, []string{"undeclared"}, []string{"user_data", "undeclared"})

	out := slices.Clone(bases)
	for bi, base := range bases {
		for pi, p := range paths {
			for qi, probe := range probes {
				// every path meets every probe on one base, and every
				// base meets every path with a rotating probe
				if bi != 0 && qi != (bi+pi)%len(probes) {
					continue
				}
				var doc map[string]any
				if err := json.Unmarshal(base, &doc); err != nil {
					t.Fatal(err)
				}
				set(doc, p, json.RawMessage(probe))
				b, err := json.Marshal(doc)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
		}
	}
	for _, odd := range []string{
		`{}`, `{"name":null}`, `{"name":""}`, `{"name":1}`, `[]`, `"x"`, `1`, `null`,
		`{"name":"a","name":2}`, `{"name":"a","user_data":{"os":"IOS","os":"PALM"}}`,
		`{"name":"a","dollar_x":1,"custom_data":{"$x":1}}`,
		`{"name":"a","content_items":[{"$price":1},{"$price":"1"},null,[]]}`,
	} {
		out = append(out, []byte(odd))
	}
	return out
}

// TestValidateMatchesGojsonschema checks the compiled validator against
// gojsonschema on the corpus: the same accept/reject decision on every
// document and the same findings, field for field and word for word.
func TestValidateMatchesGojsonschema(t *testing.T) {
	ref := referenceSchema(t)
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	docs := corpus(t)
	invalid := 0
	for _, b := range docs {
		want := reference(t, ref, b)
		if want != nil {
			invalid++
		}
		got := v.Validate(b)
		var ve *ValidationError
		switch {
		case want == nil && got != nil:
			t.Errorf("%s: compiled validator refuses (%v), gojsonschema accepts", b, got)
		case want != nil && !errors.As(got, &ve):
			t.Errorf("%s: compiled validator gives %v, gojsonschema finds %v", b, got, want)
		case want != nil && !slices.Equal(ve.Fields, want):
			t.Errorf("%s:\n got %v\nwant %v", b, ve.Fields, want)
		}
	}
	// the corpus must exercise both decisions, or the comparison proves
	// little
	if invalid < len(docs)/4 || invalid == len(docs) {
		t.Fatalf("corpus of %d documents has %d invalid ones", len(docs), invalid)
	}
	t.Logf("%d documents, %d invalid", len(docs), invalid)
}

// FuzzValidate compares the compiled validator with gojsonschema on any
// JSON document the decoder accepts.
func FuzzValidate(f *testing.F) {
	for _, b := range corpus(f)[:40] {
		f.Add(b)
	}
	f.Add([]byte(`{"name":"a","custom_data":{"k":null,"n":1.0}}`))
	ref := referenceSchema(f)
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		got := v.Validate(b)
		var ve *ValidationError
		if got != nil && !errors.As(got, &ve) {
			return // refused by the decoder (depth, size), as Parse refuses it
		}
		want := reference(t, ref, b)
		switch {
		case want == nil && ve != nil:
			t.Fatalf("compiled validator refuses (%v), gojsonschema accepts", ve)
		case want != nil && (ve == nil || !slices.Equal(ve.Fields, want)):
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

// TestNewValidatorRefusesUnknownKeywords: a schema keyword the compiled
// validator does not implement must stop it, not be skipped.
func TestNewValidatorRefusesUnknownKeywords(t *testing.T) {
	tests := []struct{ name, schema string }{
		{"minLength", `{"type":"string","minLength":1}`},
		{"nested", `{"properties":{"a":{"oneOf":[]}}}`},
		{"number enum", `{"enum":[1]}`},
		{"bad type", `{"type":"float"}`},
		{"not an object", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal([]byte(tt.schema), &doc); err != nil {
				t.Fatal(err)
			}
			if _, err := compile(doc, "#"); err == nil {
				t.Errorf("compile(%s) succeeded", tt.schema)
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	ev, err := os.ReadFile("testdata/attributed-open.json")
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	ref := referenceSchema(b)
	b.Run("compiled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Parse(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gojsonschema+parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res, err := ref.Validate(gojsonschema.NewBytesLoader(ev)); err != nil || !res.Valid() {
				b.Fatal(err)
			}
			if _, err := Parse(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
