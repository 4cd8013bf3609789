package spec

import (
	"bytes"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
)

// pos is a 1-based line and column (in code points, as yaml.v3 and editors count).
type pos struct{ Line, Col int }

// source indexes a file's text by line so that positions inside scalar
// values can be traced back to where their characters stand.
type source struct {
	lines [][]rune
}

// newSource takes its lines from text, which breaks them where yaml.v3
// does, so positions agree with the nodes'.
func newSource(text *diag.Source) *source {
	var s source
	s.lines = make([][]rune, 0, text.Lines())
	for n := 1; n <= text.Lines(); n++ {
		line := text.Line(n)
		if !utf8.Valid(line) {
			line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
		}
		s.lines = append(s.lines, bytes.Runes(line))
	}
	return &s
}

// cursor walks the source one code point at a time; a line end reads as '\n'.
type cursor struct {
	s         *source
	line, col int // 0-based
}

func (c *cursor) eof() bool { return c.line >= len(c.s.lines) }

func (c *cursor) peek() rune {
	if c.eof() {
		return -1
	}
	l := c.s.lines[c.line]
	if c.col >= len(l) {
		return '\n'
	}
	return l[c.col]
}

func (c *cursor) peekAt(n int) rune {
	d := *c
	for i := 0; i < n; i++ {
		d.next()
	}
	return d.peek()
}

func (c *cursor) next() {
	if c.eof() {
		return
	}
	if c.col >= len(c.s.lines[c.line]) {
		c.line++
		c.col = 0
		return
	}
	c.col++
}

func (c *cursor) pos() pos { return pos{c.line + 1, c.col + 1} }

// scalarPositions returns, for each code point of n.Value and one past its
// end, the position in the file where it is written. YAML's folding, quote
// doubling, escapes and block indentation make the value differ from its
// source text, so the value is aligned against the source: equal characters
// match, and the whitespace, line breaks and escape text that the value
// does not carry are skipped.
func (s *source) scalarPositions(n *yaml.Node) []pos {
	val := []rune(n.Value)
	out := make([]pos, 0, len(val)+1)
	c := &cursor{s: s, line: n.Line - 1, col: n.Column - 1}
	switch n.Style {
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		c.next() // the opening quote
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The value starts on the line after the | or > header.
		c.line++
		c.col = 0
	}
	for _, v := range val {
		for guard := 0; ; guard++ {
			r := c.peek()
			if r == -1 || guard > 1<<16 {
				out = append(out, c.pos())
				break
			}
			if n.Style == yaml.DoubleQuotedStyle && r == '\\' {
				nx := c.peekAt(1)
				if nx == '\n' { // escaped line break: no value character
					c.next()
					c.next()
					continue
				}
				out = append(out, c.pos())
				c.next()
				c.next()
				switch nx {
				case 'x':
					c.skip(2)
				case 'u':
					c.skip(4)
				case 'U':
					c.skip(8)
				}
				break
			}
			if r == v {
				out = append(out, c.pos())
				c.next()
				if n.Style == yaml.SingleQuotedStyle && v == '\'' && c.peek() == '\'' {
					c.next()
				}
				break
			}
			if r == ' ' || r == '\t' || r == '\n' {
				c.next()
				continue
			}
			// The value has a character the source does not (a fold
			// produced a space or newline): it stands where we are.
			out = append(out, c.pos())
			break
		}
	}
	out = append(out, c.pos())
	return out
}

func (c *cursor) skip(n int) {
	for i := 0; i < n; i++ {
		c.next()
	}
}
