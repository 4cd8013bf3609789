package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/adgate/adgate/engine/branchdoc"
	"github.com/adgate/adgate/engine/template"
)

// generatedTemplates and generatedEvents size the generated part; with the
// probe cases and the corpus this keeps the whole test within ~60 s.
const (
	generatedTemplates = 400
	generatedEvents    = 3
	genSeed            = 20260101
)

type model struct {
	name string
	json []byte
}

// TestDifferential renders every case on every data model with both
// engines and requires the same output, or an error from both.
func TestDifferential(t *testing.T) {
	oracle := oracleDir(t)
	corpus := corpusDir(t)

	models := loadModels(t, oracle, corpus)
	cases := probeCases(t, oracle)
	cases = append(cases, corpusCases(t, corpus)...)
	n, seed := generatedTemplates, uint64(genSeed)
	// CONFORMANCE_GENERATED=N[:SEED] runs a deeper (or different) sample
	if v := os.Getenv("CONFORMANCE_GENERATED"); v != "" {
		if _, err := fmt.Sscanf(v, "%d:%d", &n, &seed); err != nil {
			if _, err := fmt.Sscanf(v, "%d", &n); err != nil {
				t.Fatalf("CONFORMANCE_GENERATED=%q: want N or N:SEED", v)
			}
		}
	}
	g := newGen(seed)
	for i := 0; i < n; i++ {
		text := g.template()
		cases = append(cases, tcase{name: fmt.Sprintf("gen%04d.ftl", i), text: text, oracle: forOracle(text), origin: "generated"})
	}
	ln, lseed := generatedListTemplates, seed+1
	// CONFORMANCE_LIST=N[:SEED] does the same for the <#list> corpus
	if v := os.Getenv("CONFORMANCE_LIST"); v != "" {
		if _, err := fmt.Sscanf(v, "%d:%d", &ln, &lseed); err != nil {
			if _, err := fmt.Sscanf(v, "%d", &ln); err != nil {
				t.Fatalf("CONFORMANCE_LIST=%q: want N or N:SEED", v)
			}
		}
	}
	cases = append(cases, listCases(newGen(lseed), ln)...)
	lm, err := buildModel([]byte(listEvent))
	if err != nil {
		t.Fatalf("list event: %v", err)
	}
	models = append(models, model{name: "list-event", json: lm})
	for i := 0; i < generatedEvents; i++ {
		raw := g.event()
		m, err := buildModel([]byte(raw))
		if err != nil {
			t.Fatalf("generated event %d: %v\n%s", i, err, raw)
		}
		models = append(models, model{name: fmt.Sprintf("generated-event-%d", i), json: m})
	}

	// the JVMs start two at a time: their start-up, not the rendering,
	// is most of the oracle's cost
	wants := make([]map[string]result, len(models))
	errs := make([]error, len(models))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, m := range models {
		wg.Add(1)
		tmp := t.TempDir()
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			wants[i], errs[i] = runOracle(oracle, tmp, m.json, cases)
		}()
	}
	wg.Wait()
	stats := map[string][3]int{} // origin -> {agree, total, agree with output rather than errors}
	failures := 0
	for mi, m := range models {
		if errs[mi] != nil {
			t.Fatalf("%s: %v", m.name, errs[mi])
		}
		want := wants[mi]
		root, err := template.ParseJSON(m.json)
		if err != nil {
			t.Fatalf("%s: ParseJSON: %v", m.name, err)
		}
		for _, c := range cases {
			got := runEngine(c, root)
			w := want[c.name]
			st := stats[c.origin]
			st[1]++
			if agree(got, w) {
				st[0]++
				if w.err == "" {
					st[2]++
				}
			} else {
				failures++
				if failures <= 40 {
					t.Errorf("%s on %s (%s):\ntemplate: %q\nFreeMarker: %s\nadgate:     %s",
						c.name, m.name, c.origin, c.text, describe(w), describe(got))
				}
			}
			stats[c.origin] = st
		}
	}
	origins := make([]string, 0, len(stats))
	for o := range stats {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for _, o := range origins {
		t.Logf("%-10s %d/%d runs agree (%d on output, the rest on failing)", o, stats[o][0], stats[o][1], stats[o][2])
	}
	if failures > 40 {
		t.Errorf("... and %d more disagreements", failures-40)
	}
	// the <#list> family is held to at least this many compared runs
	if n := stats["list"][1] + stats["gen-list"][1]; n < 300 {
		t.Errorf("only %d <#list> runs compared; the <#list> corpus must have at least 300", n)
	}
}

func agree(got, want result) bool {
	if got.err != "" || want.err != "" {
		return got.err != "" && want.err != ""
	}
	return got.out == want.out
}

func runEngine(c tcase, root template.Value) result {
	tp, err := template.Parse(c.name, c.text, template.Options{})
	if err != nil {
		return result{err: err.Error()}
	}
	out, err := tp.ExecuteString(root, nil)
	if err != nil {
		return result{err: err.Error()}
	}
	return result{out: out}
}

func loadModels(t *testing.T, oracle, corpus string) []model {
	t.Helper()
	var files []string
	for _, pat := range []string{filepath.Join(oracle, "data", "*.json"), filepath.Join(corpus, "events", "*.json")} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no data files found in the oracle or the corpus")
	}
	var out []model
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := buildModel(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, model{name: filepath.Base(f), json: m})
	}
	return out
}

func probeCases(t *testing.T, oracle string) []tcase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(oracle, "cases", "*.ftl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no probe cases in %s: %v", oracle, err)
	}
	var out []tcase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		out = append(out, tcase{name: "probe_" + filepath.Base(f), text: text, oracle: forOracle(text), origin: "probe"})
	}
	return out
}

// corpusCases extracts every template of every partner doc with
// engine/branchdoc (the importer's own de-mangling and repairs).
func corpusCases(t *testing.T, corpus string) []tcase {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(corpus, "partner-docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no partner docs in %s: %v", corpus, err)
	}
	var out []tcase
	seen := map[string]bool{}
	for _, d := range docs {
		raw, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		tmpls, err := branchdoc.Templates(filepath.Base(d), raw)
		if err != nil {
			t.Errorf("%s: branchdoc.Templates: %v", d, err)
			continue
		}
		for _, tm := range tmpls {
			if seen[tm.Text] || !strings.ContainsAny(tm.Text, "$<#") {
				continue
			}
			seen[tm.Text] = true
			out = append(out, tcase{
				name:   fmt.Sprintf("doc%04d.ftl", len(out)),
				text:   tm.Text,
				oracle: forOracle(tm.Text),
				origin: "corpus",
			})
		}
	}
	if len(out) == 0 {
		t.Fatal("no templates extracted from the corpus")
	}
	return out
}
