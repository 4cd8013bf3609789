package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// specForURL wraps a URL taken from a partner doc in a spec that defines
// every macro it uses, so only URL defects remain to be found. The URL is
// single-quoted, as the importer writes such URLs.
func specForURL(url string) (text string, urlCol int) {
	var b strings.Builder
	b.WriteString("id: t\nname: T\npostbacks:\n  - events: [INSTALL]\n    url: '")
	urlCol = len("    url: '") + 1
	b.WriteString(strings.ReplaceAll(url, "'", "''"))
	b.WriteString("'\nparameters:\n")
	seen := map[string]bool{}
	for _, m := range MacroIndexes(url) {
		if name := url[m[2]:m[3]]; !seen[name] {
			seen[name] = true
			fmt.Fprintf(&b, "  - {macro: %q, branch: OS}\n", name)
		}
	}
	return b.String(), urlCol
}

// TestCorpusURLDefects feeds the defective URLs of real partner docs to the
// lint and requires each defect at the column where it stands.
func TestCorpusURLDefects(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "partner-docs")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (CI always has it)", dir)
	}
	tests := []struct {
		doc   string
		url   *regexp.Regexp // the URL as the doc has it, defect included
		rule  string
		where string // the defect's text inside the URL
	}{
		{"a_applift.md", regexp.MustCompile(`https?://[^ "]*&post=1"\}`), RuleURLTrailingText, `"}`},
		{"a_glispa.md", regexp.MustCompile(`https?://[^ "]*mmp=Branch"\}`), RuleURLTrailingText, `"}`},
		{"a_google_adwords.md", regexp.MustCompile(`https://www\.googleadservices[^,]*gclid=\{gclid`), RuleURLUnescaped, `{gclid`},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			url := tt.url.FindString(string(b))
			if url == "" {
				t.Fatalf("no URL matching %s in %s", tt.url, tt.doc)
			}
			text, urlCol := specForURL(url)
			ds := checkText(t, "t.yaml", text)
			got := find(ds, tt.rule)
			col := urlCol + len([]rune(url[:strings.LastIndex(url, tt.where)]))
			if len(got) != 1 || got[0].Line() != 5 || got[0].Col() != col || got[0].Severity.String() != "error" {
				t.Errorf("got %v, want one %s error at 5:%d\n%s", got, tt.rule, col, ds)
			}
		})
	}
}
