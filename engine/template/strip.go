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
	case sIf, sBranch, sUser, sRoot, sCapture:
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

func prevSibling(s *stmt) *stmt {
	if s.parent == nil || s.idx == 0 {
		return nil
	}
	return s.parent.body[s.idx-1]
}

func nextSibling(s *stmt) *stmt {
	if s.parent == nil || s.idx+1 >= len(s.parent.body) {
		return nil
	}
	return s.parent.body[s.idx+1]
}

func lastLeaf(s *stmt) *stmt {
	for !isLeaf(s) {
		k := children(s)
		s = k[len(k)-1]
	}
	return s
}

func firstLeaf(s *stmt) *stmt {
	for !isLeaf(s) {
		s = children(s)[0]
	}
	return s
}

func prevTerminal(s *stmt) *stmt {
	if p := prevSibling(s); p != nil {
		return lastLeaf(p)
	}
	if s.parent != nil {
		return prevTerminal(s.parent)
	}
	return nil
}

func nextTerminal(s *stmt) *stmt {
	if n := nextSibling(s); n != nil {
		return firstLeaf(n)
	}
	if s.parent != nil {
		return nextTerminal(s.parent)
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
	prev, next := prevSibling(s), nextSibling(s)
	return ((prev == nil && top) || nonOutputting(prev)) && ((next == nil && top) || nonOutputting(next))
}

func heedsOpening(s *stmt) bool {
	switch s.kind {
	case sInterp, sHashInterp:
		return true
	case sText:
		if isIgnorableText(s) {
			return false
		}
		rs := []rune(s.text)
		for i := len(rs) - 1; i >= 0; i-- {
			if rs[i] == '\n' || rs[i] == '\r' {
				return false
			}
			if !isJavaWhitespace(rs[i]) {
				return true
			}
		}
		return true
	}
	return false
}

func heedsTrailing(s *stmt) bool {
	switch s.kind {
	case sInterp, sHashInterp:
		return true
	case sText:
		if isIgnorableText(s) {
			return false
		}
		for _, r := range s.text {
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
	if isTopLevel(s.parent) && prevSibling(s) == nil {
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
	for el := prevTerminal(s); el != nil && el.end.Line == s.begin.Line; el = prevTerminal(el) {
		if heedsOpening(el) {
			return 0
		}
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
	for el := nextTerminal(s); el != nil && el.begin.Line == s.end.Line; el = nextTerminal(el) {
		if heedsTrailing(el) {
			return 0
		}
	}
	return len(s.text) - (lnl + 1)
}
