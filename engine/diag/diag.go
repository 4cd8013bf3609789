// Package diag holds the diagnostics every adgate command reports about a
// user's file: where (a range: file:line:col to line:col, with byte
// offsets), how bad (severity), which stable rule, and what to do. The shape
// follows go vet's one-line output and HCL's severity/summary/detail split;
// text output shows the source under each finding with a caret line, as
// rustc and HCL do.
package diag

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Severity says whether a diagnostic fails a run. The zero Severity is
// none of them: a diagnostic built without one is a bug, which Valid
// reports and JSON refuses, instead of passing for an error (or for less).
type Severity int

const (
	// Error fails validation: a spec with an error is never loaded.
	Error Severity = iota + 1
	// Warning is reported but only fails under --strict.
	Warning
	// Info never fails; it records what a tool did (an importer's repair, say).
	Info
)

// Valid reports whether s is one of Error, Warning and Info.
func (s Severity) Valid() bool { return s >= Error && s <= Info }

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Info:
		return "info"
	case 0:
		return "unset"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalJSON writes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("diag: invalid severity %s", s)
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON reads a severity name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for _, c := range []Severity{Error, Warning, Info} {
		if c.String() == name {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", name)
}

// Diagnostic is one finding about a range of a user's file. A zero Range
// means the finding is about the file as a whole.
type Diagnostic struct {
	File     string
	Range    Range
	Severity Severity
	Rule     string
	Message  string
	// Hint says what to do about it; it is appended to the message in text
	// output and kept apart in JSON.
	Hint string
}

// jsonDiagnostic is a Diagnostic's JSON form. line and column repeat the
// range's start, as they were before ranges existed, so consumers that
// read only them keep working.
type jsonDiagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"column"`
	Range    *Range   `json:"range,omitempty"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

// MarshalJSON writes the diagnostic with its range.
func (d Diagnostic) MarshalJSON() ([]byte, error) {
	j := jsonDiagnostic{File: d.File, Line: d.Range.Start.Line, Col: d.Range.Start.Col, Severity: d.Severity, Rule: d.Rule, Message: d.Message, Hint: d.Hint}
	if !d.Range.IsZero() {
		j.Range = &d.Range
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes; without a range, line and
// column give a zero-width one whose offsets are unknown.
func (d *Diagnostic) UnmarshalJSON(b []byte) error {
	var j jsonDiagnostic
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*d = Diagnostic{File: j.File, Severity: j.Severity, Rule: j.Rule, Message: j.Message, Hint: j.Hint}
	d.Range = Point(j.Line, j.Col)
	if j.Range != nil {
		d.Range = *j.Range
	}
	return nil
}

// Line is the line the finding starts on, 0 for a whole-file finding.
func (d Diagnostic) Line() int { return d.Range.Start.Line }

// Col is the column the finding starts at, 0 when unknown.
func (d Diagnostic) Col() int { return d.Range.Start.Col }

// Pos is the file:line:col prefix of the diagnostic, with the file name's
// hidden characters escaped (see Escape).
func (d Diagnostic) Pos() string {
	file := Escape(d.File)
	switch p := d.Range.Start; {
	case p.Line <= 0:
		return file
	case p.Col <= 0:
		return fmt.Sprintf("%s:%d", file, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
	}
}

// String formats the diagnostic like go vet: "file:line:col: severity rule:
// message (hint)", with hidden characters escaped (see Escape).
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos())
	b.WriteString(": ")
	b.WriteString(d.Severity.String())
	if d.Rule != "" {
		b.WriteString(" ")
		b.WriteString(Escape(d.Rule))
	}
	b.WriteString(": ")
	b.WriteString(Escape(d.Message))
	if d.Hint != "" {
		b.WriteString(" (")
		b.WriteString(Escape(d.Hint))
		b.WriteString(")")
	}
	return b.String()
}

// Error lets a single diagnostic travel as an error.
func (d Diagnostic) Error() string { return d.String() }

// List is a set of diagnostics, usually all findings for a run.
type List []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool { return l.Count(Error) > 0 }

// Count returns how many diagnostics have severity s.
func (l List) Count(s Severity) int {
	n := 0
	for _, d := range l {
		if d.Severity == s {
			n++
		}
	}
	return n
}

// Sort orders diagnostics by file, line, column, then rule, so output is
// stable whatever order the checks ran in.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Range.Start.Line, b.Range.Start.Line),
			cmp.Compare(a.Range.Start.Col, b.Range.Start.Col),
			cmp.Compare(a.Range.End.Line, b.Range.End.Line),
			cmp.Compare(a.Range.End.Col, b.Range.End.Col),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Err returns the list as an error when it holds an error, else nil.
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return ListError(l)
}

// ListError is a List that failed; its message names every error.
type ListError List

func (e ListError) Error() string {
	var msgs []string
	for _, d := range e {
		if d.Severity == Error {
			msgs = append(msgs, d.String())
		}
	}
	return strings.Join(msgs, "\n")
}

// Format names an output format for a List.
type Format string

// The output formats of `adgate validate --format`.
const (
	Text   Format = "text"
	JSON   Format = "json"
	GitHub Format = "github"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	return ParseChoice("format", s, Text, JSON, GitHub)
}

// ParseChoice checks the value s of a flag that takes one of a few names,
// such as --format; the error for any other value lists them all, as in
// `unknown format "xml" (want text, json or github)`.
func ParseChoice[T ~string](what, s string, choices ...T) (T, error) {
	if i := slices.Index(choices, T(s)); i >= 0 {
		return choices[i], nil
	}
	want := ""
	for i, c := range choices {
		switch {
		case i == 0:
		case i == len(choices)-1:
			want += " or "
		default:
			want += ", "
		}
		want += string(c)
	}
	return "", fmt.Errorf("unknown %s %q (want %s)", what, s, want)
}

// Write prints the list in format f; text output shows each finding's
// source lines, read from its file (see ReadFiles).
func (l List) Write(w io.Writer, f Format) error {
	return Printer{Format: f, Source: ReadFiles()}.Print(w, l)
}

// Printer prints diagnostics in one format.
type Printer struct {
	Format Format
	// Source gives the text under a finding's range for the snippet that
	// text output prints below it; nil prints no snippets.
	Source SourceFunc
}

// Print writes l. Hidden characters (see Escape) never reach w raw: text
// and GitHub output escape them visibly, JSON output as \u escapes that
// decode back to the original text.
func (p Printer) Print(w io.Writer, l List) error {
	switch p.Format {
	case JSON:
		out := l
		if out == nil {
			out = List{}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return fmt.Errorf("diag: %w", err)
		}
		b = append(escapeJSON(b), '\n')
		_, err = w.Write(b)
		return err
	case GitHub:
		for _, d := range l {
			if _, err := fmt.Fprintln(w, githubCommand(d)); err != nil {
				return err
			}
		}
		return nil
	default:
		// A file's lines as YAML counts them, then as a text file does
		// (see NewPlainSource): the diagnostic does not say which it is.
		sources := map[string][]*Source{}
		for _, d := range l {
			if _, err := fmt.Fprintln(w, d.String()); err != nil {
				return err
			}
			if p.Source == nil || d.Range.IsZero() {
				continue
			}
			srcs, ok := sources[d.File]
			if !ok {
				if data, found := p.Source(d.File); found {
					srcs = []*Source{NewSource(data), NewPlainSource(data)}
				}
				sources[d.File] = srcs
			}
			for _, src := range srcs {
				printed, err := writeSnippet(w, d, src)
				if err != nil {
					return err
				}
				if printed {
					break
				}
			}
		}
		return nil
	}
}

// githubCommand renders a GitHub Actions workflow command, which annotates
// the pull request at the finding's position.
func githubCommand(d Diagnostic) string {
	kind := "error"
	switch d.Severity {
	case Warning:
		kind = "warning"
	case Info:
		kind = "notice"
	}
	props := []string{"file=" + ghProp(Escape(d.File))}
	// GitHub's end line and column are inclusive; a range's end is not.
	r := d.Range
	endLine, endCol := r.End.Line, r.End.Col-1
	if endLine > r.Start.Line && r.End.Col == 1 {
		endLine, endCol = endLine-1, 0
	}
	if r.Start.Line > 0 {
		props = append(props, fmt.Sprintf("line=%d", r.Start.Line))
		if endLine > r.Start.Line {
			props = append(props, fmt.Sprintf("endLine=%d", endLine))
		}
	}
	if r.Start.Col > 0 {
		props = append(props, fmt.Sprintf("col=%d", r.Start.Col))
		if endLine == r.Start.Line && endCol > r.Start.Col {
			props = append(props, fmt.Sprintf("endColumn=%d", endCol))
		}
	}
	if d.Rule != "" {
		props = append(props, "title="+ghProp(Escape(d.Rule)))
	}
	msg := Escape(d.Message)
	if d.Hint != "" {
		msg += " (" + Escape(d.Hint) + ")"
	}
	return "::" + kind + " " + strings.Join(props, ",") + "::" + ghData(msg)
}

// ghData escapes a workflow command's message as the Actions runner expects.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProp escapes a workflow command property value.
func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
