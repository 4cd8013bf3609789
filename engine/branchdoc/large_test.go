package branchdoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLargeInputs runs shapes that made earlier versions quadratic (every
// row compared with every other, rune counts from the row start): with
// the linear code each takes milliseconds, with a quadratic one minutes.
func TestLargeInputs(t *testing.T) {
	for name, s := range map[string]string{
		"unclosed braces":  "### Postbacks\nA | " + strings.Repeat("{a", 20000) + "\n",
		"unclosed interp":  "### Postback Parameters\n" + strings.Repeat("${ | ", 20000) + "\n",
		"unclosed tags":    "### Postbacks\nA | " + strings.Repeat("<#if a | ", 20000) + "\n",
		"mojibake":         "## " + strings.Repeat("Ã", 40000) + "\n### Postbacks\n{}\n",
		"json parameters":  "### Postback Parameters\n[ " + strings.Repeat("{ parameter_name | {x}, branch_parameter | Y, ", 5000) + "\n",
		"json postbacks":   "### Postbacks\n" + strings.Repeat(`"A": "http://x/", `, 10000) + "\n",
		"many rows":        "### Postbacks\n" + strings.Repeat("A | http://x/{a}?b={c}\u2028", 10000) + "\n### Postback Parameters\n" + strings.Repeat("{a} | X | | | | false | \u2028", 5000),
		"repeated keys":    "### Postbacks\nA | http://x/?" + strings.Repeat("a={b}&", 10000) + "\n### Postback Parameters\n{b} | X\n",
		"wide header":      "### Postback Parameters\n" + strings.Repeat("parameter name | ", 10000) + "\n{a} | X\n",
		"stray characters": "### Postbacks\nA | http://x/" + strings.Repeat(`"}`, 20000) + "\n",
	} {
		r, _, err := Import("large.md", []byte(s))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := r.YAML("large.md"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		Export(r.Partner)
	}
}

func BenchmarkImport(b *testing.B) {
	for _, name := range []string{"a_clevertap", "a_criteo", "a_google_adwords"} {
		data, err := os.ReadFile(filepath.Join(corpusDir, name+".md"))
		if err != nil {
			b.Skipf("corpus not found at %s", corpusDir)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := Import(name+".md", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
