// Package diag holds the diagnostics every adgate command reports about a
// user's file: where (file:line:col), how bad (severity), which stable rule,
// and what to do. The shape follows go vet's one-line output and HCL's
// severity/summary/detail split.
package diag

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Severity says whether a diagnostic fails a run.
type Severity int

const (
	// Error fails validation: a spec with an error is never loaded.
	Error Severity = iota
	// Warning is reported but only fails under --strict.
	Warning
	// Info never fails; it records what a tool did (an importer's repair, say).
	Info
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Info:
		return "info"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalJSON writes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

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

// Diagnostic is one finding about a position in a user's file. Line and Col
// are 1-based; Col counts Unicode code points, as editors do. A zero Line
// means the finding is about the file as a whole.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"column"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	// Hint says what to do about it; it is appended to the message in text
	// output and kept apart in JSON.
	Hint string `json:"hint,omitempty"`
}

// Pos is the file:line:col prefix of the diagnostic.
func (d Diagnostic) Pos() string {
	switch {
	case d.Line <= 0:
		return d.File
	case d.Col <= 0:
		return fmt.Sprintf("%s:%d", d.File, d.Line)
	}
	return fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Col)
}

// String formats the diagnostic like go vet: "file:line:col: severity rule: message (hint)".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos())
	b.WriteString(": ")
	b.WriteString(d.Severity.String())
	if d.Rule != "" {
		b.WriteString(" ")
		b.WriteString(d.Rule)
	}
	b.WriteString(": ")
	b.WriteString(d.Message)
	if d.Hint != "" {
		b.WriteString(" (")
		b.WriteString(d.Hint)
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
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
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

// Write prints the list in format f.
func (l List) Write(w io.Writer, f Format) error {
	switch f {
	case JSON:
		out := l
		if out == nil {
			out = List{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case GitHub:
		for _, d := range l {
			if _, err := fmt.Fprintln(w, githubCommand(d)); err != nil {
				return err
			}
		}
		return nil
	default:
		for _, d := range l {
			if _, err := fmt.Fprintln(w, d.String()); err != nil {
				return err
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
	props := []string{"file=" + ghProp(d.File)}
	if d.Line > 0 {
		props = append(props, fmt.Sprintf("line=%d", d.Line))
	}
	if d.Col > 0 {
		props = append(props, fmt.Sprintf("col=%d", d.Col))
	}
	if d.Rule != "" {
		props = append(props, "title="+ghProp(d.Rule))
	}
	msg := d.Message
	if d.Hint != "" {
		msg += " (" + d.Hint + ")"
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
