package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/render"
)

// renderFormat names an output format of `adgate render`. The formats are
// the command's, not the engine's: render.Result is what an embedder gets,
// and encodes itself as JSON.
type renderFormat string

// The output formats.
const (
	formatText renderFormat = "text"
	formatJSON renderFormat = "json"
	formatCurl renderFormat = "curl"
)

// parseRenderFormat checks a --format value.
func parseRenderFormat(s string) (renderFormat, error) {
	return diag.ParseChoice("format", s, formatText, formatJSON, formatCurl)
}

// writeResult prints a render result in format f.
func writeResult(w io.Writer, res render.Result, f renderFormat) error {
	switch f {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	case formatCurl:
		return writeCurl(w, res)
	}
	return writeText(w, res)
}

func writeText(w io.Writer, res render.Result) error {
	ew := &errWriter{w: w}
	ew.printf("partner %s, event %s\n", res.Partner, res.Event)
	if len(res.Requests) == 0 && len(res.Skipped) == 0 {
		ew.printf("no postback: the partner declares none for this event\n")
	}
	for _, r := range res.Requests {
		ew.printf("\n%s: %s %s\n", postbackLabel(r.Postback, r.Name), r.Method, r.URL)
		for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
			ew.printf("  %s: %s\n", k, r.Headers[k])
		}
		if r.Body != "" {
			ew.printf("  body: %s\n", r.Body)
		}
		writeExplain(ew, r.Explain)
	}
	for _, s := range res.Skipped {
		ew.printf("\n%s: skipped: %s\n", postbackLabel(s.Postback, s.Name), s.Reason)
		writeExplain(ew, s.Explain)
	}
	return ew.err
}

// postbackLabel names a postback in output: its key, and its name when it
// is one of several postbacks of the event.
func postbackLabel(key, name string) string {
	if name == "" {
		return key
	}
	return key + " (" + name + ")"
}

func writeExplain(ew *errWriter, ms []render.Macro) {
	if len(ms) == 0 {
		return
	}
	ew.printf("  macros:\n")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	for _, m := range ms {
		req := ""
		if m.Required {
			req = " (required)"
		}
		val := fmt.Sprintf("%q", m.Value)
		if m.Error != "" {
			val = "error: " + m.Error
		}
		fmt.Fprintf(tw, "    {%s}\t%s\t%s%s\t%s: %s\n", m.Name, val, m.Branch, req, m.Source, m.From)
	}
	if err := tw.Flush(); err != nil && ew.err == nil {
		ew.err = err
	}
}

// writeCurl prints one curl command per request, ready to paste into a
// POSIX shell; skipped postbacks become comments.
func writeCurl(w io.Writer, res render.Result) error {
	ew := &errWriter{w: w}
	ew.printf("# partner %s, event %s\n", res.Partner, res.Event)
	for _, r := range res.Requests {
		ew.printf("# %s\ncurl", postbackLabel(r.Postback, r.Name))
		if r.Method != "GET" || r.Body != "" {
			ew.printf(" -X %s", r.Method)
		}
		ew.printf(" %s", shellQuote(r.URL))
		for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
			ew.printf(" \\\n  -H %s", shellQuote(k+": "+r.Headers[k]))
		}
		if r.Body != "" {
			ew.printf(" \\\n  --data-raw %s", shellQuote(r.Body))
		}
		ew.printf("\n")
	}
	for _, s := range res.Skipped {
		ew.printf("# %s skipped: %s\n", postbackLabel(s.Postback, s.Name), strings.ReplaceAll(s.Reason, "\n", " "))
	}
	return ew.err
}

// shellQuote wraps s in single quotes, which keep everything literal in a
// POSIX shell; a single quote inside closes the quotes, adds an escaped
// quote and reopens them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errWriter keeps the first write error, so a format is written as a
// sequence of prints checked once at the end.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
