package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/specdiff"
)

// catalogEdits change a copy of the catalog in the four ways a reviewer
// must see: a renamed query key, a changed parameter template, a removed
// postback, and an event added to a postback.
var catalogEdits = []struct{ file, old, new string }{
	{"adcash.yaml", "&cid={clickid}", "&click_id={clickid}"},
	{"admitad.yaml", "template: ${event.custom_data.postback_key}\n", "template: ${event.custom_data.postback_key}-v2\n"},
	{"taptica.yaml", "  - events:\n      - OPEN\n    # adgate:ignore url-insecure the partner documents only an http endpoint\n    url: http://tracking.taptica.com/aff_goal?tt_cid={tt_cid}&tt_adv_id={tt_adv_id}&tt_goal=1&tt_adv_sub={tt_adv_sub}&tt_time={tt_time}&tt_idfa={tt_idfa}&tt_advertising_id={tt_advertising_id}&tt_appid={tt_appid}\n", ""},
	{"billy_mobile.yaml", "      - INSTALL\n", "      - INSTALL\n      - PURCHASE\n"},
}

// copyCatalog copies the partner catalog (specs, fixtures, shared
// events) to dir.
func copyCatalog(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join("..", "..", "partners")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// editCatalog applies catalogEdits to the catalog copy in dir; each edit
// must match exactly once, so a catalog change cannot make it a no-op.
func editCatalog(t *testing.T, dir string) {
	t.Helper()
	for _, e := range catalogEdits {
		p := filepath.Join(dir, e.file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), e.old); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want 1", e.file, e.old, n)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), e.old, e.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func diffWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyCatalog(t, filepath.Join(dir, "old"))
	copyCatalog(t, filepath.Join(dir, "new"))
	editCatalog(t, filepath.Join(dir, "new"))
	return dir
}

// TestDiffCatalogGolden pins every format of the diff of the catalog
// against the edited copy: exactly the four changes, nothing else.
func TestDiffCatalogGolden(t *testing.T) {
	dir := diffWorkspace(t)
	for _, f := range []string{"text", "json", "markdown", "github"} {
		code, out, errOut := runChildIn(t, dir, "", "diff", "--exit-code", "--format", f, "old", "new")
		if code != 1 {
			t.Fatalf("format %s: exit %d, want 1 (changes)\nstderr: %s", f, code, errOut)
		}
		golden(t, filepath.Join("testdata", "diff", "catalog."+f), out)
	}
}

func TestDiffNoChange(t *testing.T) {
	dir := t.TempDir()
	copyCatalog(t, filepath.Join(dir, "a"))
	code, out, errOut := runChildIn(t, dir, "", "diff", "--exit-code", "a", "a")
	if code != 0 || !strings.Contains(out, "no partner receives anything different") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestDiffGitBase diffs the edited catalog against the commit before
// the edit: the report is the one the two directories give.
func TestDiffGitBase(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on PATH")
	}
	dir := t.TempDir()
	copyCatalog(t, filepath.Join(dir, "partners"))
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q")
	gitRun("add", "-A")
	gitRun("commit", "-q", "-m", "catalog")
	editCatalog(t, filepath.Join(dir, "partners"))

	code, out, errOut := runChildIn(t, dir, "", "diff", "--base", "HEAD", "--format", "json", "partners")
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	var got, want specdiff.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "diff", "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got.Base != "HEAD:partners" || got.Head != "partners" {
		t.Errorf("labels %q, %q; want HEAD:partners, partners", got.Base, got.Head)
	}
	for i := range want.Partners {
		want.Partners[i].File = strings.Replace(want.Partners[i].File, "new", "partners", 1)
	}
	got.Base, got.Head, want.Base, want.Head = "", "", "", ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("--base HEAD report differs from the two-directory one:\n%s", out)
	}
}

// TestDiffEvents renders NDJSON events through every partner, with each
// partner's fixture account. admitad reads its postback key from the
// event, which these events lack: skipped in both versions, no change.
func TestDiffEvents(t *testing.T) {
	dir := diffWorkspace(t)
	var lines []string
	for _, name := range []string{"ios-purchase.json", "android-install.json"} {
		b, err := os.ReadFile(filepath.Join(dir, "old", "events", name))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		c, _ := json.Marshal(v)
		lines = append(lines, string(c))
	}
	if err := os.WriteFile(filepath.Join(dir, "sample.ndjson"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runChildIn(t, dir, "", "diff", "--format", "json", "--events", "sample.ndjson", "old", "new")
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	var rep specdiff.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pd := range rep.Partners {
		for _, pb := range pd.Postbacks {
			for _, ed := range pb.Events {
				got = append(got, pd.Partner+" "+pb.Postback+" "+ed.Kind+" "+ed.Event)
			}
		}
	}
	want := []string{
		"adcash INSTALL changed sample.ndjson:2",
		"billy_mobile PURCHASE starts sample.ndjson:1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Events != 2 {
		t.Errorf("events = %d, want 2", rep.Events)
	}
}

func TestDiffErrors(t *testing.T) {
	dir := diffWorkspace(t)
	bad := filepath.Join(dir, "new", "adcash.yaml")
	if err := os.WriteFile(bad, []byte("id: adcash\nname: Adcash\npostbacks: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no dirs", []string{"diff"}, 2, "give OLD_DIR NEW_DIR"},
		{"base and two dirs", []string{"diff", "--base", "HEAD", "old", "new"}, 2, "with --base give one directory"},
		{"bad format", []string{"diff", "--format", "xml", "old", "old"}, 2, `unknown format "xml"`},
		{"account without events", []string{"diff", "--account", "x.yaml", "old", "old"}, 2, "--account goes with --events"},
		{"spec does not load", []string{"diff", "old", "new"}, 2, filepath.Join("new", "adcash.yaml") + ":3:"},
		{"missing dir", []string{"diff", "old", "nowhere"}, 2, "nowhere"},
		{"not a git revision", []string{"diff", "--base", "no-such-rev", "old"}, 2, "no-such-rev"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runChildIn(t, dir, "", c.args...)
			if code != c.code || !strings.Contains(errOut, c.inStderr) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errOut, c.code, c.inStderr)
			}
		})
	}
}

func TestTruncateLines(t *testing.T) {
	cases := []struct {
		s    string
		max  int
		want string
	}{
		{"a\nb\n", 10, "a\nb\n"},
		{"a\nbb\ncc\n", 6, "a\nbb\n… 1 more line: run adgate diff for the whole report\n"},
		{"aaaa\nb\n", 3, "… 2 more lines: run adgate diff for the whole report\n"},
	}
	for _, c := range cases {
		if got := truncateLines(c.s, c.max); got != c.want {
			t.Errorf("truncateLines(%q, %d) = %q, want %q", c.s, c.max, got, c.want)
		}
	}
}

// TestDiffAnnotationsCap keeps --format github within the ten notices
// GitHub shows per step, the last one counting those left out.
func TestDiffAnnotationsCap(t *testing.T) {
	rep := &specdiff.Report{}
	for i := range 12 {
		pd := specdiff.PartnerDiff{Partner: "p", File: "partners/p.yaml", Status: specdiff.PartnerChanged}
		pd.Postbacks = []specdiff.PostbackDiff{{Postback: "INSTALL", Events: []specdiff.EventDiff{{Event: "e", Kind: specdiff.Starts, Reason: "new postback", Pos: specdiff.Pos{Line: i + 1, Col: 1}}}}}
		rep.Partners = append(rep.Partners, pd)
	}
	ds := diffAnnotations(rep)
	if len(ds) != maxAnnotations {
		t.Fatalf("%d annotations, want %d", len(ds), maxAnnotations)
	}
	if last := ds[len(ds)-1]; last.Line() != 0 || !strings.Contains(last.Message, "3 more spec lines") {
		t.Errorf("last annotation %v", last)
	}
	if ds[8].Line() != 9 {
		t.Errorf("the ninth annotation is line %d, want 9", ds[8].Line())
	}
}
