package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/specdiff"
)

// diffFormat names an output format of `adgate diff`.
type diffFormat string

const (
	diffText     diffFormat = "text"
	diffJSON     diffFormat = "json"
	diffMarkdown diffFormat = "markdown"
	diffGitHub   diffFormat = "github"
)

// Rule ids of the annotations `adgate diff --format github` writes.
const (
	ruleDiffChanged = "diff-changed"
	ruleDiffStarts  = "diff-starts"
	ruleDiffStops   = "diff-stops"
)

// diffFailed is diff's exit code when no diff could be made: 1 is taken
// by --exit-code for "something changed", as in git diff.
const diffFailed = 2

func diffCmd() *command {
	c := newCommand("diff", "diff [--events PATH] [--account FILE] [--format FORMAT] [--exit-code] OLD_DIR NEW_DIR\ndiff --base REV [--events PATH] [--account FILE] [--format FORMAT] [--exit-code] [DIR]",
		"show what partners receive differently after a spec change",
		`Renders the same events through two versions of the partner specs and reports, per
partner and postback, what changes in method, URL (per query parameter), headers and
body, and which postbacks start or stop being sent.

The old version is OLD_DIR, or DIR as it is at git revision REV (--base origin/main),
read with git without checking anything out; DIR defaults to partners/.

The events are the fixture cases of the new version's directory (each with its case's
account; a partner without a fixture there takes OLD_DIR's), or --events PATH: a .json
event, a .ndjson file of events (adgate sample pull writes one), or a directory of them,
rendered through every partner with --account FILE, else the partner's fixture account.

--format: text; json; markdown, a summary for a pull-request comment; github, workflow
annotations on the spec lines that make each change.
Exit status: 0, or with --exit-code 1 when something changes, as git diff; 2 on a usage
error or when the specs or events cannot be read (the message says which).`, argPaths)
	base := c.flags.String("base", "", "compare DIR against git revision `REV` of it")
	eventsPath := c.flags.String("events", "", "render the events of `PATH` (.json, .ndjson or a directory) instead of the fixtures'")
	accountFile := c.flags.String("account", "", "account YAML `FILE` for --events (default: each partner's fixture account)")
	format := c.flags.String("format", "text", "output `FORMAT`: text, json, markdown or github")
	exitCode := c.flags.Bool("exit-code", false, "exit 1 when something changes")
	c.run = func(ctx context.Context, st stdio, args []string) int {
		f, err := diag.ParseChoice("format", *format, diffText, diffJSON, diffMarkdown, diffGitHub)
		if err != nil {
			return c.usageError(st, err.Error())
		}
		var oldDir, newDir string
		switch {
		case *base != "" && len(args) <= 1:
			newDir = defaultPartnersDir
			if len(args) == 1 {
				newDir = args[0]
			}
		case *base != "":
			return c.usageError(st, "with --base give one directory")
		case len(args) == 2:
			oldDir, newDir = args[0], args[1]
		default:
			return c.usageError(st, "give OLD_DIR NEW_DIR, or --base REV [DIR]")
		}
		fail := func(err error) int {
			fmt.Fprintln(st.errOut, "adgate diff:", err)
			return diffFailed
		}
		l, err := spec.NewLoader()
		if err != nil {
			return fail(err)
		}
		var oldFiles []specdiff.File
		oldLabel := oldDir
		if *base != "" {
			oldLabel = *base + ":" + newDir
			oldFiles, err = specdiff.ReadGit(ctx, *base, newDir)
		} else {
			oldFiles, err = specdiff.ReadDir(oldDir)
		}
		if err != nil {
			return fail(err)
		}
		newFiles, err := specdiff.ReadDir(newDir)
		if err != nil {
			return fail(err)
		}
		if len(oldFiles) == 0 && len(newFiles) == 0 {
			return fail(fmt.Errorf("no spec (*.yaml, *.yml) in %s or %s", oldLabel, newDir))
		}
		load := func(label string, files []specdiff.File) (*specdiff.Version, error) {
			v, ds, err := specdiff.Load(ctx, l, label, files)
			if ds.HasErrors() {
				out, df := st.errOut, diag.Text
				if f == diffGitHub {
					out, df = st.out, diag.GitHub
				}
				p := diag.Printer{Format: df}
				if label == newDir {
					p.Source = diag.ReadFiles()
				}
				if werr := p.Print(out, errorsOnly(ds)); werr != nil {
					return nil, werr
				}
				return nil, fmt.Errorf("%s does not load (%d error(s) above); the diff needs both versions to validate", label, ds.Count(diag.Error))
			}
			return v, err
		}
		oldV, err := load(oldLabel, oldFiles)
		if err != nil {
			return fail(err)
		}
		newV, err := load(newDir, newFiles)
		if err != nil {
			return fail(err)
		}
		var opt specdiff.Options
		var events []specdiff.Event
		if *eventsPath != "" {
			if events, err = specdiff.FileEvents(*eventsPath); err != nil {
				return fail(err)
			}
			if *accountFile != "" {
				if opt.Account, err = account.Load(*accountFile); err != nil {
					return fail(err)
				}
			}
		} else if *accountFile != "" {
			return c.usageError(st, "--account goes with --events: fixture cases bring their own")
		}
		fixtureDirs := []string{newDir}
		if oldDir != "" {
			fixtureDirs = append(fixtureDirs, oldDir)
		}
		fixEvents, defaults, err := specdiff.FixtureEvents(fixtureDirs...)
		if err != nil {
			return fail(err)
		}
		opt.Defaults = defaults
		if *eventsPath == "" {
			events = fixEvents
		}
		if len(events) == 0 {
			return fail(fmt.Errorf("no event to render: %s has no fixture case; give --events PATH", newDir))
		}
		rep, err := specdiff.Compare(ctx, oldV, newV, events, opt)
		if err != nil {
			return fail(err)
		}
		if err := writeDiff(st.out, rep, f); err != nil {
			return fail(err)
		}
		if *exitCode && rep.Changed() {
			return 1
		}
		return 0
	}
	return c
}

// errorsOnly keeps the error diagnostics: a version's warnings are its
// validate output's business, not the diff's.
func errorsOnly(ds diag.List) diag.List {
	var out diag.List
	for _, d := range ds {
		if d.Severity == diag.Error {
			out = append(out, d)
		}
	}
	return out
}

func writeDiff(w io.Writer, rep *specdiff.Report, f diffFormat) error {
	switch f {
	case diffJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	case diffMarkdown:
		return writeDiffMarkdown(w, rep)
	case diffGitHub:
		return diag.Printer{Format: diag.GitHub}.Print(w, diffAnnotations(rep))
	}
	return writeDiffText(w, rep)
}

func writeDiffText(w io.Writer, rep *specdiff.Report) error {
	ew := &errWriter{w: w}
	ew.printf("adgate diff %s %s: %s\n", rep.Base, rep.Head, plural(rep.Events, "event"))
	for _, pd := range rep.Partners {
		ew.printf("\n%s (%s", pd.Partner, pd.File)
		if pd.Status != specdiff.PartnerChanged {
			ew.printf(", partner %s", pd.Status)
		}
		ew.printf(")\n")
		for _, pb := range pd.Postbacks {
			ew.printf("  %s\n", pb.Postback)
			for _, ed := range pb.Events {
				ew.printf("    %s: %s\n", ed.Event, eventHeadline(ed))
				if ed.Request != nil {
					ew.printf("      %s %s\n", ed.Request.Method, ed.Request.URL)
					continue
				}
				for _, fc := range ed.Fields {
					ew.printf("      %s\n", fieldLine(fc))
				}
			}
		}
	}
	if len(rep.NoEffect) > 0 {
		ew.printf("\nspec changed, no event shows a difference: %s\n", strings.Join(rep.NoEffect, ", "))
	}
	ew.printf("\n%s\n", diffSummary(rep))
	return ew.err
}

// diffSummary is the report's last line.
func diffSummary(rep *specdiff.Report) string {
	if !rep.Changed() {
		return "no partner receives anything different"
	}
	n := 0
	for _, pd := range rep.Partners {
		n += len(pd.Postbacks)
	}
	return fmt.Sprintf("%s, %s change", plural(len(rep.Partners), "partner"), plural(n, "postback"))
}

func eventHeadline(ed specdiff.EventDiff) string {
	switch ed.Kind {
	case specdiff.Starts:
		return "starts being sent (" + ed.Reason + ")"
	case specdiff.Stops:
		return "stops being sent (" + ed.Reason + ")"
	}
	return "changed"
}

// fieldName is how output names a changed part: "url", "query cid".
func fieldName(fc specdiff.FieldChange) string {
	if fc.Name == "" {
		return fc.Field
	}
	if fc.From != "" {
		return fc.Field + " " + fc.From
	}
	return fc.Field + " " + fc.Name
}

// fieldLine is one change with its values, for text output.
func fieldLine(fc specdiff.FieldChange) string {
	switch {
	case fc.From != "":
		return fmt.Sprintf("%s: renamed to %s (%q)", fieldName(fc), fc.Name, *fc.New)
	case fc.Old == nil:
		return fmt.Sprintf("%s: added %q", fieldName(fc), *fc.New)
	case fc.New == nil:
		return fmt.Sprintf("%s: removed (was %q)", fieldName(fc), *fc.Old)
	}
	return fmt.Sprintf("%s: %q -> %q", fieldName(fc), *fc.Old, *fc.New)
}

// fieldVerb is one change without its values, which differ per event:
// what summaries and annotations group by.
func fieldVerb(fc specdiff.FieldChange) string {
	switch {
	case fc.From != "":
		return fieldName(fc) + " renamed to " + fc.Name
	case fc.Old == nil:
		return fieldName(fc) + " added"
	case fc.New == nil:
		return fieldName(fc) + " removed"
	}
	return fieldName(fc) + " changed"
}

// diffGroup is the changes of one postback that one spec position makes,
// over the events that show them.
type diffGroup struct {
	partner, file, kind string
	pos                 specdiff.Pos
	postbacks           []string
	what                []string
	events              []string
}

// diffGroups folds a report into one group per partner, kind of change
// and spec position, in report order; byPostback also splits them by
// postback (a table row per postback; an annotation per spec line).
func diffGroups(rep *specdiff.Report, byPostback bool) []*diffGroup {
	var out []*diffGroup
	index := map[string]*diffGroup{}
	add := func(pd specdiff.PartnerDiff, pb, kind string, pos specdiff.Pos, what, ev string) {
		key := fmt.Sprintf("%s\x00%s\x00%d:%d", pd.Partner, kind, pos.Line, pos.Col)
		if byPostback {
			key += "\x00" + pb
		}
		g := index[key]
		if g == nil {
			g = &diffGroup{partner: pd.Partner, file: pd.File, kind: kind, pos: pos}
			index[key] = g
			out = append(out, g)
		}
		if !contains(g.postbacks, pb) {
			g.postbacks = append(g.postbacks, pb)
		}
		if !contains(g.what, what) {
			g.what = append(g.what, what)
		}
		if !contains(g.events, ev) {
			g.events = append(g.events, ev)
		}
	}
	for _, pd := range rep.Partners {
		for _, pb := range pd.Postbacks {
			for _, ed := range pb.Events {
				if ed.Kind != specdiff.Changed {
					add(pd, pb.Postback, ed.Kind, ed.Pos, eventHeadline(ed), ed.Event)
					continue
				}
				for _, fc := range ed.Fields {
					add(pd, pb.Postback, ed.Kind, fc.Pos, fieldVerb(fc), ed.Event)
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// diffAnnotations are the report as notices on the new spec lines.
func diffAnnotations(rep *specdiff.Report) diag.List {
	var ds diag.List
	for _, g := range diffGroups(rep, false) {
		rule := ruleDiffChanged
		switch g.kind {
		case specdiff.Starts:
			rule = ruleDiffStarts
		case specdiff.Stops:
			rule = ruleDiffStops
		}
		ds = append(ds, diag.Diagnostic{
			File: g.file, Range: diag.Point(g.pos.Line, g.pos.Col), Severity: diag.Info, Rule: rule,
			Message: fmt.Sprintf("%s %s: %s, for %s", g.partner, strings.Join(g.postbacks, ", "), strings.Join(g.what, "; "), eventList(g.events)),
			Hint:    "check that the partner expects it; adgate diff prints each event's values",
		})
	}
	if len(ds) > maxAnnotations {
		// GitHub shows 10 notices per step and drops the rest silently:
		// the last one it shows says that there are more.
		rest := ds[maxAnnotations-1:]
		ds = append(ds[:maxAnnotations-1:maxAnnotations-1], diag.Diagnostic{
			File: rest[0].File, Severity: diag.Info, Rule: ruleDiffChanged,
			Message: fmt.Sprintf("%d more spec lines change what partners receive; GitHub shows %d annotations per step", len(rest), maxAnnotations),
			Hint:    "see the diff comment, or run adgate diff",
		})
	}
	return ds
}

// maxAnnotations is how many annotations of one kind GitHub shows per
// workflow step.
const maxAnnotations = 10

// eventList names a few events and counts the rest.
func eventList(evs []string) string {
	const show = 3
	if len(evs) <= show {
		return strings.Join(evs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(evs[:show], ", "), len(evs)-show)
}

func writeDiffMarkdown(w io.Writer, rep *specdiff.Report) error {
	ew := &errWriter{w: w}
	ew.printf("### adgate diff\n\n")
	ew.printf("`%s` → `%s`, %s: %s.\n", mdCode(rep.Base), mdCode(rep.Head), plural(rep.Events, "event"), diffSummary(rep))
	if rep.Changed() {
		ew.printf("\n| Partner | Postback | Change | Events |\n| --- | --- | --- | --- |\n")
		for _, g := range diffGroups(rep, true) {
			ew.printf("| %s | %s | %s | %d |\n", mdCell(g.partner), mdCell(g.postbacks[0]), mdCell(strings.Join(g.what, "; ")), len(g.events))
		}
	}
	if len(rep.NoEffect) > 0 {
		ew.printf("\nSpec changed, no event shows a difference: %s.\n", mdCell(strings.Join(rep.NoEffect, ", ")))
	}
	if rep.Changed() {
		var text strings.Builder
		if err := writeDiffText(&text, rep); err != nil {
			return err
		}
		ew.printf("\n<details><summary>Every event</summary>\n\n````text\n%s````\n\n</details>\n", truncateLines(text.String(), maxCommentDetails))
	}
	return ew.err
}

// maxCommentDetails bounds the text report folded into the Markdown
// summary: GitHub refuses comments over 65536 characters, and the table
// above it must still fit.
const maxCommentDetails = 48 << 10

// truncateLines cuts s at the last line end within max bytes, saying so.
func truncateLines(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := strings.LastIndexByte(s[:max], '\n') + 1
	return s[:cut] + "… " + plural(strings.Count(s[cut:], "\n"), "more line") + ": run adgate diff for the whole report\n"
}

// mdCode keeps a value inside a one-backtick code span.
func mdCode(s string) string { return strings.ReplaceAll(s, "`", "'") }

// mdCell keeps a value inside a table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;").Replace(s)
}
