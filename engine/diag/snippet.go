package diag

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SourceFunc returns the contents of a diagnostic's file for its snippet;
// ok false means there is none to show (a file read from stdin, say).
type SourceFunc func(file string) (data []byte, ok bool)

// maxSnippetFile bounds the files ReadFiles reads for snippets; every file
// adgate checks is smaller.
const maxSnippetFile = 8 << 20

// ReadFiles returns a SourceFunc that reads each regular file once, so a
// file with many findings is read one time. Anything else (a pipe, a
// device, a missing or oversized file) has no snippet.
func ReadFiles() SourceFunc {
	cache := map[string][]byte{}
	return func(file string) ([]byte, bool) {
		if b, ok := cache[file]; ok {
			return b, b != nil
		}
		var data []byte
		if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxSnippetFile {
			if b, err := os.ReadFile(file); err == nil {
				data = b
			}
		}
		cache[file] = data
		return data, data != nil
	}
}

// tabWidth is the tab stop of snippets; rustc uses the same.
const tabWidth = 4

// maxSnippetLines bounds a multi-line range's snippet: the first lines and
// the last are shown, with an elision mark between.
const maxSnippetLines = 4

// writeSnippet prints, under a diagnostic's line, the source lines of its
// range with a caret at the start and tildes under the rest:
//
//	   |
//	12 |   url: https://x.test/?a={fo}
//	   |                           ^~~~
//
// It prints nothing, and returns false, when src has no such text: a
// whole-file finding, or a file whose lines src counts otherwise or that
// changed since it was checked (the offsets no longer agree).
func writeSnippet(w io.Writer, d Diagnostic, src *Source) (bool, error) {
	r := d.Range
	// Positions whose offsets are unknown are trusted as they are.
	if r.Start.Offset < 0 {
		r.Start = src.Position(r.Start.Line, r.Start.Col)
	}
	if r.End.Offset < 0 {
		r.End = src.Position(r.End.Line, r.End.Col)
	}
	if r.IsZero() || r.Start.Line > src.Lines() || src.Position(r.Start.Line, r.Start.Col) != r.Start {
		return false, nil
	}
	last := r.End.Line
	switch {
	case last < r.Start.Line || r.End.Offset < r.Start.Offset || src.Position(r.End.Line, r.End.Col) != r.End:
		last, r.End = r.Start.Line, r.Start
	case last > r.Start.Line && r.End.Col == 1:
		// A range that ends at the start of a line ends with the line before.
		last--
	}
	lines := make([]int, 0, maxSnippetLines+1)
	for n := r.Start.Line; n <= last; n++ {
		if last-r.Start.Line+1 > maxSnippetLines && n == r.Start.Line+maxSnippetLines-1 {
			lines = append(lines, 0) // the elision mark
			n = last
		}
		lines = append(lines, n)
	}
	gutter := len(strconv.Itoa(last))
	pad := strings.Repeat(" ", gutter)
	if _, err := fmt.Fprintf(w, "%s |\n", pad); err != nil {
		return true, err
	}
	for _, n := range lines {
		if n == 0 {
			if _, err := fmt.Fprintf(w, "%s |\n", strings.Repeat(".", gutter)); err != nil {
				return true, err
			}
			continue
		}
		text := src.Line(n)
		from, to := 1, utf8.RuneCount(text)+1 // columns underlined, to exclusive
		switch {
		case n == r.Start.Line && r.Start.Col == 0:
			// A finding about the whole line: underline all of its text.
			from = firstNonBlank(text)
		case n == r.Start.Line:
			from = r.Start.Col
		default:
			from = firstNonBlank(text)
		}
		if n == r.End.Line && r.End.Col > 0 {
			to = r.End.Col
		}
		shown, marks := renderLine(text, from, to, n == r.Start.Line)
		out := strings.TrimRight(fmt.Sprintf("%*d | %s", gutter, n, shown), " ") + "\n"
		if marks != "" { // a blank line inside the range has nothing to mark
			out += pad + " | " + marks + "\n"
		}
		if _, err := io.WriteString(w, out); err != nil {
			return true, err
		}
	}
	return true, nil
}

// maxLineCells is the widest snippet line shown whole; a longer one (a
// postback URL of 400 characters) is cut to a window around the range,
// with "..." where text was left out.
const maxLineCells = 120

// leadCells is how much of the line before the range a cut line keeps.
const leadCells = 32

// renderLine returns a source line as it is shown (tabs expanded, hidden
// characters escaped) and the marker line under it: blanks up to column
// from, then a mark for every display cell of columns [from, to). The mark
// under the range's first character is a caret when caret is set; a range
// that covers no cell gets a lone caret where it starts.
func renderLine(text []byte, from, to int, caret bool) (shown, marks string) {
	type piece struct {
		disp string
		cell int // the first cell it takes
		mark []byte
	}
	var pieces []piece
	cells, startCell := 0, -1
	col := 1
	for i := 0; i < len(text); col++ {
		if col == from {
			startCell = cells
		}
		r, size := utf8.DecodeRune(text[i:])
		disp, w := display(r, string(text[i:i+size]), cells)
		i += size
		m := make([]byte, w)
		for k := range m {
			switch {
			case col < from || col >= to:
				m[k] = ' '
			case caret:
				m[k] = '^'
				caret = false
			default:
				m[k] = '~'
			}
		}
		pieces = append(pieces, piece{disp, cells, m})
		cells += w
	}
	if startCell < 0 {
		startCell = cells
	}
	lo, hi := 0, cells
	if cells > maxLineCells {
		lo = max(0, startCell-leadCells)
		hi = min(cells, lo+maxLineCells)
		lo = max(0, hi-maxLineCells)
	}
	var sb, mb strings.Builder
	if lo > 0 {
		sb.WriteString("...")
		mb.WriteString("   ")
	}
	for _, p := range pieces {
		if p.cell < lo || p.cell+len(p.mark) > hi {
			continue
		}
		sb.WriteString(p.disp)
		mb.Write(p.mark)
	}
	if hi < cells {
		sb.WriteString("...")
	}
	if caret {
		// Nothing was marked (a zero-width range, or one past the line's
		// end), so the marker line is only the caret.
		mb.Reset()
		if lo > 0 {
			mb.WriteString("   ")
		}
		mb.WriteString(strings.Repeat(" ", startCell-lo))
		mb.WriteByte('^')
	}
	return sb.String(), strings.TrimRight(mb.String(), " ")
}

// display returns how r, whose bytes are raw, is shown when it starts at
// terminal cell cells, and how many cells that takes.
func display(r rune, raw string, cells int) (string, int) {
	switch {
	case r == '\t':
		n := tabWidth - cells%tabWidth
		return strings.Repeat(" ", n), n
	case hidden(r) || (r == utf8.RuneError && len(raw) == 1):
		e := escapeRune(r, raw)
		return e, len(e) // an escape is ASCII
	case unicode.In(r, unicode.Mn, unicode.Me):
		return raw, 0
	case wide(r):
		return raw, 2
	}
	return raw, 1
}

// wide reports whether r is East Asian Wide or Fullwidth, or an emoji
// presentation character, which terminals draw two cells wide.
func wide(r rune) bool {
	for _, w := range wideRanges {
		if r < w[0] {
			return false
		}
		if r <= w[1] {
			return true
		}
	}
	return false
}

// wideRanges are the main wide blocks of Unicode's EastAsianWidth.txt
// (W and F), sorted; rare wide symbols outside them are drawn one cell,
// which at worst shifts a caret by one.
var wideRanges = [][2]rune{
	{0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC},
	{0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x26AA, 0x26AB},
	{0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x26F5, 0x26F5}, {0x26FA, 0x26FA},
	{0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728}, {0x274C, 0x274C},
	{0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797}, {0x27B0, 0x27B0},
	{0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x2E80, 0x303E},
	{0x3041, 0x33FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xA000, 0xA4CF},
	{0xA960, 0xA97F}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE10, 0xFE19},
	{0xFE30, 0xFE6F}, {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x16FE0, 0x18CFF},
	{0x1AFF0, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E},
	{0x1F191, 0x1F19A}, {0x1F200, 0x1F2FF}, {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF},
	{0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x3FFFD},
}

func firstNonBlank(text []byte) int {
	col := 1
	for _, r := range string(text) {
		if r != ' ' && r != '\t' {
			return col
		}
		col++
	}
	return 1
}
