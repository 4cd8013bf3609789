package spec

import (
	"errors"
	"strings"

	"github.com/adgate/adgate/engine/template"
)

// parserChecker checks templates with the template engine's own parser, so
// the lint accepts exactly what the renderer can compile. The parser stops
// at its first error and reports an unclosed construct where the text
// ends; the structural scan finds every problem and points at the opening
// tag. So: a template the parser accepts is fine; otherwise the structural
// findings are reported, plus the parser's own error when the scan found
// nothing of its kind.
type parserChecker struct{}

func (parserChecker) CheckTemplate(text string, isMacro func(string) bool) []TemplateProblem {
	_, err := template.Parse("", text, template.Options{IsMacro: isMacro})
	if err == nil {
		return nil
	}
	first := TemplateProblem{Offset: 0, Rule: RuleTemplateSyntax, Msg: err.Error()}
	var te *template.Error
	if errors.As(err, &te) {
		first.Offset, first.Msg = lineColOffset(text, te.Line, te.Col), te.Msg
		if te.Rule == template.RuleBlocked {
			first.Rule = RuleTemplateBlocked
		}
	}
	probs := (structuralChecker{}).CheckTemplate(text, isMacro)
	for _, p := range probs {
		if p.Rule == first.Rule {
			return probs
		}
	}
	return append(probs, first)
}

// lineColOffset converts a 1-based line and column (code points) inside
// text to a code-point offset; unknown positions map to the start.
func lineColOffset(text string, line, col int) int {
	if line < 1 {
		return 0
	}
	off := 0
	lines := strings.SplitAfter(text, "\n")
	for i := 0; i < line-1 && i < len(lines); i++ {
		off += len([]rune(lines[i]))
	}
	if col > 1 {
		off += col - 1
	}
	return min(off, len([]rune(text)))
}
