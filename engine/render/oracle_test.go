package render

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
)

// oracle is Apache FreeMarker 2.3.31 with Branch's directives, from the
// shared tools beside the repository.
const oracle = "../../../shared/tools/fmoracle/run.sh"

// TestCriteoURLMatchesFreeMarker renders Criteo's URL template (the whole
// URL is FreeMarker) through Render and through Apache FreeMarker with the
// same data model, and requires the same URL: the data model Render builds
// (event fields, event, app, ad_network) is the one FreeMarker is given.
func TestCriteoURLMatchesFreeMarker(t *testing.T) {
	if _, err := os.Stat(oracle); err != nil {
		t.Skipf("FreeMarker oracle absent (%s): CI has it", oracle)
	}
	if _, err := os.Stat("/usr/share/java/freemarker.jar"); err != nil {
		t.Skip("FreeMarker oracle absent: /usr/share/java/freemarker.jar missing (apt-get install libfreemarker-java); CI has it")
	}
	p, cat := loadPartner(t, "criteo")
	cp, err := Compile(p, cat)
	if err != nil {
		t.Fatal(err)
	}
	acct := account.New(account.Data{App: account.App{Bundles: []account.Bundle{
		{OS: "ANDROID", Android: &account.AndroidBundle{PackageName: "com.acme.shop"}},
		{OS: "IOS", IOS: &account.IOSBundle{BundleID: "com.acme.Shop", ItunesID: "id1234567890"}},
	}}})
	appJSON, _ := json.Marshal(map[string]any{"app_bundles": acct.Data().App.Bundles})
	netJSON, _ := json.Marshal(map[string]any{"machine_name": "a_criteo", "name": "Criteo", "credentials": map[string]string{}})
	for _, name := range []string{"install-android", "purchase-ios"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		ev := readEvent(t, name)
		res, err := cp.Render(ev, acct, Options{Postback: "INSTALL"})
		if err != nil || len(res.Requests) != 1 {
			t.Fatalf("%s: %v %+v", name, err, res)
		}
		// The model as JSON, numbers as written: the event's own text with
		// event, app and ad_network added.
		body := bytes.TrimSpace(raw)
		model := string(body[:len(body)-1]) + `,"event":` + string(body) + `,"app":` + string(appJSON) + `,"ad_network":` + string(netJSON) + "}"
		data := filepath.Join(t.TempDir(), "model.json")
		if err := os.WriteFile(data, []byte(model), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(oracle, "--number-format", "computer", "--boolean-format", "c", data, "-e", p.Postbacks[0].URL)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: oracle: %v\n%s", name, err, stderr.String())
		}
		if got := res.Requests[0].URL; got != string(out) {
			t.Errorf("%s:\nadgate     %s\nFreeMarker %s", name, got, out)
		}
	}
}
