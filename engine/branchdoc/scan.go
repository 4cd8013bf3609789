package branchdoc

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Pos is a position in a source doc. Line counts '\n'-terminated lines
// from 1, as editors and grep do; rows joined by U+2028 share one line and
// differ by Col, which counts code points from 1.
type Pos struct{ Line, Col int }

// segment is one logical line of a doc: a physical line, or a piece of one
// when rows were joined with U+2028 LINE SEPARATOR.
type segment struct {
	Pos
	Text string
}

// section is a "### Name" block of the doc.
type section struct {
	Name string // heading text, trimmed
	Head segment
	Body []segment // non-blank segments
}

// rawDoc is the doc cut into its header lines and sections.
type rawDoc struct {
	Header   []segment
	Sections []*section
}

var headingRe = regexp.MustCompile(`^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$`)

// knownSection maps a normalized heading to its canonical section key.
func knownSection(name string) string {
	n := strings.ToLower(strings.Join(strings.Fields(name), " "))
	n = strings.NewReplacer("-", " ", "_", " ").Replace(n)
	switch n {
	case "description":
		return "description"
	case "postbacks", "postback", "postback urls":
		return "postbacks"
	case "postback parameters", "parameters", "postback macros":
		return "parameters"
	case "link only parameters", "link parameters", "link only":
		return "link_only"
	}
	return ""
}

// scan splits a doc into segments and sections. It never fails: whatever
// it cannot place lands in the header for the importer to report.
func scan(text string) rawDoc {
	var d rawDoc
	var cur *section
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		segs := splitSegments(line, i+1)
		if len(segs) > 0 && segs[0].Col == 1+len(line)-len(strings.TrimLeft(line, " \t")) {
			head := segs[0]
			// "##" with an image is the title; a "###" (or any heading
			// naming a known section) opens a section.
			if m := headingRe.FindStringSubmatch(head.Text); m != nil && strings.HasPrefix(head.Text, "#") &&
				(len(m[1]) >= 3 || knownSection(m[2]) != "") {
				cur = &section{Name: m[2], Head: head}
				d.Sections = append(d.Sections, cur)
				segs = segs[1:]
			}
		}
		for _, seg := range segs {
			if cur == nil {
				d.Header = append(d.Header, seg)
			} else {
				cur.Body = append(cur.Body, seg)
			}
		}
	}
	return d
}

// splitSegments cuts a physical line at U+2028 and drops blank pieces.
func splitSegments(line string, lineNo int) []segment {
	var out []segment
	col := 1
	for {
		idx := strings.IndexRune(line, '\u2028')
		piece := line
		if idx >= 0 {
			piece = line[:idx]
		}
		if strings.TrimSpace(piece) != "" {
			lead := len(piece) - len(strings.TrimLeft(piece, " \t"))
			out = append(out, segment{
				Pos:  Pos{lineNo, col + utf8.RuneCountInString(piece[:lead])},
				Text: strings.TrimRight(piece[lead:], " \t"),
			})
		}
		if idx < 0 {
			return out
		}
		col += utf8.RuneCountInString(piece) + 1
		line = line[idx+len("\u2028"):]
	}
}

// runeCounter converts byte offsets of one string into rune counts,
// incrementally, so that walking a long row stays linear.
type runeCounter struct {
	s      string
	off, n int
}

func (c *runeCounter) at(off int) int {
	if off < c.off {
		c.off, c.n = 0, 0
	}
	c.n += utf8.RuneCountInString(c.s[c.off:off])
	c.off = off
	return c.n
}

// cell is one table cell, trimmed, with the position of its first rune.
type cell struct {
	Pos
	Raw string
}

// splitCells cuts a table row at its column separators. A separator is a
// '|' that is not escaped (\|), not part of "||", and not inside a
// FreeMarker tag (<#...>, <@...>) or interpolation (${...}), so templates
// keep their operators. When max > 0 the last cell takes the rest of the
// row: URL and description columns may contain stray pipes.
func splitCells(seg segment, max int) []cell {
	text := seg.Text
	// Markdown tables may wrap rows in pipes: | a | b |.
	lead := false
	if strings.HasPrefix(text, "|") && !strings.HasPrefix(text, "||") {
		lead = true
		if t := strings.TrimRight(text, " \t"); len(t) > 1 && strings.HasSuffix(t, "|") && !strings.HasSuffix(t, `\|`) && !strings.HasSuffix(t, "||") {
			text = t[:len(t)-1]
		}
	}
	rs := []rune(text)
	var cells []cell
	start := 0
	if lead {
		start = 1
	}
	// Precompute, in one pass each, the matching '}' of every '{' and the
	// next '>' after every rune, so that unclosed template syntax stays
	// plain text instead of swallowing the rest of the row.
	match := make([]int, len(rs))
	var stack []int
	for i, r := range rs {
		match[i] = -1
		switch r {
		case '{':
			stack = append(stack, i)
		case '}':
			if n := len(stack); n > 0 {
				match[stack[n-1]] = i
				stack = stack[:n-1]
			}
		}
	}
	nextGT := make([]int, len(rs)+1)
	nextGT[len(rs)] = -1
	for i := len(rs) - 1; i >= 0; i-- {
		nextGT[i] = nextGT[i+1]
		if rs[i] == '>' {
			nextGT[i] = i
		}
	}
	// seps[k] counts the " | " separators starting before k. A template
	// span that contains one is not protected: it is an unclosed ${ or <#
	// in prose whose closing brace stands in a later cell (Export writes
	// every cell's own pipes as \|, so in its rows " | " only separates).
	seps := make([]int, len(rs)+1)
	for k := range rs {
		seps[k+1] = seps[k]
		if k+2 < len(rs) && rs[k] == ' ' && rs[k+1] == '|' && rs[k+2] == ' ' {
			seps[k+1]++
		}
	}
	crossesSep := func(from, to int) bool { return to > from && seps[to-1]-seps[from] > 0 }
	emit := func(from, to int) {
		raw := string(rs[from:to])
		trimmed := strings.TrimLeft(raw, " \t")
		off := utf8.RuneCountInString(raw) - utf8.RuneCountInString(trimmed)
		cells = append(cells, cell{Pos{seg.Line, seg.Col + from + off}, strings.TrimRight(trimmed, " \t")})
	}
	for i := start; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs) && (rs[i+1] == '|' || rs[i+1] == '\\'):
			i++
			continue
		case r == '$' && i+1 < len(rs) && rs[i+1] == '{' && match[i+1] > 0 && !crossesSep(i, match[i+1]):
			i = match[i+1]
			continue
		case r == '<' && i+1 < len(rs) && (rs[i+1] == '#' || rs[i+1] == '@' || (rs[i+1] == '/' && i+2 < len(rs) && (rs[i+2] == '#' || rs[i+2] == '@'))) && nextGT[i] > 0 && !crossesSep(i, nextGT[i]):
			i = nextGT[i]
			continue
		}
		if r != '|' {
			continue
		}
		if (i+1 < len(rs) && rs[i+1] == '|') || (i > 0 && rs[i-1] == '|') {
			continue
		}
		if max > 0 && len(cells) == max-1 {
			break
		}
		emit(start, i)
		start = i + 1
	}
	emit(start, len(rs))
	return cells
}

// isSeparatorRow reports whether seg is a table's "--- | ---" line.
func isSeparatorRow(seg segment) bool {
	t := strings.Trim(seg.Text, "| \t")
	if t == "" {
		return false
	}
	for _, c := range splitCells(segment{Text: t}, 0) {
		s := strings.Trim(c.Raw, ":")
		if s == "" || strings.Trim(s, "-") != "" {
			return false
		}
	}
	return true
}

// colKey normalizes a table header cell to the field it holds; "" means
// a column the importer does not know.
func colKey(h string) string {
	k := strings.ToLower(strings.TrimSpace(h))
	k = strings.NewReplacer(" ", "_", "-", "_").Replace(k)
	switch k {
	case "parameter_name", "parameter", "macro", "macro_name":
		return "parameter_name"
	case "branch_parameter", "branch", "branch_param", "branch_parameter_name":
		return "branch_parameter"
	case "link_macro", "click_macro":
		return "link_macro"
	case "dashboard_label", "label":
		return "dashboard_label"
	case "webhook_template", "ad_network_template", "template", "webhook":
		return "webhook_template"
	case "required", "is_required", "mandatory":
		return "required"
	case "description":
		return "description"
	case "event", "events", "event_name":
		return "event"
	case "postback", "postback_url", "url":
		return "postback"
	case "method", "http_method":
		return "method"
	case "name", "postback_name":
		return "name"
	}
	return ""
}

// Row starts, for docs whose table rows were joined with plain spaces
// instead of U+2028 (what a terminal shows of the corpus docs): an event
// followed by a URL, a {macro} followed by a Branch parameter, a Branch
// parameter followed by a link macro.
var (
	postbackRowStart = regexp.MustCompile(`(?:^|\s)[A-Za-z][A-Za-z0-9_]*\s\|\s+(?:https?://|\{|<|\$)`)
	paramRowStart    = regexp.MustCompile(`(?:^|\s)\{[^{}\s|]+\}\s\|\s+[A-Za-z][A-Za-z0-9_]*\s+\|`)
	linkRowStart     = regexp.MustCompile(`(?:^|\s)[A-Z][A-Z0-9_]+\s\|\s`)
)

// splitJoinedRows cuts a segment at every row start that follows at least
// cols-1 column separators since the previous row's start, so that a cell
// that merely looks like a row start ({x} | ID | inside a row) is not cut.
// Segments with template syntax are left whole: a row start inside a
// template cannot be told from text.
func splitJoinedRows(seg segment, start *regexp.Regexp, cols int) []segment {
	// Pipe-wrapped rows (| a | b |) are a careful writer's: not joined.
	if hasFreeMarker(seg.Text) || strings.HasPrefix(seg.Text, "|") {
		return []segment{seg}
	}
	// The segment's start is a row start whatever it looks like; every
	// later match is a candidate.
	ms := start.FindAllStringIndex(seg.Text, -1)
	var out []segment
	rc := &runeCounter{s: seg.Text}
	from := 0
	for _, m := range ms {
		if m[0] <= from || separators(seg.Text[from:m[0]]) < cols-1 {
			continue
		}
		at := m[0]
		for at < len(seg.Text) && (seg.Text[at] == ' ' || seg.Text[at] == '\t') {
			at++
		}
		if piece := strings.TrimSpace(seg.Text[from:at]); piece != "" {
			out = append(out, segment{Pos{seg.Line, seg.Col + rc.at(from)}, piece})
		}
		from = at
	}
	if from == 0 {
		return []segment{seg}
	}
	out = append(out, segment{Pos{seg.Line, seg.Col + rc.at(from)}, strings.TrimSpace(seg.Text[from:])})
	return out
}

// separators counts the unescaped single '|' of s.
func separators(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '|' || (i > 0 && (s[i-1] == '\\' || s[i-1] == '|')) || (i+1 < len(s) && s[i+1] == '|') {
			continue
		}
		n++
	}
	return n
}
