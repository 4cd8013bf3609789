package spec

import (
	"errors"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/template"
)

// MacroIndexes returns, for every {macro} in text, the byte offsets of the
// whole reference and of the name inside it: {start, end, nameStart,
// nameEnd}. The syntax is the template package's (template.MacroIndexes),
// the one the parser splits macros out of text with, so that the lint and
// the renderer see the same macros; whether a name is a declared
// parameter is the caller's question.
func MacroIndexes(text string) [][]int { return template.MacroIndexes(text) }

// parsed is one template text of a spec, parsed once by the template
// package for all the checks that read it.
type parsed struct {
	text string
	tree *template.Tree
	errs template.ErrorList
	cp   cpCounter
}

func parseTemplate(text string) *parsed {
	tree, err := template.ParseTree("", text)
	p := &parsed{text: text, tree: tree, cp: cpCounter{text: text}}
	errors.As(err, &p.errs) // ParseTree's error is an ErrorList
	return p
}

// cpCounter converts byte offsets of a text to the code-point offsets
// findings use. Offsets asked in increasing order, as a tree walk asks
// them, are counted on from the previous one: a text of n nodes costs
// O(len), not O(n*len).
type cpCounter struct {
	text string
	off  int // the byte offset asked last
	cps  int // its code-point offset
}

func (c *cpCounter) at(off int) int {
	if off < c.off {
		c.off, c.cps = 0, 0
	}
	off = min(off, len(c.text))
	c.cps += utf8.RuneCountInString(c.text[c.off:off])
	c.off = off
	return c.cps
}

// templateProblem is a template finding: its code-point offset in the
// text, rule and message.
type templateProblem struct {
	off       int
	rule, msg string
}

// problems returns the template package's errors and warnings as
// findings: one per error, the constructs adgate refuses as
// template-blocked and the rest (syntax, and the parser's nesting
// bounds) as template-syntax; then one per construct on Branch's
// blocklist that adgate runs, as branch-blocked.
func (p *parsed) problems() []templateProblem {
	var out []templateProblem
	add := func(e *template.Error, rule string) {
		off := 0
		if e.Line > 0 {
			off = p.cp.at(e.Offset)
		}
		out = append(out, templateProblem{off: off, rule: rule, msg: e.Msg})
	}
	for _, e := range p.errs {
		rule := RuleTemplateSyntax
		if e.Rule == template.RuleBlocked {
			rule = RuleTemplateBlocked
		}
		add(e, rule)
	}
	for _, w := range p.tree.Warnings {
		add(w, RuleBranchBlocked)
	}
	return out
}

// macroRef is one {macro} found in template text.
type macroRef struct {
	Name       string
	Start, End int // code-point offsets of { and past }
}

// textMacros returns the {macro} references in one text node.
func (p *parsed) textMacros(n *template.TextNode) []macroRef {
	var out []macroRef
	for _, m := range MacroIndexes(n.Text) {
		name := n.Text[m[2]:m[3]]
		start := p.cp.at(n.Start.Offset + m[0])
		out = append(out, macroRef{Name: name, Start: start, End: start + utf8.RuneCountInString(name) + 2})
	}
	return out
}

// macros returns the {macro} references in the literal text of the
// template, at any depth, outside ${...}, tags and comments.
func (p *parsed) macros() []macroRef {
	var out []macroRef
	p.tree.Walk(func(n template.Node) bool {
		if t, ok := n.(*template.TextNode); ok {
			out = append(out, p.textMacros(t)...)
		}
		return true
	})
	return out
}
