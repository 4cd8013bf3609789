package spec

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wants reads the "# want: RULE LINE:COL" lines of every file in dir.
func wants(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
				rule, lc, _ := strings.Cut(rest, " ")
				out = append(out, fmt.Sprintf("%s:%s: %s", filepath.Base(f), lc, rule))
			}
		}
		fh.Close()
	}
	slices.Sort(out)
	return out
}

// TestRules runs every lint rule on its failing and passing specs under
// testdata/rules/<rule>/{fail,pass}. A failing dir must produce exactly the
// findings its "# want:" comments list; a passing dir must be clean.
func TestRules(t *testing.T) {
	l := newTestLoader(t)
	for _, r := range Rules() {
		t.Run(r.ID, func(t *testing.T) {
			dir := filepath.Join("testdata", "rules", r.ID)
			for _, kind := range []string{"fail", "pass"} {
				if _, err := os.Stat(filepath.Join(dir, kind)); err != nil {
					t.Fatalf("rule %s has no %s case: %v", r.ID, kind, err)
				}
			}
			_, ds, err := l.LoadPaths(context.Background(), filepath.Join(dir, "fail"))
			if err != nil && !ds.HasErrors() {
				t.Fatalf("load: %v", err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, fmt.Sprintf("%s:%d:%d: %s", filepath.Base(d.File), d.Line(), d.Col(), d.Rule))
			}
			slices.Sort(got)
			want := wants(t, filepath.Join(dir, "fail"))
			found := false
			for _, w := range want {
				found = found || strings.HasSuffix(w, " "+r.ID)
			}
			if !found {
				t.Errorf("failing case wants no %s finding", r.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("fail findings:\n got %s\nwant %s\nfull:\n%s", strings.Join(got, "\n     "), strings.Join(want, "\n     "), ds)
			}
			ps, ds, err := l.LoadPaths(context.Background(), filepath.Join(dir, "pass"))
			if err != nil || len(ds) != 0 {
				t.Errorf("pass case not clean: %v\n%v", err, ds)
			}
			if len(ps) == 0 {
				t.Errorf("pass case loaded no partner")
			}
		})
	}
}

func newTestLoader(t testing.TB) *Loader {
	t.Helper()
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return l
}
