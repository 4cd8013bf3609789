package diag

import (
	"encoding/json"
	"unicode/utf8"
)

// Position is a point in a file. Line and Col are 1-based and Col counts
// Unicode code points, as editors and yaml.v3 do; Offset is the 0-based byte
// offset, which tools that slice the file need, or -1 while it is not known
// (see Point and List.Locate). A zero Line means no point: the finding is
// about the file as a whole.
type Position struct {
	Line   int
	Col    int
	Offset int
}

type jsonPosition struct {
	Line   int  `json:"line"`
	Col    int  `json:"column"`
	Offset *int `json:"offset,omitempty"`
}

// MarshalJSON leaves out an unknown offset rather than write -1.
func (p Position) MarshalJSON() ([]byte, error) {
	j := jsonPosition{Line: p.Line, Col: p.Col}
	if p.Offset >= 0 {
		j.Offset = &p.Offset
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Position) UnmarshalJSON(b []byte) error {
	var j jsonPosition
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Position{Line: j.Line, Col: j.Col, Offset: -1}
	if j.Offset != nil {
		p.Offset = *j.Offset
	}
	return nil
}

// Point is the zero-width range at line:col of a file whose bytes the
// caller does not have at hand (a YAML node's position); its offsets are
// unknown until List.Locate fills them in. A line below 1 gives the zero
// Range, a whole-file finding.
func Point(line, col int) Range {
	if line < 1 {
		return Range{}
	}
	p := Position{Line: line, Col: col, Offset: -1}
	return Range{Start: p, End: p}
}

// Range is the span of text a finding is about, End exclusive. A finding
// that only knows a point has a zero-width range (Start == End).
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// IsZero reports whether the range names no position (a whole-file finding).
func (r Range) IsZero() bool { return r.Start.Line <= 0 }

// Source indexes a file's bytes by line, so that producers turn the
// line:col positions their parsers give into ranges with byte offsets, and
// the text printer finds the line a range is on.
type Source struct {
	data []byte
	// starts[i] is the byte offset of line i+1; ends[i] is where its text
	// stops, before the line break.
	starts, ends []int
}

// NewSource indexes a YAML file. Lines break where yaml.v3 breaks them (LF,
// CRLF, CR, NEL, LS, PS), so that line numbers agree with those of every
// YAML node.
func NewSource(data []byte) *Source { return newSource(data, true) }

// NewPlainSource indexes a text file whose lines end at LF or CRLF only,
// as editors and grep count them (a Markdown doc, say).
func NewPlainSource(data []byte) *Source { return newSource(data, false) }

func newSource(data []byte, yamlBreaks bool) *Source {
	s := &Source{data: data, starts: []int{0}}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		brk := 0
		switch {
		case r == '\n':
			brk = size
			if !yamlBreaks && i > 0 && data[i-1] == '\r' {
				// The CR of a CRLF is part of the break, not of the line.
				s.ends = append(s.ends, i-1)
				i += brk
				s.starts = append(s.starts, i)
				continue
			}
		case !yamlBreaks:
		case r == 0x85, r == 0x2028, r == 0x2029:
			brk = size
		case r == '\r':
			brk = 1
			if i+1 < len(data) && data[i+1] == '\n' {
				brk = 2
			}
		}
		if brk == 0 {
			i += size
			continue
		}
		s.ends = append(s.ends, i)
		i += brk
		s.starts = append(s.starts, i)
	}
	s.ends = append(s.ends, len(data))
	return s
}

// Lines returns how many lines the source has.
func (s *Source) Lines() int { return len(s.starts) }

// Line returns the text of line n (1-based) without its line break, or nil
// when there is no such line.
func (s *Source) Line(n int) []byte {
	if n < 1 || n > len(s.starts) {
		return nil
	}
	return s.data[s.starts[n-1]:s.ends[n-1]]
}

// Position returns the position of line:col with its byte offset. A column
// past the line's end stands just after its last character (where a "missing
// value" finding points); a line past the end of the file is clamped to the
// end, so a producer's off-by-one never turns into a panic. Column 0 is a
// finding about the whole line (a parser that only names the line); its
// offset is the line's start.
func (s *Source) Position(line, col int) Position {
	if line < 1 {
		return Position{}
	}
	if line > len(s.starts) {
		line = len(s.starts)
		col = utf8.RuneCount(s.Line(line)) + 1
	}
	off := s.starts[line-1]
	if col < 1 {
		return Position{Line: line, Offset: off}
	}
	end := s.ends[line-1]
	c := 1
	for c < col && off < end {
		_, size := utf8.DecodeRune(s.data[off:end])
		off += size
		c++
	}
	return Position{Line: line, Col: c, Offset: off}
}

// Point is the zero-width range at line:col.
func (s *Source) Point(line, col int) Range {
	p := s.Position(line, col)
	return Range{Start: p, End: p}
}

// Span is the range from startLine:startCol up to (not including)
// endLine:endCol. An end before the start gives a zero-width range at the start.
func (s *Source) Span(startLine, startCol, endLine, endCol int) Range {
	a, b := s.Position(startLine, startCol), s.Position(endLine, endCol)
	if b.Offset < a.Offset || b.Line == 0 {
		b = a
	}
	return Range{Start: a, End: b}
}

// Locate fills in the offsets of the findings about file that only know
// line:col (see Point), from the file's text.
func (l List) Locate(file string, src *Source) {
	for i := range l {
		d := &l[i]
		if d.File != file || d.Range.IsZero() {
			continue
		}
		if d.Range.Start.Offset < 0 {
			d.Range.Start = src.Position(d.Range.Start.Line, d.Range.Start.Col)
		}
		if d.Range.End.Offset < 0 {
			d.Range.End = src.Position(d.Range.End.Line, d.Range.End.Col)
		}
	}
}
