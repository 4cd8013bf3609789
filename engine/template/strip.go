package template

import "strings"

// stripWhitespace applies FreeMarker's white-space stripping to the parsed
// tree: on a line holding only FTL tags (directives, user directive calls,
// comments) and white-space, the indentation and the line break go. The
// rules are FreeMarker's own (TextBlock.postParseCleanup in 2.3.31),
// including its quirks: the first top-level text is never touched, and
// what counts is whether the neighbouring elements on the same line "heed"
// white-space. Templates are small, so the tree walks are not optimised.
func stripWhitespace(root *stmt) {
	link(root, nil, 0)
	cleanup(root)
}

func children(s *stmt) []*stmt {
	switch s.kind {
	case sIf, sBranch, sUser, sRoot, sCapture, sList, sListElse, sElseOfList, sItems, sSep:
		return s.body
	}
	return nil
}

func link(s, parent *stmt, idx int) {
	s.parent, s.idx = parent, idx
	for i, c := range children(s) {
		link(c, s, i)
	}
}

func cleanup(s *stmt) {
	if s.kind == sText {
		cleanupText(s)
		return
	}
	kids := children(s)
	if len(kids) == 0 {
		return
	}
	for _, c := range kids {
		cleanup(c)
	}
	out := kids[:0]
	for _, c := range kids {
		if c.kind == sText && isIgnorableText(c) {
			continue
		}
		out = append(out, c)
	}
	for i, c := range out {
		c.idx = i
	}
	s.body = out
}

// isLeaf: captures count as leaves, as FreeMarker's BlockAssignment does.
func isLeaf(s *stmt) bool { return s.kind == sCapture || len(children(s)) == 0 }

// Directions through the statement tree, in document order.
const (
	backward = -1
	forward  = +1
)

// sibling is the statement next to s in its parent's body in direction
// dir, or nil.
func sibling(s *stmt, dir int) *stmt {
	if s.parent == nil {
		return nil
	}
	i := s.idx + dir
	if i < 0 || i >= len(s.parent.body) {
		return nil
	}
	return s.parent.body[i]
}

// leafFrom is the leaf of s met first when coming to it in direction dir:
// its last leaf going backward, its first going forward.
func leafFrom(s *stmt, dir int) *stmt {
	for !isLeaf(s) {
		k := children(s)
		if dir == backward {
			s = k[len(k)-1]
		} else {
			s = k[0]
		}
	}
	return s
}

// terminal is the leaf next to s in direction dir, or nil at the
// template's edge.
func terminal(s *stmt, dir int) *stmt {
	for ; s != nil; s = s.parent {
		if n := sibling(s, dir); n != nil {
			return leafFrom(n, dir)
		}
	}
	return nil
}

func isTopLevel(parent *stmt) bool {
	return parent == nil || (parent.parent == nil && parent.kind == sRoot)
}

func nonOutputting(s *stmt) bool {
	return s != nil && (s.kind == sAssign || s.kind == sComment)
}

func trimmable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > ' ' {
			return false
		}
	}
	return true
}

func isIgnorableText(s *stmt) bool {
	if s.text == "" {
		return true
	}
	if !trimmable(s.text) {
		return false
	}
	top := isTopLevel(s.parent)
	prev, next := sibling(s, backward), sibling(s, forward)
	return ((prev == nil && top) || nonOutputting(prev)) && ((next == nil && top) || nonOutputting(next))
}

// lineHeeded reports whether a leaf that shares s's edge line in
// direction dir (its first line going backward, its last going forward)
// heeds the white space of that line, which then is not stripped.
func lineHeeded(s *stmt, dir int) bool {
	line := s.begin.Line
	if dir == forward {
		line = s.end.Line
	}
	for el := terminal(s, dir); el != nil; el = terminal(el, dir) {
		elLine := el.end.Line
		if dir == forward {
			elLine = el.begin.Line
		}
		if elLine != line {
			return false
		}
		if heeds(el, dir) {
			return true
		}
	}
	return false
}

// heeds reports whether leaf s, met in direction dir, makes its line's
// white space output: an interpolation does, and so does text that,
// read from the side it is met on, has other characters before a line
// break.
func heeds(s *stmt, dir int) bool {
	switch s.kind {
	case sInterp, sHashInterp:
		return true
	case sText:
		if isIgnorableText(s) {
			return false
		}
		rs := []rune(s.text)
		for k := range rs {
			r := rs[k]
			if dir == backward {
				r = rs[len(rs)-1-k]
			}
			if r == '\n' || r == '\r' {
				return false
			}
			if !isJavaWhitespace(r) {
				return true
			}
		}
		return true
	}
	return false
}

func cleanupText(s *stmt) {
	if s.text == "" {
		return
	}
	if isTopLevel(s.parent) && sibling(s, backward) == nil {
		return
	}
	trailing := trailingToStrip(s)
	opening := openingToStrip(s)
	if opening == 0 && trailing == 0 {
		return
	}
	end := len(s.text) - trailing
	if opening > end {
		opening = end
	}
	s.text = s.text[opening:end]
	if opening > 0 {
		s.begin.Line++
		s.begin.Col = 1
	}
}

func openingToStrip(s *stmt) int {
	nl := strings.IndexAny(s.text, "\r\n")
	if nl == -1 && s.begin.Col != 1 {
		return 0
	}
	i := nl + 1
	if len(s.text) > i && i > 0 && s.text[i-1] == '\r' && s.text[i] == '\n' {
		i++
	}
	if !trimmable(s.text[:i]) {
		return 0
	}
	if lineHeeded(s, backward) {
		return 0
	}
	return i
}

func trailingToStrip(s *stmt) int {
	lnl := strings.LastIndexAny(s.text, "\r\n")
	if lnl == -1 && s.begin.Col != 1 {
		return 0
	}
	if !trimmable(s.text[lnl+1:]) {
		return 0
	}
	if lineHeeded(s, forward) {
		return 0
	}
	return len(s.text) - (lnl + 1)
}
