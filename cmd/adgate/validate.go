package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/gateway"
	"github.com/adgate/adgate/engine/spec"
)

// valDefaultPath is validated when no PATH is given.
const valDefaultPath = "partners/"

func validateCmd() *command {
	c := newCommand("validate", "validate [--format text|json|github] [--strict] [--rules] [PATH...]",
		"validate partner specs (schema and lint) for CI and editors",
		`Validates partner specs against schemas/partner.schema.json and the lint rules
(undefined macros, duplicate query keys, unknown Branch parameters, ...).
PATH is a spec file or a directory of specs (*.yaml and *.yml; *.test.yaml fixtures
are skipped); the default is `+valDefaultPath+`. A directory with no spec is an error.
Partner ids must be unique across all PATHs.
A file that is a gateway config (gateway.yaml: it names gateway.schema.json or has
a top-level apps: key) is checked as one, with the partner specs it enables.

Silence one finding with a comment on its line or the line above:
  # adgate:ignore <rule-id> <reason>

Exit status: 0 no errors, 1 errors (or warnings under --strict), 2 usage error.`, argPaths)
	fs := c.flags
	format := fs.String("format", "text", "output `FORMAT`: text (file:line:col: severity rule: message, like go vet),\njson (an array of {file, line, column, range, severity, rule, message, hint}),\nor github (workflow commands that annotate a pull request)")
	strict := fs.Bool("strict", false, "fail (exit 1) on warnings too")
	listRules := fs.Bool("rules", false, "print the lint rules (id, severity, what each catches) and exit;\nwith --format markdown, the docs/lint-rules.md page")
	c.run = func(ctx context.Context, st stdio, paths []string) int {
		return runValidate(ctx, st.out, st.errOut, paths, *format, *strict, *listRules)
	}
	return c
}

func runValidate(ctx context.Context, stdout, stderr io.Writer, paths []string, format string, strict, listRules bool) int {
	if listRules {
		return valPrintRules(stdout, stderr, format)
	}
	f, err := diag.ParseFormat(format)
	if err != nil {
		fmt.Fprintln(stderr, "adgate validate:", err)
		return 2
	}
	if len(paths) == 0 {
		paths = []string{valDefaultPath}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintln(stderr, "adgate validate:", err)
			return 2
		}
	}
	specPaths, configPaths, err := valRoute(paths)
	if err != nil {
		return errExit(stderr, "validate", err)
	}
	if err := valHasSpecs(specPaths); err != nil {
		fmt.Fprintln(stderr, "adgate validate:", err)
		return 2
	}
	l, err := spec.NewLoader()
	if err != nil {
		return errExit(stderr, "validate", err)
	}
	var (
		ds    diag.List
		specs []string // every spec file checked, directly or for a config
	)
	if len(specPaths) > 0 {
		if specs, err = spec.SpecFiles(specPaths...); err != nil {
			return errExit(stderr, "validate", err)
		}
		var le diag.ListError
		if _, ds, err = l.LoadPaths(ctx, specs...); err != nil && !errors.As(err, &le) {
			return errExit(stderr, "validate", err)
		}
	}
	for _, c := range configPaths {
		cds, files, err := gateway.ValidateConfig(ctx, c)
		if err != nil {
			return errExit(stderr, "validate", err)
		}
		ds = append(ds, cds...)
		specs = append(specs, files...)
	}
	// A spec reached directly and through a config's partners_dir was
	// checked once.
	if specs, err = spec.SpecFiles(specs...); err != nil {
		return errExit(stderr, "validate", err)
	}
	ds = valDedupe(ds)
	if err := ds.Write(stdout, f); err != nil {
		return errExit(stderr, "validate", err)
	}
	errs, warns := ds.Count(diag.Error), ds.Count(diag.Warning)
	if f == diag.Text {
		fmt.Fprintln(stderr, valSummary(len(configPaths), len(specs), errs, warns, strict))
	}
	if errs > 0 || (strict && warns > 0) {
		return 1
	}
	return 0
}

// valRoute separates gateway configs (gateway.yaml) from partner specs
// among the file arguments; directories hold partner specs.
func valRoute(paths []string) (specs, configs []string, err error) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if fi.IsDir() || !fi.Mode().IsRegular() {
			specs = append(specs, p)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		if gateway.LooksLikeConfig(b) {
			configs = append(configs, p)
		} else {
			specs = append(specs, p)
		}
	}
	return specs, configs, nil
}

// valHasSpecs checks that every directory given holds a spec: validating
// nothing (an empty or mistyped directory) must not pass in CI.
func valHasSpecs(paths []string) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			continue
		}
		files, err := spec.SpecFiles(p)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("%s: no partner spec (*.yaml, *.yml) in this directory; give a directory of specs or spec files", p)
		}
	}
	return nil
}

// valDedupe drops repeated findings (a spec reached both directly and
// through a gateway config's partners_dir, whose paths may be written one
// absolute and one relative) and sorts the rest.
func valDedupe(ds diag.List) diag.List {
	ds.Sort()
	seen := map[diag.Diagnostic]bool{}
	out := ds[:0]
	for _, d := range ds {
		key := d
		if abs, err := filepath.Abs(d.File); err == nil {
			key.File = abs
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, d)
	}
	return out
}

// valSummary is the line that ends a text run: what was checked, then what
// was found, e.g. "1 config, 3 partner specs checked: 0 errors, 1 warning".
func valSummary(configs, specs, errs, warns int, strict bool) string {
	var checked []string
	if configs > 0 {
		checked = append(checked, plural(configs, "config"))
	}
	checked = append(checked, plural(specs, "partner spec"))
	s := fmt.Sprintf("%s checked: %s, %s", strings.Join(checked, ", "), plural(errs, "error"), plural(warns, "warning"))
	if strict && warns > 0 {
		s += " (--strict: warnings fail)"
	}
	return s
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// rulesFormat names an output format of `validate --rules`.
type rulesFormat string

const (
	rulesText     rulesFormat = "text"
	rulesMarkdown rulesFormat = "markdown"
)

func valPrintRules(w, stderr io.Writer, format string) int {
	f, err := diag.ParseChoice("format", format, rulesText, rulesMarkdown)
	if err != nil {
		fmt.Fprintln(stderr, "adgate validate --rules:", err)
		return 2
	}
	if f == rulesMarkdown {
		if _, err := io.WriteString(w, rulesPage(spec.Rules())); err != nil {
			return errExit(stderr, "validate", err)
		}
		return 0
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tSUPPRESSIBLE\tCATCHES")
	for _, r := range spec.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", r.ID, r.Severity, r.Suppressible, r.Catches)
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}

// rulesPage is docs/lint-rules.md: generated from the registry so that the
// page cannot drift from the code (TestLintRulesPageIsCurrent fails when it
// does).
func rulesPage(rules []spec.RuleInfo) string {
	var b strings.Builder
	b.WriteString(`<!-- Generated by "adgate validate --rules --format markdown" from engine/spec/rules.go; do not edit.
     Regenerate: go test ./cmd/adgate -run TestLintRulesPageIsCurrent -update -->
# Lint rules

The rules ` + "`adgate validate`" + ` checks partner specs with, one line each: its stable
id (used in findings, in ` + "`--format json`" + ` and in suppressions), its severity,
whether an ` + "`# adgate:ignore <rule-id> <reason>`" + ` comment can silence it, what it
catches and what to do. ` + "`adgate validate --rules`" + ` prints the same table in the
terminal. How findings are printed and how suppressions work:
[Validating specs](validate.md).

| rule | severity | suppressible | catches | what to do |
| --- | --- | --- | --- | --- |
`)
	for _, r := range rules {
		supp := "no"
		if r.Suppressible {
			supp = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.ID, r.Severity, supp, markdownCell(r.Catches), markdownCell(r.Fix))
	}
	return b.String()
}

// markdownCell makes registry text safe in a Markdown table cell: a pipe
// would end the cell and a < could open an HTML tag (<#if> is text to a
// reader, not markup). Backquoted spans are kept as code spans when the
// backquotes pair up; a lone backquote is a character in a list and is
// escaped.
func markdownCell(s string) string {
	code := strings.Count(s, "`")%2 == 0
	var b strings.Builder
	inCode := false
	for _, r := range s {
		switch {
		case r == '`' && code:
			inCode = !inCode
			b.WriteRune(r)
		case r == '|':
			b.WriteString(`\|`)
		case inCode:
			b.WriteRune(r)
		case r == '`', r == '<', r == '\\', r == '*', r == '[', r == ']':
			b.WriteRune('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
