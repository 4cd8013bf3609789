package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
)

// repoRoot is the repository root seen from this package's directory, where
// the docs' commands run.
const repoRoot = "../.."

// lintRulesPage is the generated page of the spec lint's rules.
const lintRulesPage = "docs/lint-rules.md"

// TestLintRulesPageIsCurrent fails when a rule is added to, changed in or
// removed from engine/spec/rules.go and docs/lint-rules.md was not
// regenerated (go test ./cmd/adgate -run TestLintRulesPageIsCurrent -update).
func TestLintRulesPageIsCurrent(t *testing.T) {
	path := filepath.Join(repoRoot, lintRulesPage)
	var out, errOut strings.Builder
	if code := runValidate(t.Context(), &out, &errOut, nil, "markdown", false, true); code != 0 {
		t.Fatalf("validate --rules --format markdown: exit %d: %s", code, errOut.String())
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := pageCurrent(path, out.String()); err != nil {
		t.Fatal(err)
	}
}

// pageCurrent compares a generated page with the file on disk.
func pageCurrent(path, generated string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (generate it with go test ./cmd/adgate -run TestLintRulesPageIsCurrent -update)", err)
	}
	if string(b) != generated {
		return fmt.Errorf("%s is not current with engine/spec/rules.go: regenerate it with go test ./cmd/adgate -run TestLintRulesPageIsCurrent -update\n%s",
			path, firstDifference(string(b), generated))
	}
	return nil
}

// firstDifference names the first line where two texts differ.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  page:      %q\n  generated: %q", i+1, x, y)
		}
	}
	return ""
}

// TestLintRulesPageCatchesChanges shows that the page check is not
// vacuous: a registry with one rule more, one less or one changed no
// longer matches the committed page.
func TestLintRulesPageCatchesChanges(t *testing.T) {
	path := filepath.Join(repoRoot, lintRulesPage)
	rules := spec.Rules()
	changed := slices.Clone(rules)
	changed[0].Fix += " (changed)"
	tests := []struct {
		name  string
		rules []spec.RuleInfo
	}{
		{"rule added", append(slices.Clone(rules), spec.RuleInfo{ID: "zz-new-rule", Severity: diag.Warning, Catches: "something new", Fix: "fix it"})},
		{"rule removed", rules[1:]},
		{"rule changed", changed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := pageCurrent(path, rulesPage(tt.rules)); err == nil {
				t.Errorf("the page check passes a registry with a %s", tt.name)
			}
		})
	}
}

// TestMarkdownCell pins the escaping of registry text in table cells.
func TestMarkdownCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a | b", `a \| b`},
		{"<#if> and <@x>", `\<#if> and \<@x>`},
		{"try `adgate eval`", "try `adgate eval`"},
		{"code `a|b` kept", "code `a\\|b` kept"},
		{"space, quote, <, >, \\, ^, `, {, |, }", "space, quote, \\<, >, \\\\, ^, \\`, {, \\|, }"},
	}
	for _, tt := range tests {
		if got := markdownCell(tt.in); got != tt.want {
			t.Errorf("markdownCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// runMarker, on the line before a ```console fence, marks a docs example
// that TestDocsExamples runs.
const runMarker = "<!-- run -->"

// docExample is one marked ```console block: commands (lines starting
// with "$ ") each followed by its expected output.
type docExample struct {
	file       string
	start, end int // line indexes of the block's content, end exclusive
	cmds       []docCommand
}

type docCommand struct {
	line int      // 1-based line of the command in the page
	text string   // the command, continuation lines joined
	src  []string // the command's lines as written
	want []string // expected output lines
}

// docPages lists the pages whose runnable examples are checked.
func docPages(t *testing.T, root string) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(root, "README.md")}, pages...)
}

// parseExamples finds the runnable examples of one page.
func parseExamples(file string, lines []string) ([]docExample, error) {
	var out []docExample
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != runMarker {
			continue
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "```console" {
			return nil, fmt.Errorf("%s:%d: %s must be followed by a ```console fence", file, i+1, runMarker)
		}
		ex := docExample{file: file, start: i + 2}
		j := ex.start
		for ; j < len(lines) && lines[j] != "```"; j++ {
			l := lines[j]
			if strings.HasPrefix(l, "$ ") {
				c := docCommand{line: j + 1, text: strings.TrimPrefix(l, "$ "), src: []string{l}}
				for strings.HasSuffix(c.text, `\`) && j+1 < len(lines) {
					j++
					c.src = append(c.src, lines[j])
					c.text = strings.TrimSuffix(c.text, `\`) + "\n" + lines[j]
				}
				ex.cmds = append(ex.cmds, c)
				continue
			}
			if len(ex.cmds) == 0 {
				return nil, fmt.Errorf("%s:%d: a runnable example starts with a command ($ ...)", file, j+1)
			}
			c := &ex.cmds[len(ex.cmds)-1]
			c.want = append(c.want, l)
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: unclosed ```console fence", file, i+2)
		}
		ex.end = j
		out = append(out, ex)
		i = j
	}
	return out, nil
}

// TestDocsExamples runs every example marked runnable in README.md and
// docs/*.md and compares its output with the page. Each command runs in
// sh from the repository root, its standard output and error in one
// stream as a terminal shows them. What is normalised, and nothing else:
//
//   - `go run ./cmd/adgate` runs this test binary as adgate, reporting a
//     failure as go run does ("exit status N" on stderr, exit status 1);
//     `adgate` runs it directly.
//   - /tmp/ in a command is a fresh directory per page, written back as
//     /tmp in the output; the commands of a page share it, in order.
//   - $? at the start of a command is the previous command's status.
//   - trailing white space of the output is ignored, and a line "..."
//     in the expected output stands for any number of lines.
//   - an example using ../shared (the corpus) is skipped without it.
//
// go test ./cmd/adgate -run TestDocsExamples -update rewrites the expected
// outputs of failing examples that have no "..." line.
func TestDocsExamples(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		// The child-process protocol of runChild: arguments joined by US.
		"adgate": "#!/bin/sh\nIFS=$(printf '\\037')\n" + childArgsEnv + "=\"$*\" exec '" + self + "'\n",
		"adgate-gorun": "#!/bin/sh\n'" + filepath.Join(bin, "adgate") + "' \"$@\"\nrc=$?\n" +
			"if [ $rc -ne 0 ]; then echo \"exit status $rc\" >&2; exit 1; fi\n",
	}
	for name, s := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, statErr := os.Stat(filepath.Join(root, "..", "shared"))
	haveShared := statErr == nil
	statInputs(t, root)
	total := 0
	for _, page := range docPages(t, root) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		rel, err := filepath.Rel(root, page)
		if err != nil {
			t.Fatal(err)
		}
		exs, err := parseExamples(rel, lines)
		if err != nil {
			t.Fatal(err)
		}
		if len(exs) == 0 {
			continue
		}
		tmp := t.TempDir()
		rewrite := false
		for i := range exs {
			exs[i] = runExample(t, exs[i], root, bin, tmp, haveShared)
			rewrite = rewrite || exs[i].changed(lines)
		}
		total += len(exs)
		if *update && rewrite {
			for i := len(exs) - 1; i >= 0; i-- {
				ex := exs[i]
				lines = slices.Replace(lines, ex.start, ex.end, ex.render()...)
			}
			if err := os.WriteFile(page, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if total == 0 {
		t.Fatal("no runnable docs example found: is the " + runMarker + " marker still in use?")
	}
}

// statInputs stats every file the examples may read. The commands run in
// child processes, whose reads go test does not see; a file this process
// has stat'ed is part of the test cache key, so a changed spec or example
// re-runs the test instead of reusing a cached pass.
func statInputs(t *testing.T, root string) {
	t.Helper()
	for _, dir := range []string{"examples", "partners", "schemas", "../shared/corpus/partner-docs"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return filepath.SkipDir
				}
				return err
			}
			if !d.IsDir() {
				_, err = os.Stat(path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// changed says whether running the example changed an expected output.
func (ex docExample) changed(lines []string) bool {
	return !slices.Equal(lines[ex.start:ex.end], ex.render())
}

// render writes the example's block content.
func (ex docExample) render() []string {
	var out []string
	for _, c := range ex.cmds {
		out = append(out, c.src...)
		out = append(out, c.want...)
	}
	return out
}

// runExample runs the commands of one example in order and reports each
// output that differs. Under -update it returns the example with the
// outputs it got, where they can be written back.
func runExample(t *testing.T, ex docExample, root, bin, tmp string, haveShared bool) docExample {
	t.Helper()
	for _, c := range ex.cmds {
		if strings.Contains(c.text, "../shared/") && !haveShared {
			t.Logf("%s:%d: skipped: ../shared (the partner-doc corpus) is not beside the repository", ex.file, c.line)
			return ex
		}
	}
	status := 0
	for i := range ex.cmds {
		c := &ex.cmds[i]
		cmdText := strings.ReplaceAll(c.text, "go run ./cmd/adgate", "adgate-gorun")
		cmdText = strings.ReplaceAll(cmdText, "/tmp/", tmp+"/")
		sh := exec.Command("sh", "-c", fmt.Sprintf("(exit %d); %s", status, cmdText))
		sh.Dir = root
		sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		var out bytes.Buffer
		sh.Stdout, sh.Stderr = &out, &out
		err := sh.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			status = 0
		case errors.As(err, &ee):
			status = ee.ExitCode()
		default:
			t.Fatalf("%s:%d: %v", ex.file, c.line, err)
		}
		got := strings.ReplaceAll(out.String(), tmp, "/tmp")
		gotLines := outputLines(got)
		if !outputMatches(c.want, gotLines) {
			t.Errorf("%s:%d: $ %s\n--- page\n%s\n--- got\n%s", ex.file, c.line, c.text, strings.Join(c.want, "\n"), strings.Join(gotLines, "\n"))
			if !slices.Contains(c.want, "...") {
				c.want = gotLines
			}
		}
	}
	return ex
}

// outputLines splits an output into lines without trailing white space.
func outputLines(s string) []string {
	s = strings.TrimRight(s, " \t\n")
	if s == "" {
		return nil
	}
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimRight(l, " \t")
	}
	return ls
}

// outputMatches compares expected and actual lines; a "..." line in want
// matches any number of lines.
func outputMatches(want, got []string) bool {
	want = outputLines(strings.Join(want, "\n"))
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "..." {
		for k := 0; k <= len(got); k++ {
			if outputMatches(want[1:], got[k:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && want[0] == got[0] && outputMatches(want[1:], got[1:])
}

// TestOutputMatches pins the "..." rule of the docs examples.
func TestOutputMatches(t *testing.T) {
	tests := []struct {
		want, got []string
		ok        bool
	}{
		{nil, nil, true},
		{[]string{"a"}, []string{"a"}, true},
		{[]string{"a"}, []string{"b"}, false},
		{[]string{"a"}, []string{"a", "b"}, false},
		{[]string{"a", "...", "z"}, []string{"a", "z"}, true},
		{[]string{"a", "...", "z"}, []string{"a", "b", "c", "z"}, true},
		{[]string{"a", "...", "z"}, []string{"a", "b", "c"}, false},
		{[]string{"...", "z"}, []string{"x", "z"}, true},
		{[]string{"a", ""}, []string{"a"}, true},
	}
	for _, tt := range tests {
		if got := outputMatches(tt.want, tt.got); got != tt.ok {
			t.Errorf("outputMatches(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.ok)
		}
	}
}

// TestParseExamples pins the marker syntax, including its errors.
func TestParseExamples(t *testing.T) {
	page := strings.Split("text\n"+runMarker+"\n```console\n$ echo a \\\n  b\na b\n$ true\n```\n", "\n")
	exs, err := parseExamples("p.md", page)
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != 1 || len(exs[0].cmds) != 2 || exs[0].cmds[0].text != "echo a \n  b" || !slices.Equal(exs[0].cmds[0].want, []string{"a b"}) || exs[0].cmds[1].line != 7 {
		t.Errorf("parsed %+v", exs)
	}
	for _, bad := range []string{
		runMarker + "\n```sh\n$ true\n```",
		runMarker + "\n```console\noutput first\n```",
		runMarker + "\n```console\n$ true\n",
	} {
		if _, err := parseExamples("p.md", strings.Split(bad, "\n")); err == nil {
			t.Errorf("parseExamples(%q): no error", bad)
		}
	}
}

// TestImportRulesDocumented fails when the importer reports a rule that
// docs/import.md does not describe. The importer has no registry of
// descriptions, so its page is written by hand; this keeps it complete.
func TestImportRulesDocumented(t *testing.T) {
	namesDocumented(t, "engine/branchdoc", importRuleID, anyLiteral, "docs/import.md", tableRow)
}

// TestMetricsDocumented fails when the gateway exports a metric that the
// metrics table of docs/operations.md does not list.
func TestMetricsDocumented(t *testing.T) {
	namesDocumented(t, "engine", metricName, metricDefinitions, "docs/operations.md", tableRow)
}

// TestRoutesDocumented fails when the gateway serves an endpoint that
// docs/http-api.md does not name.
func TestRoutesDocumented(t *testing.T) {
	namesDocumented(t, "engine/gateway", routePattern, routeDefinitions, "docs/http-api.md", func(page []byte, s string) bool {
		return bytes.Contains(page, []byte("`"+s+"`"))
	})
}

var routePattern = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE) /`)

// routeDefinitions takes the literals that define a route: the Pattern of
// a row of the gateway's route table, or the first argument of a call
// (mux.HandleFunc).
func routeDefinitions(n ast.Node) []*ast.BasicLit {
	if kv, ok := n.(*ast.KeyValueExpr); ok {
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Pattern" {
			if lit, ok := kv.Value.(*ast.BasicLit); ok {
				return []*ast.BasicLit{lit}
			}
		}
		return nil
	}
	return firstArgument(n)
}

// tableRow says whether name has a row of its own in a table of page.
func tableRow(page []byte, name string) bool {
	return bytes.Contains(page, []byte("| `"+name+"` |"))
}

// firstArgument takes the literal first argument of a call (the pattern of
// mux.HandleFunc).
func firstArgument(n ast.Node) []*ast.BasicLit {
	if c, ok := n.(*ast.CallExpr); ok && len(c.Args) > 0 {
		if lit, ok := c.Args[0].(*ast.BasicLit); ok {
			return []*ast.BasicLit{lit}
		}
	}
	return nil
}

var metricName = regexp.MustCompile(`^adgate_[a-z_]+$`)

// anyLiteral takes every string literal of a file.
func anyLiteral(n ast.Node) []*ast.BasicLit {
	if lit, ok := n.(*ast.BasicLit); ok {
		return []*ast.BasicLit{lit}
	}
	return nil
}

// metricDefinitions takes the literals that name a metric where one is
// defined: the first argument of a call (prometheus.NewDesc, the gateway's
// counter helper) or the Name of a prometheus ...Opts literal. Other
// adgate_ strings (a sample event's name) are not metrics.
func metricDefinitions(n ast.Node) []*ast.BasicLit {
	switch n := n.(type) {
	case *ast.CallExpr:
		return firstArgument(n)
	case *ast.KeyValueExpr:
		if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Name" {
			if lit, ok := n.Value.(*ast.BasicLit); ok {
				return []*ast.BasicLit{lit}
			}
		}
	}
	return nil
}

// namesDocumented finds the string literals that pick selects and re
// matches in the non-test Go files under dir, and requires each to be
// documented on page.
func namesDocumented(t *testing.T, dir string, re *regexp.Regexp, pick func(ast.Node) []*ast.BasicLit, page string, documented func(page []byte, name string) bool) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(repoRoot, page))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	err = filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			for _, lit := range pick(n) {
				if lit.Kind != token.STRING {
					continue
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || !re.MatchString(s) {
					continue
				}
				seen++
				if !documented(text, s) {
					t.Errorf("%s: %s is not documented on %s", fset.Position(lit.Pos()), s, page)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatalf("no name matching %s found under %s: has the naming changed?", re, dir)
	}
}

var importRuleID = regexp.MustCompile(`^import-[a-z-]+$`)

// TestDocsLinks checks every relative link of README.md and docs/*.md: the
// file exists and, for a #fragment, so does a heading with that anchor
// (GitHub's rule: lower case, punctuation dropped, spaces to hyphens).
func TestDocsLinks(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(page string) map[string]bool {
		if a, ok := anchors[page]; ok {
			return a
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		anchors[page] = headingAnchors(string(b))
		return anchors[page]
	}
	for _, page := range docPages(t, root) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, page)
		for i, line := range strings.Split(stripFences(string(b)), "\n") {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, frag, _ := strings.Cut(target, "#")
				dest := page
				if file != "" {
					dest = filepath.Join(filepath.Dir(page), file)
				}
				destRel, _ := filepath.Rel(root, dest)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", rel, i+1, target, destRel)
					continue
				}
				if frag != "" && strings.HasSuffix(dest, ".md") && !anchorsOf(dest)[frag] {
					t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", rel, i+1, target, destRel, frag)
				}
			}
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsAnchorsInExamples checks the docs/PAGE.md#anchor references in
// examples/ (the alert rules' runbook_url, the dashboard's links): an
// operator paged at night follows them, so the heading must exist.
func TestDocsAnchorsInExamples(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docAnchorRef.FindAllStringSubmatch(line, -1) {
				n++
				page, err := os.ReadFile(filepath.Join(root, "docs", m[1]))
				if err != nil {
					t.Errorf("%s:%d: docs/%s#%s: %v", rel, i+1, m[1], m[2], err)
					continue
				}
				if !headingAnchors(string(page))[m[2]] {
					t.Errorf("%s:%d: docs/%s has no heading with anchor #%s", rel, i+1, m[1], m[2])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no docs/PAGE.md#anchor reference found under examples/: the alert rules' runbook links should be there")
	}
}

var docAnchorRef = regexp.MustCompile(`docs/([a-z0-9-]+\.md)#([a-z0-9_-]+)`)

// stripFences blanks the lines of fenced code blocks (keeping the line
// count), where brackets and # lines are code, not links and headings.
func stripFences(s string) string {
	lines := strings.Split(s, "\n")
	in := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			in = !in
			lines[i] = ""
			continue
		}
		if in {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// headingAnchors returns the anchors GitHub gives a page's headings.
func headingAnchors(s string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range strings.Split(stripFences(s), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimLeft(l, "#")
		if !strings.HasPrefix(h, " ") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(h)) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// TestHeadingAnchors pins the anchor rule on headings the docs use.
func TestHeadingAnchors(t *testing.T) {
	got := headingAnchors("# A\n## The account file (`--account FILE`)\n## Branch's deviations from stock FreeMarker\n```\n# not a heading\n```\n## `adgate render`\n## A\n")
	for _, want := range []string{"a", "the-account-file---account-file", "branchs-deviations-from-stock-freemarker", "adgate-render", "a-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a # line in a code block made an anchor")
	}
}

// TestSchemaKeysDocumented fails when a key is added to a schema and not to
// its reference page: every property of the partner schema has a table row
// on docs/specs.md, and every leaf key of the gateway schema is named on
// docs/gateway.md.
func TestSchemaKeysDocumented(t *testing.T) {
	tests := []struct {
		schema, page string
		documented   func(page, path string) bool
	}{
		{"schemas/partner.schema.json", "docs/specs.md", func(page, path string) bool {
			return strings.Contains(page, "| `"+path[strings.LastIndex(path, ".")+1:]+"` |")
		}},
		{"schemas/gateway.schema.json", "docs/gateway.md", func(page, path string) bool {
			leaf := path[strings.LastIndex(path, ".")+1:]
			return regexp.MustCompile(`\b` + regexp.QuoteMeta(leaf) + `\b`).MatchString(page)
		}},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join(repoRoot, tt.schema))
		if err != nil {
			t.Fatal(err)
		}
		var schema map[string]any
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatalf("%s: %v", tt.schema, err)
		}
		page, err := os.ReadFile(filepath.Join(repoRoot, tt.page))
		if err != nil {
			t.Fatal(err)
		}
		roots := []map[string]any{schema}
		for _, key := range []string{"definitions", "$defs"} {
			defs, _ := schema[key].(map[string]any)
			for _, name := range slices.Sorted(maps.Keys(defs)) {
				if d, ok := defs[name].(map[string]any); ok {
					roots = append(roots, d)
				}
			}
		}
		var leaves []string
		for _, r := range roots {
			leaves = append(leaves, schemaLeaves(r, "")...)
		}
		if len(leaves) == 0 {
			t.Fatalf("%s: no properties found", tt.schema)
		}
		for _, p := range leaves {
			if !tt.documented(string(page), p) {
				t.Errorf("%s: key %s is not documented on %s", tt.schema, p, tt.page)
			}
		}
	}
}

// schemaLeaves lists the dotted paths of a schema object's properties,
// descending into nested objects; a property with properties of its own is
// documented through them.
func schemaLeaves(o map[string]any, prefix string) []string {
	props, _ := o["properties"].(map[string]any)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(props)) {
		sub, _ := props[k].(map[string]any)
		if _, nested := sub["properties"]; nested {
			out = append(out, schemaLeaves(sub, prefix+k+".")...)
			continue
		}
		out = append(out, prefix+k)
	}
	return out
}

// TestCommandsDocumented fails when a command is missing from the CLI
// reference or a flag from every page: each command is named on
// docs/cli.md (which links to its page), and each flag is spelled, as help
// spells it, somewhere in docs/.
func TestCommandsDocumented(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, page := range docPages(t, root) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	cli, err := os.ReadFile(filepath.Join(root, "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(string(cli), "`adgate "+c.name) {
			t.Errorf("command %s is not on docs/cli.md", c.name)
		}
		c.flags.VisitAll(func(f *flag.Flag) {
			if name := flagName(f.Name); !strings.Contains(all.String(), name) {
				t.Errorf("flag %s of adgate %s is on no docs page", name, c.name)
			}
		})
	}
}

// TestValidateRulesFormats pins the formats of validate --rules.
func TestValidateRulesFormats(t *testing.T) {
	tests := []struct {
		format   string
		code     int
		stdout   string // prefix
		inStderr string
	}{
		{"text", 0, "RULE ", ""},
		{"markdown", 0, "<!-- Generated by", ""},
		{"json", 2, "", `unknown format "json" (want text or markdown)`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			code, out, errOut := runCLI(t, "validate", "--rules", "--format", tt.format)
			if code != tt.code || !strings.HasPrefix(out, tt.stdout) || !strings.Contains(errOut, tt.inStderr) {
				t.Errorf("validate --rules --format %s: exit %d\nstdout: %.80q\nstderr: %q", tt.format, code, out, errOut)
			}
		})
	}
}
