package template

import "strings"

// node is one element of a template's AST.
type node interface{ pos() Pos }

// Pos is a 1-based line and column in the template text.
type Pos struct{ Line, Col int32 }

func (p Pos) pos() Pos { return p }

type textNode struct {
	Pos
	text string
}

type macroNode struct {
	Pos
	name string
}

type parser struct {
	name string
	text string
	opt  Options
	refs []string
}

func newParser(name, text string, opt Options) *parser {
	return &parser{name: name, text: text, opt: opt}
}

// parseTemplate is the interim text-and-macro parser; the FTL grammar
// replaces it.
func (p *parser) parseTemplate() ([]node, error) {
	if i := strings.IndexAny(p.text, "$<#"); i >= 0 && (strings.Contains(p.text, "${") || strings.Contains(p.text, "<#") || strings.Contains(p.text, "<@")) {
		return nil, &Error{Name: p.name, Line: 1, Col: 1, Rule: RuleSyntax, Msg: "FTL syntax not supported yet"}
	}
	var out []node
	out = append(out, &textNode{Pos{1, 1}, p.text})
	return out, nil
}

type exec struct {
	t   *Template
	out strings.Builder
	opt ExecOptions
}

func newExec(t *Template, root Value, opt *ExecOptions) *exec {
	e := &exec{t: t}
	if opt != nil {
		e.opt = *opt
	}
	return e
}

func (e *exec) run() error {
	for _, n := range e.t.root {
		switch n := n.(type) {
		case *textNode:
			e.out.WriteString(n.text)
		case *macroNode:
			if e.opt.Macro != nil {
				if err := e.opt.Macro(&e.out, n.name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
