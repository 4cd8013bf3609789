package yamlx_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/fixture"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/yamlx"
	"github.com/adgate/adgate/engine/spec"
)

// bombs are the two shapes from the issue, as lines to indent under a key:
// nested aliases (billion laughs, 10^9 nodes from a few hundred bytes) and
// one long string reused through 10,000 aliases (a 1 MB file that expands
// to 9 GB).
func bombs() map[string]string {
	var nested strings.Builder
	nested.WriteString("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&nested, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	long := "s: &s " + strings.Repeat("A", 900_000) + "\nl: [" + strings.TrimSuffix(strings.Repeat("*s, ", 10_000), ", ") + "]\n"
	return map[string]string{"nested": nested.String(), "long string": long}
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+by) + "\n"
}

// TestAliasBombsInEveryFileKind: each file kind refuses both bombs with a
// positioned yaml-alias-budget finding, placed where each kind's reader
// would otherwise walk or convert the values, and allocates far less than
// the 100 MB the issue allows while doing so (counted, not timed).
func TestAliasBombsInEveryFileKind(t *testing.T) {
	loader, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		name, file string
		wrap       func(bomb string) string
		load       func(file string, data []byte) diag.List
	}{
		{"spec", "bomb.yaml", func(b string) string { return "id: bomb\nname: Bomb\n" + b }, func(f string, d []byte) diag.List {
			_, ds := loader.Check(f, d)
			return ds
		}},
		{"gateway config", "gateway.yaml", func(b string) string {
			return "apps:\n  - id: a\n    ingest: {bearer_tokens: [t]}\n    partners: []\n" + b
		}, func(f string, d []byte) diag.List {
			_, ds := config.Parse(f, d, config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
			return ds
		}},
		{"account", "account.yaml", func(b string) string { return "settings:\n" + indent(b, "  ") }, func(f string, d []byte) diag.List {
			_, err := account.Parse(f, d)
			return listOf(err)
		}},
		{"fixture", "bomb.test.yaml", func(b string) string {
			return "cases:\n  - name: a\n    expect: {requests: []}\n    event:\n" + indent(b, "      ")
		}, func(f string, d []byte) diag.List {
			_, err := fixture.Parse(f, d)
			return listOf(err)
		}},
	}
	for _, k := range kinds {
		for name, bomb := range bombs() {
			t.Run(k.name+"/"+name, func(t *testing.T) {
				data := []byte(k.wrap(bomb))
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				ds := k.load(k.file, data)
				runtime.ReadMemStats(&after)
				var found *diag.Diagnostic
				for i := range ds {
					if ds[i].Rule == yamlx.RuleAliasBudget {
						found = &ds[i]
					}
				}
				if found == nil {
					t.Fatalf("bomb not refused: %v", ds)
				}
				if found.File != k.file || found.Line() < 1 || found.Col() < 1 || found.Hint == "" || !strings.Contains(found.Message, "alias *") {
					t.Errorf("finding not positioned or not naming the alias: %+v", *found)
				}
				// The file itself (up to 1 MB) is read, split into lines
				// and parsed a few times over; nothing is expanded.
				const limit = 100 << 20
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
					t.Errorf("allocated %d MB refusing the bomb, limit %d MB", alloc>>20, limit>>20)
				} else {
					t.Logf("%s: allocated %.1f MB for a %d byte file", found, float64(alloc)/(1<<20), len(data))
				}
			})
		}
	}
}

func listOf(err error) diag.List {
	var le diag.ListError
	if errors.As(err, &le) {
		return diag.List(le)
	}
	if err != nil {
		return diag.List{{Rule: "error", Message: err.Error()}}
	}
	return nil
}
