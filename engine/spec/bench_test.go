package spec

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkCheckCleverTap measures parse + schema + lint of one real spec,
// what a gateway reload pays per partner file.
func BenchmarkCheckCleverTap(b *testing.B) {
	data, err := os.ReadFile(clevertapPath)
	if err != nil {
		b.Fatal(err)
	}
	l := newTestLoader(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := l.Check("clevertap.yaml", data); len(ds) != 0 {
			b.Fatal(ds)
		}
	}
}

// BenchmarkCheckManyMacros measures a spec whose URL holds 5000 macros: the
// lint must stay linear in the URL's length (macro offsets were once
// recounted from the URL's start for every macro).
func BenchmarkCheckManyMacros(b *testing.B) {
	var s strings.Builder
	s.WriteString("id: x\nname: X\npostbacks:\n  - events: [INSTALL]\n    url: https://x.test/?k0={m0}")
	for i := 1; i < 5000; i++ {
		fmt.Fprintf(&s, "&k%d={m%d}", i, i)
	}
	s.WriteString("\nparameters:\n")
	for i := range 5000 {
		fmt.Fprintf(&s, "  - macro: m%d\n    branch: AAID\n", i)
	}
	data := []byte(s.String())
	l := newTestLoader(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := l.Check("x.yaml", data); len(ds) != 0 {
			b.Fatal(ds)
		}
	}
}
