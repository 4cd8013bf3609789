package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// corpusDocs is where CI lays Branch's partner docs, beside the repository.
const corpusDocs = "../../../shared/corpus/partner-docs"

// TestCorpusImportRenders imports every corpus doc with the CLI, then
// renders every declared postback of every imported spec for a realistic
// Android and iOS event: none may fail on a template error, and every
// skipped postback names its reason.
func TestCorpusImportRenders(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(corpusDocs, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Skipf("Branch partner docs not found at %s (CI lays ../shared beside the repo)", corpusDocs)
	}
	dir := t.TempDir()
	code, _, stderr := runCLI(t, append(append([]string{"import"}, docs...), "-o", dir)...)
	if code != 0 {
		t.Fatalf("adgate import of %d corpus docs exited %d:\n%s", len(docs), code, stderr)
	}
	partners, diags, err := spec.LoadDir(context.Background(), dir)
	if err != nil {
		t.Fatalf("imported specs do not load: %v\n%v", err, diags)
	}
	if len(partners) != len(docs) {
		t.Fatalf("imported %d specs from %d docs", len(partners), len(docs))
	}
	cat, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	base := map[string][]byte{}
	for _, name := range []string{"android-purchase", "ios-purchase"} {
		b, err := os.ReadFile(filepath.Join("../../partners/events", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		base[name] = b
	}
	rendered := 0
	for _, p := range partners {
		cp, err := render.Compile(p, cat)
		if err != nil {
			t.Errorf("%s: compile: %v", p.ID, err)
			continue
		}
		acct := corpusAccount(p)
		events := map[string]*event.Event{}
		for name, b := range base {
			events[name] = integrationEvent(t, b, p)
		}
		for _, pb := range p.Postbacks {
			for _, key := range pb.Events {
				for evName, ev := range events {
					res, err := cp.Render(ev, acct, render.Options{Postback: key})
					if err != nil {
						t.Errorf("%s %s on %s: %v", p.ID, key, evName, err)
						continue
					}
					for _, s := range res.Skipped {
						switch {
						case s.Reason == "":
							t.Errorf("%s %s on %s: skipped without a reason", p.ID, key, evName)
						case strings.Contains(s.Reason, "template error"):
							t.Errorf("%s %s on %s: %s", p.ID, key, evName, s.Reason)
						}
					}
					rendered += len(res.Requests)
				}
			}
		}
	}
	t.Logf("%d specs imported, %d requests rendered", len(partners), rendered)
}

// customDataRE finds the custom_data fields a partner's templates read.
var customDataRE = regexp.MustCompile(`custom_data(?:\.([A-Za-z_][A-Za-z0-9_]*)|\["([^"]+)"\])`)

// integrationEvent is the sample event as an advertiser integrated with
// partner p sends it: with the custom_data fields the partner's templates
// read (Admitad's postback key, say), which an integration must supply.
func integrationEvent(t *testing.T, sample []byte, p *spec.Partner) *event.Event {
	t.Helper()
	var texts []string
	for _, pb := range p.Postbacks {
		texts = append(texts, pb.URL, pb.Body)
		for _, v := range pb.Headers {
			texts = append(texts, v)
		}
	}
	for _, prm := range p.Parameters {
		texts = append(texts, prm.Template)
	}
	dec := json.NewDecoder(bytes.NewReader(sample))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	cd, _ := ev["custom_data"].(map[string]any)
	if cd == nil {
		cd = map[string]any{}
		ev["custom_data"] = cd
	}
	for _, text := range texts {
		for _, m := range customDataRE.FindAllStringSubmatch(text, -1) {
			name := m[1] + m[2]
			if _, ok := cd[name]; !ok {
				cd[name] = "cd-" + name
			}
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	e, err := event.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", p.ID, err)
	}
	return e
}

// corpusAccount is an advertiser account with a value for every credential
// the partner asks for and an app for each OS.
func corpusAccount(p *spec.Partner) *render.Account {
	d := account.Data{
		Credentials: map[string]string{},
		Settings:    map[string]string{"goal_id": "42", "app_name": "Acme Shop"},
		App: account.App{Bundles: []account.Bundle{
			{OS: "ANDROID", Android: &account.AndroidBundle{PackageName: "com.acme.shop"}},
			{OS: "IOS", IOS: &account.IOSBundle{BundleID: "com.acme.Shop", ItunesID: "id1234567890"}},
		}},
	}
	for _, prm := range p.Parameters {
		if prm.Branch == "ACCOUNT_CREDENTIAL" {
			d.Credentials[prm.Macro] = "cred-" + prm.Macro
		}
	}
	return account.New(d)
}
