package template

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden renders testdata/golden/*.ftl against testdata/event.json;
// the .golden file holds the output, or "ERROR: " and the message.
func TestGolden(t *testing.T) {
	root := loadEvent(t)
	files, err := filepath.Glob("testdata/golden/*.ftl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden templates: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			tp, err := Parse(filepath.Base(f), string(src), Options{})
			if err == nil {
				got, err = tp.ExecuteString(root, nil)
			}
			if err != nil {
				got = "ERROR: " + err.Error() + "\n"
			}
			golden := strings.TrimSuffix(f, ".ftl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n got %q\nwant %q", golden, got, want)
			}
		})
	}
}
