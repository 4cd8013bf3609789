package spec

import (
	"os"
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
