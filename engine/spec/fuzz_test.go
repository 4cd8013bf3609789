package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
)

// FuzzCheck: arbitrary bytes never panic or hang the loader, every
// finding has a rule and a position inside the file, and a partner is only
// returned when there is no error.
func FuzzCheck(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "rules", "*", "*", "*.yaml"))
	seeds = append(seeds, clevertapPath)
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("url: \"\\u"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("id: t\nname: T\npostbacks:\n  - events: [X]\n    url: |\n      <#if a>${b</@x>\n"))
	l := newTestLoader(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, ds := l.Check("t.yaml", data)
		if p != nil && ds.HasErrors() {
			t.Fatal("partner returned with errors")
		}
		lines := len(yamlx.Lines(data)) + 1
		for _, d := range ds {
			if d.Rule == "" || d.Message == "" {
				t.Fatalf("finding without rule or message: %+v", d)
			}
			if d.Line() < 1 || d.Line() > lines || d.Col() < 1 {
				t.Fatalf("finding outside the file (%d lines): %+v", lines, d)
			}
			if r := d.Range; r.Start.Offset < 0 || r.Start.Offset > r.End.Offset || r.End.Offset > len(data) {
				t.Fatalf("range outside the %d bytes or reversed: %+v", len(data), d)
			}
			if d.Severity != diag.Error && d.Severity != diag.Warning {
				t.Fatalf("unexpected severity: %+v", d)
			}
		}
	})
}

// FuzzTemplateCheck: the lint's reading of a template never panics and
// reports offsets inside the text.
func FuzzTemplateCheck(f *testing.F) {
	for _, s := range []string{"${a}", "<#if a>b<#else>c</#if>", "<@loop data=x val=\"v\">${v}<@break/></@loop>", "${\"}\"", "<#--", "<#assign x>y</#assign>", "${a?eval}",
		`{"a": {m}, "b": "${x}\\"", "c": [${y}${z}]<#if q>, "d": ${w}</#if>}`, "a=%{m};b=100%&c=%4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		n := len([]rune(text))
		t2 := parseTemplate(text)
		for _, m := range t2.macros() {
			if m.Start < 0 || m.End > n {
				t.Fatalf("macro outside text of %d code points: %+v", n, m)
			}
		}
		urlShape(t2)
		for _, h := range append(t2.jsonBody(), t2.formBody()...) {
			if h.from < 0 || h.from > h.to || h.to > n {
				t.Fatalf("body finding outside text of %d code points: %+v", n, h)
			}
		}
		for _, p := range t2.problems() {
			if p.off < 0 || p.off > n {
				t.Fatalf("offset %d outside text of %d code points: %+v", p.off, n, p)
			}
		}
	})
}
