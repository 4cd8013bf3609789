package specdiff

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/spec"
)

// baseSpec is a small partner; the cases below change one thing each.
const baseSpec = `id: acme
name: Acme
postbacks:
  - events: [INSTALL, REINSTALL]
    url: https://p.acme.test/i?click={click}&os={os}
  - events: [PURCHASE]
    method: POST
    url: https://p.acme.test/p
    headers:
      X-Key: "{key}"
    content_type: application/json
    body: '{"click":"{click}","revenue":"{revenue}"}'
parameters:
  - macro: click
    branch: CLICK_ID
    link_macro: '{click}'
  - macro: os
    branch: OS
  - macro: key
    branch: ACCOUNT_CREDENTIAL
    label: Key
  - macro: revenue
    branch: PURCHASE_REVENUE
`

var compareEvents = []Event{
	{Label: "install", JSON: []byte(`{"name":"INSTALL","user_data":{"os":"IOS"},"last_attributed_touch_data":{"~click_id":"c1"}}`)},
	{Label: "reinstall", JSON: []byte(`{"name":"REINSTALL","user_data":{"os":"IOS"},"last_attributed_touch_data":{"~click_id":"c2"}}`)},
	{Label: "purchase", JSON: []byte(`{"name":"PURCHASE","event_data":{"revenue":5},"last_attributed_touch_data":{"~click_id":"c3"}}`)},
	{Label: "open", JSON: []byte(`{"name":"OPEN"}`)},
}

func loadVersion(t *testing.T, l *spec.Loader, label string, specs map[string]string) *Version {
	t.Helper()
	var files []File
	for id, text := range specs {
		files = append(files, File{Path: label + "/" + id + ".yaml", Data: []byte(text)})
	}
	v, ds, err := Load(context.Background(), l, label, files)
	if err != nil {
		t.Fatalf("%s: %v\n%v", label, err, ds)
	}
	return v
}

// summary lists a report's changes one per line:
// partner status postback event kind [reason] [fields] @line.
func summary(rep *Report) string {
	var out []string
	for _, pd := range rep.Partners {
		for _, pb := range pd.Postbacks {
			for _, ed := range pb.Events {
				s := fmt.Sprintf("%s %s %s %s %s", pd.Partner, pd.Status, pb.Postback, ed.Event, ed.Kind)
				if ed.Reason != "" {
					s += " (" + ed.Reason + ")"
				}
				if ed.Kind != Changed {
					s += fmt.Sprintf(" @%d", ed.Pos.Line)
				}
				for _, f := range ed.Fields {
					s += fmt.Sprintf(" [%s] @%d", show([]FieldChange{f}), f.Pos.Line)
				}
				out = append(out, s)
			}
		}
	}
	if len(rep.NoEffect) > 0 {
		out = append(out, "no effect: "+strings.Join(rep.NoEffect, ","))
	}
	return strings.Join(out, "\n")
}

func TestCompare(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	acct := account.New(account.Data{Credentials: map[string]string{"key": "k1"}})
	cases := []struct {
		name     string
		old, new string // "" leaves the partner out of the version
		want     string
	}{
		{"same", baseSpec, baseSpec, ""},
		{"comment only", baseSpec, "# a comment\n" + baseSpec, ""},
		{"url template", baseSpec, strings.Replace(baseSpec, "&os={os}", "&os={os}&v=2", 1),
			`acme changed INSTALL install changed [query v: - => "2"] @5` + "\n" +
				`acme changed REINSTALL reinstall changed [query v: - => "2"] @5`},
		{"parameter changed", baseSpec, strings.Replace(baseSpec, "  - macro: os\n    branch: OS\n", "  - macro: os\n    branch: OS\n    template: ${user_data.os?lower_case}\n", 1),
			`acme changed INSTALL install changed [query os: "IOS" => "ios"] @19` + "\n" +
				`acme changed REINSTALL reinstall changed [query os: "IOS" => "ios"] @19`},
		{"header and body", baseSpec, strings.Replace(strings.Replace(baseSpec, `X-Key: "{key}"`, `X-Key: "v2-{key}"`, 1), `"revenue":"{revenue}"`, `"revenue":{revenue}`, 1),
			`acme changed PURCHASE purchase changed [header x-key: "k1" => "v2-k1"] @10 [body $.revenue: "\"5\"" => "5"] @12`},
		{"event removed from a postback", baseSpec, strings.Replace(baseSpec, "[INSTALL, REINSTALL]", "[INSTALL]", 1),
			`acme changed REINSTALL reinstall stops (REINSTALL is removed from the events of its postback) @4`},
		{"event added to a postback", strings.Replace(baseSpec, "[INSTALL, REINSTALL]", "[INSTALL]", 1), baseSpec,
			`acme changed REINSTALL reinstall starts (REINSTALL is added to the events of an existing postback) @4`},
		{"postback added", baseSpec, strings.Replace(baseSpec, "parameters:\n", "  - events: [OPEN]\n    url: https://p.acme.test/o\nparameters:\n", 1),
			`acme changed OPEN open starts (new postback) @13`},
		// Every event that uses {os} has one: the spec changed, the
		// output did not.
		{"required parameter, always present", baseSpec, strings.Replace(baseSpec, "  - macro: os\n    branch: OS\n", "  - macro: os\n    branch: OS\n    required: true\n", 1),
			"no effect: acme"},
		{"skipped before, sent now", strings.Replace(baseSpec, "  - macro: revenue\n    branch: PURCHASE_REVENUE\n", "  - macro: revenue\n    branch: PURCHASE_REVENUE\n    template: ${event_data.nothing}\n", 1), baseSpec,
			`acme changed PURCHASE purchase starts (was skipped: template error in partner acme parameter {revenue} template at line 1, column 3: event_data.nothing is missing (undefined or null); write (event_data.nothing)! or (event_data.nothing)!"default" to allow that) @22`},
		{"partner added", "", baseSpec,
			"acme added INSTALL install starts (new partner) @1\nacme added REINSTALL reinstall starts (new partner) @1\nacme added PURCHASE purchase starts (new partner) @1"},
		{"partner removed", baseSpec, "",
			"acme removed INSTALL install stops (partner removed) @0\nacme removed REINSTALL reinstall stops (partner removed) @0\nacme removed PURCHASE purchase stops (partner removed) @0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			specs := func(text string) map[string]string {
				if text == "" {
					return nil
				}
				return map[string]string{"acme": text}
			}
			old, new := loadVersion(t, l, "old", specs(c.old)), loadVersion(t, l, "new", specs(c.new))
			rep, err := Compare(context.Background(), old, new, compareEvents, Options{Account: acct})
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(rep); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
			if rep.Changed() != (c.want != "" && !strings.HasPrefix(c.want, "no effect")) || rep.Events != len(compareEvents) {
				t.Errorf("Changed() = %v, Events = %d", rep.Changed(), rep.Events)
			}
		})
	}
}

func TestCompareBadEvent(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	v := loadVersion(t, l, "v", map[string]string{"acme": baseSpec})
	_, err = Compare(context.Background(), v, v, []Event{{Label: "sample.ndjson:3", JSON: []byte(`{"name":1}`)}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "event sample.ndjson:3") {
		t.Errorf("err = %v, want one naming the event", err)
	}
}

func TestLoadRejectsInvalidSpec(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	_, ds, err := Load(context.Background(), l, "v", []File{{Path: "v/acme.yaml", Data: []byte("id: acme\nname: A\npostbacks: 3\n")}})
	if err == nil || !ds.HasErrors() || ds[0].File != "v/acme.yaml" || ds[0].Line() != 3 {
		t.Errorf("err %v, diagnostics %v", err, ds)
	}
	dup := []File{{Path: "a/acme.yaml", Data: []byte(baseSpec)}, {Path: "b/acme.yaml", Data: []byte(baseSpec)}}
	if _, ds, err := Load(context.Background(), l, "v", dup); err == nil || !strings.Contains(ds.Err().Error(), "already declared in a/acme.yaml") {
		t.Errorf("duplicate id: err %v, diagnostics %v", err, ds)
	}
}
