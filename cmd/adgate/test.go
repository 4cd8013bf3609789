package main

import (
	"bytes"
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
	c := newCommand("test", "test [-v] [--run REGEX] [--update] [--junit FILE] [PATH...]",
		"run partner fixture cases (partners/<id>.test.yaml)",
		`Runs the fixture cases of partner specs. A PATH is a directory (every *.test.yaml in it),
a fixture file, or a spec file (its fixture beside it). Default: partners/.
Prints ok or FAIL per partner, a diff for each failing case; exits 1 on any failure.

--run PARTNER/CASE runs only the matching cases, as go test selects tests: each part is an
unanchored regular expression ('clevertap', 'clevertap/install', '/purchase').
--update rewrites the expectations of failing cases to what they render now,
in place: comments, layout and passing cases are kept; review it as a diff.
--junit FILE writes a JUnit XML report, one testcase per case, for CI.`, argPaths)
	verbose := c.flags.Bool("v", false, "list every case, passed or not")
	runPattern := c.flags.String("run", "", "run only the cases matching `REGEX` (PARTNER or PARTNER/CASE)")
	update := c.flags.Bool("update", false, "rewrite the expectations of failing cases to their current output")
	junit := c.flags.String("junit", "", "write a JUnit XML report to `FILE`")
	c.run = func(ctx context.Context, st stdio, paths []string) int {
		stdout, stderr := st.out, st.errOut
		match, err := fixture.NewMatch(*runPattern)
		if err != nil {
			return c.usageError(st, "--run: "+err.Error())
		}
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
		failed, ran := false, 0
		var reports []fixtureReport
		for _, path := range fixtures {
			if err := ctx.Err(); err != nil {
				return errExit(stderr, "test", err)
			}
			rep := testFixture(ctx, l, v, path, match)
			if rep.skip {
				continue
			}
			if *update {
				rep.update()
			}
			if !rep.write(stdout, *verbose) {
				failed = true
			}
			ran += len(rep.results)
			reports = append(reports, rep)
		}
		for _, id := range noFixture {
			if match.Partner(id) {
				fmt.Fprintf(stdout, "?   \t%s\t[no fixture file]\n", id)
			}
		}
		if *junit != "" {
			if err := writeJUnit(*junit, reports); err != nil {
				return errExit(stderr, "test", err)
			}
		}
		if match != nil && ran == 0 && !failed {
			return errExit(stderr, "test", fmt.Errorf("no case matches --run %q", *runPattern))
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
			specs, err := spec.SpecFiles(p)
			if err != nil {
				return nil, nil, err
			}
			if len(have) == 0 && len(specs) == 0 {
				return nil, nil, fmt.Errorf("%s: no fixture (*%s) and no spec (*.yaml, *.yml) in this directory", p, fixture.Suffix)
			}
			for _, s := range specs {
				if id := spec.SpecID(s); !have[id] {
					noFixture = append(noFixture, id)
				}
			}
		case strings.HasSuffix(p, fixture.Suffix):
			fixtures = append(fixtures, p)
		case spec.IsSpecFile(p):
			fixtures = append(fixtures, filepath.Join(filepath.Dir(p), spec.SpecID(p)+fixture.Suffix))
		default:
			return nil, nil, fmt.Errorf("%s is neither a directory, a spec nor a fixture file (*%s)", p, fixture.Suffix)
		}
	}
	slices.Sort(fixtures)
	fixtures = slices.Compact(fixtures)
	return fixtures, noFixture, nil
}

// fixtureReport is the outcome of one fixture file.
type fixtureReport struct {
	id, path string
	// err is why the fixture did not run (it or its spec does not load).
	err string
	// skip is set when --run selects none of the fixture's cases.
	skip    bool
	results []fixture.Result
	// updates say, under --update, which failing cases were rewritten.
	updates map[*fixture.Case]error
}

// testFixture runs the cases match selects in one fixture file.
func testFixture(ctx context.Context, l *spec.Loader, v *event.Validator, path string, match *fixture.Match) fixtureReport {
	rep := fixtureReport{id: fixture.PartnerID(path), path: path}
	f, err := fixture.Load(path)
	if err != nil {
		rep.err, rep.skip = fixtureErr(err), !match.Partner(rep.id)
		return rep
	}
	rep.id = f.Partner
	f.Cases = match.Select(f)
	if len(f.Cases) == 0 {
		rep.skip = true
		return rep
	}
	specPath, err := spec.FindFile(filepath.Dir(path), f.Partner)
	if err != nil {
		rep.err = err.Error()
		return rep
	}
	var diags strings.Builder
	p, err := loadSpecWith(ctx, l, specPath, &diags)
	if err != nil {
		rep.err = diags.String() + err.Error()
		return rep
	}
	cp, err := render.Compile(p, l.Catalog())
	if err != nil {
		rep.err = err.Error()
		return rep
	}
	rep.results = fixture.Run(f, cp, v)
	return rep
}

// update rewrites the fixture file's failing expectations (--update).
func (rep *fixtureReport) update() {
	if rep.err != "" || !slices.ContainsFunc(rep.results, func(r fixture.Result) bool { return !r.Passed() }) {
		return
	}
	rep.updates = map[*fixture.Case]error{}
	fail := func(err error) {
		for _, r := range rep.results {
			if !r.Passed() {
				rep.updates[r.Case] = err
			}
		}
	}
	src, err := os.ReadFile(rep.path)
	if err != nil {
		fail(err)
		return
	}
	out, ups, err := fixture.Update(src, rep.results)
	if err != nil {
		fail(err)
		return
	}
	for _, u := range ups {
		rep.updates[u.Case] = u.Err
	}
	if bytes.Equal(out, src) {
		return
	}
	// Write the whole file beside it and rename: an interrupted update
	// leaves the old file, not half of the new one.
	fi, err := os.Stat(rep.path)
	if err == nil {
		tmp := rep.path + ".adgate-update"
		if err = os.WriteFile(tmp, out, fi.Mode().Perm()); err == nil {
			err = os.Rename(tmp, rep.path)
		}
	}
	if err != nil {
		fail(fmt.Errorf("writing the updated fixture: %w", err))
	}
}

// updated reports whether --update rewrote a failing case.
func (rep *fixtureReport) updated(c *fixture.Case) bool {
	err, ok := rep.updates[c]
	return ok && err == nil
}

// write prints the report; it returns false when something failed.
func (rep *fixtureReport) write(out io.Writer, verbose bool) bool {
	if rep.err != "" {
		fmt.Fprintf(out, "--- FAIL: %s (%s)\n", rep.id, rep.path)
		writeIndented(out, rep.err)
		fmt.Fprintf(out, "FAIL\t%s\n", rep.id)
		return false
	}
	nfail, nupdated := 0, 0
	for _, r := range rep.results {
		switch {
		case r.Passed():
			if verbose {
				fmt.Fprintf(out, "--- PASS: %s/%s\n", rep.id, r.Case.Name)
			}
		case rep.updated(r.Case):
			nupdated++
			fmt.Fprintf(out, "--- UPDATED: %s/%s (%s:%d)\n", rep.id, r.Case.Name, rep.path, r.Case.Line)
		default:
			nfail++
			fmt.Fprintf(out, "--- FAIL: %s/%s (%s:%d)\n", rep.id, r.Case.Name, rep.path, r.Case.Line)
			for _, prob := range r.Problems {
				writeIndented(out, prob)
			}
			if err, ok := rep.updates[r.Case]; ok {
				writeIndented(out, "not updated: "+err.Error())
			}
		}
	}
	counts := fmt.Sprintf("%d cases", len(rep.results))
	if nupdated > 0 {
		counts += fmt.Sprintf(", %d updated", nupdated)
	}
	if nfail > 0 {
		fmt.Fprintf(out, "FAIL\t%s\t(%s, %d failed)\n", rep.id, counts, nfail)
		return false
	}
	fmt.Fprintf(out, "ok  \t%s\t(%s)\n", rep.id, counts)
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
