package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/fixture"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

func testCmd() *command {
	c := newCommand("test", "test [-v] [PATH...]",
		"run partner fixture cases (partners/<id>.test.yaml)",
		`Runs the fixture cases of partner specs. A PATH is a directory (every *.test.yaml in it),
a fixture file, or a spec file (its fixture beside it). Default: partners/.
Prints ok or FAIL per partner, a diff for each failing case; exits 1 on any failure.`, argPaths)
	verbose := c.flags.Bool("v", false, "list every case, passed or not")
	c.run = func(ctx context.Context, st stdio, paths []string) int {
		stdout, stderr := st.out, st.errOut
		if len(paths) == 0 {
			paths = []string{defaultPartnersDir}
		}
		fixtures, noFixture, err := findFixtures(paths)
		if err != nil {
			return errExit(stderr, "test", err)
		}
		l, err := spec.NewLoader()
		if err != nil {
			return errExit(stderr, "test", err)
		}
		v, err := event.NewValidator()
		if err != nil {
			return errExit(stderr, "test", err)
		}
		failed := false
		for _, path := range fixtures {
			if err := ctx.Err(); err != nil {
				return errExit(stderr, "test", err)
			}
			if !testFixture(ctx, l, v, path, *verbose, stdout) {
				failed = true
			}
		}
		for _, id := range noFixture {
			fmt.Fprintf(stdout, "?   \t%s\t[no fixture file]\n", id)
		}
		if failed {
			fmt.Fprintln(stdout, "FAIL")
			return 1
		}
		return 0
	}
	return c
}

// findFixtures expands PATH arguments into fixture files, and lists the
// specs of scanned directories that have none. A directory with neither
// is an error: testing nothing must not pass.
func findFixtures(paths []string) (fixtures, noFixture []string, err error) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case fi.IsDir():
			ents, err := os.ReadDir(p)
			if err != nil {
				return nil, nil, err
			}
			have := map[string]bool{}
			for _, e := range ents {
				if !e.IsDir() && strings.HasSuffix(e.Name(), fixture.Suffix) {
					fixtures = append(fixtures, filepath.Join(p, e.Name()))
					have[fixture.PartnerID(e.Name())] = true
				}
			}
			specs, err := spec.DirFiles(p)
			if err != nil {
				return nil, nil, err
			}
			if len(have) == 0 && len(specs) == 0 {
				return nil, nil, fmt.Errorf("%s: no fixture (*%s) and no spec (*.yaml, *.yml) in this directory", p, fixture.Suffix)
			}
			for _, s := range specs {
				if id := spec.TrimExt(filepath.Base(s)); !have[id] {
					noFixture = append(noFixture, id)
				}
			}
		case strings.HasSuffix(p, fixture.Suffix):
			fixtures = append(fixtures, p)
		case spec.IsSpecFile(p):
			fixtures = append(fixtures, spec.TrimExt(p)+fixture.Suffix)
		default:
			return nil, nil, fmt.Errorf("%s is neither a directory, a spec nor a fixture file (*%s)", p, fixture.Suffix)
		}
	}
	slices.Sort(fixtures)
	fixtures = slices.Compact(fixtures)
	return fixtures, noFixture, nil
}

// testFixture runs one fixture file and prints its report; it reports
// whether everything passed.
func testFixture(ctx context.Context, l *spec.Loader, v *event.Validator, path string, verbose bool, out io.Writer) bool {
	id := fixture.PartnerID(path)
	fail := func(format string, args ...any) bool {
		fmt.Fprintf(out, "--- FAIL: %s (%s)\n", id, path)
		writeIndented(out, fmt.Sprintf(format, args...))
		fmt.Fprintf(out, "FAIL\t%s\n", id)
		return false
	}
	f, err := fixture.Load(path)
	if err != nil {
		return fail("%s", fixtureErr(err))
	}
	id = f.Partner
	specPath, err := spec.FindFile(filepath.Dir(path), f.Partner)
	if err != nil {
		return fail("%v", err)
	}
	var diags strings.Builder
	p, err := loadSpecWith(ctx, l, specPath, &diags)
	if err != nil {
		return fail("%s%v", diags.String(), err)
	}
	cp, err := render.Compile(p, l.Catalog())
	if err != nil {
		return fail("%v", err)
	}
	results := fixture.Run(f, cp, v)
	nfail := 0
	for _, r := range results {
		if r.Passed() {
			if verbose {
				fmt.Fprintf(out, "--- PASS: %s/%s\n", id, r.Case.Name)
			}
			continue
		}
		nfail++
		fmt.Fprintf(out, "--- FAIL: %s/%s (%s:%d)\n", id, r.Case.Name, path, r.Case.Line)
		for _, prob := range r.Problems {
			writeIndented(out, prob)
		}
	}
	if nfail > 0 {
		fmt.Fprintf(out, "FAIL\t%s\t(%d cases, %d failed)\n", id, len(results), nfail)
		return false
	}
	fmt.Fprintf(out, "ok  \t%s\t(%d cases)\n", id, len(results))
	return true
}

// writeIndented writes text indented under a FAIL line.
func writeIndented(out io.Writer, text string) {
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(out, "    %s\n", line)
	}
}

func fixtureErr(err error) string {
	var le diag.ListError
	if errors.As(err, &le) {
		var b strings.Builder
		for i, d := range le {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(d.String())
		}
		return b.String()
	}
	return err.Error()
}
