package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/format, docs/lint-rules.md and the outputs of failing docs examples")

// renderTestdata holds the acme spec and events the engine's own tests
// render; the formats are pinned on the same results.
const renderTestdata = "../../engine/render/testdata"

// TestFormatGolden pins the three output formats of `adgate render`.
func TestFormatGolden(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	p, ds, err := l.LoadFile(context.Background(), filepath.Join(renderTestdata, "specs", "acme.yaml"))
	if err != nil {
		t.Fatalf("%v\n%v", err, ds)
	}
	cp, err := render.Compile(p, l.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	acct := account.New(account.Data{
		Credentials: map[string]string{"token": "t0k+/= n"},
		Settings:    map[string]string{"goal_id": "G-1"},
	})
	eventFile := func(name string) string {
		b, err := os.ReadFile(filepath.Join(renderTestdata, "events", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name  string
		event string
		opt   render.Options
	}{
		{"install", eventFile("install-android"), render.Options{}},
		{"purchase", eventFile("purchase-ios"), render.Options{}},
		{"install-explain", eventFile("install-android"), render.Options{Explain: true}},
		{"skipped-explain", `{"name":"INSTALL","user_data":{"os":"IOS"}}`, render.Options{Explain: true}},
		{"none", `{"name":"CLICK"}`, render.Options{}},
	}
	for _, c := range cases {
		ev, err := event.Parse([]byte(c.event))
		if err != nil {
			t.Fatal(err)
		}
		res, err := cp.Render(ev, acct, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []renderFormat{formatText, formatJSON, formatCurl} {
			var b strings.Builder
			if err := writeResult(&b, res, f); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "format", c.name+"."+string(f)), b.String())
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestParseRenderFormat(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{{"text", true}, {"json", true}, {"curl", true}, {"xml", false}, {"", false}}
	for _, tt := range tests {
		f, err := parseRenderFormat(tt.in)
		if (err == nil) != tt.ok || (tt.ok && string(f) != tt.in) {
			t.Errorf("parseRenderFormat(%q) = %q, %v", tt.in, f, err)
		}
	}
}
