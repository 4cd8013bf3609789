package template

import (
	"os"
	"strings"
	"testing"
)

func benchTemplate(b *testing.B, file string, opt Options) (*Template, Value) {
	b.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	tp, err := Parse(file, string(src), opt)
	if err != nil {
		b.Fatal(err)
	}
	return tp, loadEvent(b)
}

// BenchmarkExecuteCriteoURL renders Criteo's INSTALL URL (conditionals,
// <@loop>, <@json>, <@jsonmap>, <@urlencode>) from a decoded event; the
// figure to compare with the oracle's --bench on the same template.
func BenchmarkExecuteCriteoURL(b *testing.B) {
	tp, root := benchTemplate(b, "testdata/golden/criteo_install.ftl", Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.ExecuteString(root, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteCleverTapURL renders a URL of plain interpolations,
// defaults and built-ins with {macros} written by ExecOptions.Macro.
func BenchmarkExecuteCleverTapURL(b *testing.B) {
	opt := Options{IsMacro: func(n string) bool { return n == "account_id" }}
	tp, root := benchTemplate(b, "testdata/golden/clevertap_url.ftl", opt)
	eo := &ExecOptions{Macro: func(w *strings.Builder, name string) error {
		w.WriteString("ACC-123")
		return nil
	}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.ExecuteString(root, eo); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJSON decodes the sample event.
func BenchmarkParseJSON(b *testing.B) {
	src, err := os.ReadFile("testdata/event.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCriteo compiles the Criteo template (done once per spec
// load, not per event).
func BenchmarkParseCriteo(b *testing.B) {
	src, err := os.ReadFile("testdata/golden/criteo_install.ftl")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("criteo", string(src), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteTimestampSeconds is the catalog's EVENT_TIMESTAMP
// template: exact division, then ?floor (through a double) and ?c.
func BenchmarkExecuteTimestampSeconds(b *testing.B) {
	tp, err := Parse("ts", `<#if timestamp??>${(timestamp / 1000)?floor?c}</#if>`, Options{})
	if err != nil {
		b.Fatal(err)
	}
	root := loadEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.ExecuteString(root, nil); err != nil {
			b.Fatal(err)
		}
	}
}
