package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const corpusCSV = "../../../../../shared/corpus/event-ontology.csv"

// TestCommittedSchemaIsCurrent catches a hand edit of the schema, or a
// generator change that was not followed by go generate.
func TestCommittedSchemaIsCurrent(t *testing.T) {
	csvBytes, err := os.ReadFile(corpusCSV)
	if os.IsNotExist(err) {
		t.Skipf("corpus absent: %s not found; CI has it", corpusCSV)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := Generate(bytes.NewReader(csvBytes))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "schemas", "event.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("schemas/event.schema.json is not what the generator writes: run go generate ./engine/event")
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		flat, container, key string
		items                bool
	}{
		{"name", "", "name", false},
		{"last_attributed_touch_type", "", "last_attributed_touch_type", false},
		{"last_attributed_touch_data_tilde_campaign", "last_attributed_touch_data", "~campaign", false},
		{"last_attributed_touch_data_dollar_3p", "last_attributed_touch_data", "$3p", false},
		{"last_cta_view_data_plus_via_features", "last_cta_view_data", "+via_features", false},
		{"user_data_developer_identity", "user_data", "developer_identity", false},
		{"event_data_revenue", "event_data", "revenue", false},
		{"content_items[].$keywords[]", "content_items", "$keywords[]", true},
		{"custom_data", "", "custom_data", false},
	}
	for _, tt := range tests {
		c, k, items := splitName(tt.flat)
		if c != tt.container || k != tt.key || items != tt.items {
			t.Errorf("splitName(%q) = %q, %q, %v; want %q, %q, %v", tt.flat, c, k, items, tt.container, tt.key, tt.items)
		}
	}
}

func TestFieldType(t *testing.T) {
	tests := []struct {
		format       string
		items, array bool
		want         string
		wantErr      bool
	}{
		{format: "string", want: `{"type":"string"}`},
		{format: "int", want: `{"type":"integer"}`},
		{format: "double", want: `{"type":"number"}`},
		{format: "boolean", want: `{"type":"boolean"}`},
		{format: "enum { A, B }", want: `{"type":"string","enum":["A","B"]}`},
		{format: "array[string]", want: `{"type":"array","items":{"type":"string"}}`},
		{format: "array[double]", items: true, want: `{"type":"number"}`},
		{format: "array[string]", items: true, array: true, want: `{"type":"array","items":{"type":"string"}}`},
		{format: "map[string->string]", want: `{"type":"object","additionalProperties":{"type":"string"}}`},
		{format: "float128", wantErr: true},
		{format: "enum {}", wantErr: true},
		{format: "enum A, B", wantErr: true},
	}
	for _, tt := range tests {
		got, err := fieldType(tt.format, tt.items, tt.array)
		if tt.wantErr {
			if err == nil {
				t.Errorf("fieldType(%q) succeeded, want error", tt.format)
			}
			continue
		}
		if err != nil {
			t.Errorf("fieldType(%q): %v", tt.format, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != tt.want {
			t.Errorf("fieldType(%q) = %s, want %s", tt.format, b, tt.want)
		}
	}
}

func TestGenerateSmallCSV(t *testing.T) {
	csvText := "dimension,format,definition\n" +
		"id,string,the id\n" +
		"user_data_os,\"enum { IOS, ANDROID }\",\"the\nos\"\n" +
		"last_attributed_touch_data_custom_fields,string,kept beside\n" +
		"content_items[].$price,array[double],price\n"
	out, err := Generate(strings.NewReader(csvText))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties map[string]struct {
			Type       any            `json:"type"`
			Properties map[string]any `json:"properties"`
			Items      struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"items"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Properties["user_data"].Properties["os"]; !ok {
		t.Errorf("user_data.os missing: %s", out)
	}
	if len(s.Properties["last_attributed_touch_data"].Properties) != 0 {
		t.Errorf("custom_fields became a property: %s", out)
	}
	if got := s.Properties["content_items"].Items.Properties["$price"]["type"]; got != "number" {
		t.Errorf("content_items[].$price type = %v, want number", got)
	}
	if !strings.Contains(string(out), `"description": "the os"`) {
		t.Errorf("multi-line definition not folded: %s", out)
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"a,b\n",
		"x,float128,desc\n",
		"x,string,one\nx,string,two\n",
		"\"unterminated,string,desc\n",
	} {
		if _, err := Generate(strings.NewReader(in)); err == nil {
			t.Errorf("Generate(%q) succeeded, want error", in)
		}
	}
}

func FuzzGenerate(f *testing.F) {
	f.Add("id,string,the id\nuser_data_os,\"enum { IOS }\",os\n")
	f.Add("content_items[].$k[],array[string],k\ncustom_data,map[string->string],m\n")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Generate(strings.NewReader(in))
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON for %q", in)
		}
	})
}
