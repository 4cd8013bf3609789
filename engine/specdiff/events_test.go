package specdiff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileEvents(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("events/b.ndjson", "{\"name\":\"A\"}\n\n  \n{\"name\":\"B\"}")
	write("events/a.json", "{\n  \"name\": \"INSTALL\"\n}\n")
	write("events/notes.txt", "not an event")
	write("events/sub/c.json", `{"name":"C"}`)
	write("empty/readme.md", "")
	write("blank.ndjson", "\n\n")

	labels := func(evs []Event) string {
		var out []string
		for _, e := range evs {
			out = append(out, e.Label+"="+strings.Join(strings.Fields(string(e.JSON)), ""))
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		path, want, err string
	}{
		{"events", `events/a.json={"name":"INSTALL"} events/b.ndjson:1={"name":"A"} events/b.ndjson:4={"name":"B"} events/sub/c.json={"name":"C"}`, ""},
		{"events/b.ndjson", `events/b.ndjson:1={"name":"A"} events/b.ndjson:4={"name":"B"}`, ""},
		{"empty", "", "no event file (*.json, *.ndjson) in this directory"},
		{"blank.ndjson", "", "no event in this file"},
		{"missing", "", "no such file"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			evs, err := FileEvents(filepath.Join(dir, c.path))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.ReplaceAll(labels(evs), dir+string(filepath.Separator), ""); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestFixtureEvents reads the catalog's fixtures: every case is its
// partner's event with its case's account, and the first directory wins.
func TestFixtureEvents(t *testing.T) {
	evs, accounts, err := FixtureEvents("../../partners", "../../partners")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Partner == "" || !strings.HasPrefix(e.Label, e.Partner+"/") || len(e.JSON) == 0 {
			t.Fatalf("event %+v", e)
		}
		if seen[e.Label] {
			t.Fatalf("%s read twice", e.Label)
		}
		seen[e.Label] = true
	}
	if len(evs) < 300 || accounts["adcash"] == nil {
		t.Errorf("%d events, adcash account %v", len(evs), accounts["adcash"])
	}
}
