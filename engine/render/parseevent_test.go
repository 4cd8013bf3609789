package render

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/spec"
)

// TestParseEventSameResult renders every postback of every partner (the
// repo's catalog and the test specs) from events decoded by the partner's
// selective ParseEvent and by event.Parse: the results, explain output
// included, must be identical.
func TestParseEventSameResult(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	var partners []*spec.Partner
	for _, dir := range []string{filepath.Join("..", "..", "partners"), filepath.Join("testdata", "specs")} {
		// specs with errors are left out by LoadDir; what loads is enough
		ps, _, _ := l.LoadDir(context.Background(), dir)
		partners = append(partners, ps...)
	}
	if len(partners) < 2 {
		t.Fatalf("only %d partners loaded", len(partners))
	}
	events := [][]byte{[]byte(benchInstall)}
	for _, pat := range []string{"testdata/events/*.json", "../../examples/events/*.json", "../../../shared/corpus/events/*.json"} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, b)
		}
	}
	withModel := 0
	for _, p := range partners {
		cp, err := Compile(p, l.Catalog())
		if err != nil {
			continue
		}
		if cp.eventSel == nil {
			withModel++
		}
		for _, raw := range events {
			full, err := event.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			sel, err := cp.ParseEvent(raw)
			if err != nil {
				t.Fatalf("%s: %v", p.ID, err)
			}
			for _, pb := range append([]string{""}, cp.Postbacks()...) {
				for _, acct := range []*Account{nil, benchAccount} {
					opt := Options{Postback: pb, Explain: true}
					want, werr := cp.Render(full, acct, opt)
					got, gerr := cp.Render(sel, acct, opt)
					if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
						t.Errorf("%s postback %q: selective decode gives\n%+v (%v)\nwant\n%+v (%v)", p.ID, pb, got, gerr, want, werr)
					}
				}
			}
		}
	}
	t.Logf("%d partners, %d events, %d read the whole event", len(partners), len(events), withModel)
}
