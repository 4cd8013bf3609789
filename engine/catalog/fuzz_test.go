package catalog

import (
	"slices"
	"testing"

	"github.com/adgate/adgate/schemas"
)

// FuzzParse: arbitrary bytes never panic the catalog parser, and a catalog
// it accepts is consistent: every name looks up to itself, names sorted
// and unique, and every parameter passes its own validation.
func FuzzParse(f *testing.F) {
	if b, err := schemas.FS.ReadFile(File); err == nil {
		f.Add(b)
	}
	f.Add([]byte("parameters:\n  - name: AAID\n    path: user_data.aaid\n"))
	f.Add([]byte("parameters:\n  - name: X\n    path: a.b\n    hash: md5\n  - name: X\n"))
	f.Add([]byte("parameters: [{name: S, source: setting, setting: s2s}]"))
	f.Add([]byte("parameters:\n  - name: T\n    path: timestamp\n    transform: ms_to_seconds\n"))
	f.Add([]byte("a: &a [*a, *a]\nparameters: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("catalog returned with an error")
			}
			return
		}
		names := c.Names()
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("names not sorted and unique: %v", names)
		}
		if len(names) == 0 {
			t.Fatal("empty catalog accepted")
		}
		for _, n := range names {
			p, ok := c.Lookup(n)
			if !ok || p.Name != n {
				t.Fatalf("Lookup(%q) = %+v, %v", n, p, ok)
			}
			if err := p.validate(); err != nil {
				t.Fatalf("accepted parameter %s fails validation: %v", n, err)
			}
			_ = p.TransformTemplate()
		}
	})
}
