package spec

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// SuppressPrefix starts an inline suppression comment:
//
//	# adgate:ignore <rule-id> <reason>
//
// on the offending line or the line above it.
const SuppressPrefix = "adgate:ignore"

type suppression struct {
	line, col int
	rule      string
	used      bool
}

// comments returns the text of every YAML comment in the tree, line by
// line, so that a "#" inside a value is never taken for a suppression.
func comments(n *yaml.Node, out map[string]bool) {
	if n == nil {
		return
	}
	for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
		for _, l := range strings.Split(c, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out[l] = true
			}
		}
	}
	for _, ch := range n.Content {
		comments(ch, out)
	}
}

// suppress drops the findings an adgate:ignore comment names and reports
// bad, reasonless and unused suppressions.
func (c *checker) suppress() {
	if c.root == nil {
		return
	}
	known := map[string]bool{}
	comments(c.doc, known)
	var sups []*suppression
	for li, line := range c.lines {
		for ci := 0; ci < len(line); ci++ {
			if line[ci] != '#' || (ci > 0 && line[ci-1] != ' ' && line[ci-1] != '\t') {
				continue
			}
			text := strings.TrimSpace(string(line[ci:]))
			if !known[text] {
				continue
			}
			body := strings.TrimSpace(strings.TrimLeft(text, "#"))
			if !strings.HasPrefix(body, SuppressPrefix) {
				break
			}
			fields := strings.Fields(strings.TrimPrefix(body, SuppressPrefix))
			at := pos{li + 1, ci + 1}
			switch {
			case len(fields) == 0:
				c.addRule(at, RuleUnknownSuppress, "adgate:ignore names no rule")
			default:
				r, ok := ruleInfo(fields[0])
				switch {
				case !ok:
					msg := fmt.Sprintf("adgate:ignore names unknown rule %q", fields[0])
					if s := closestRule(fields[0]); s != "" {
						msg += fmt.Sprintf("; did you mean %s?", s)
					}
					c.addRule(at, RuleUnknownSuppress, msg)
				case !r.Suppressible:
					c.addRule(at, RuleUnknownSuppress, fmt.Sprintf("rule %s cannot be suppressed", fields[0]))
				default:
					if len(fields) == 1 {
						c.addRule(at, RuleSuppressNoReason, fmt.Sprintf("adgate:ignore %s gives no reason", fields[0]))
					}
					sups = append(sups, &suppression{line: li + 1, col: ci + 1, rule: fields[0]})
				}
			}
			break
		}
	}
	if len(sups) == 0 {
		return
	}
	kept := c.diags[:0:0]
	for i, d := range c.diags {
		lines := []int{d.Line(), d.Line() - 1}
		if a, ok := c.anchors[i]; ok {
			lines = append(lines, a, a-1)
		}
		silenced := false
		for _, s := range sups {
			if s.rule != d.Rule {
				continue
			}
			for _, l := range lines {
				if s.line == l {
					s.used, silenced = true, true
				}
			}
		}
		if !silenced {
			kept = append(kept, d)
		}
	}
	c.diags = kept
	c.anchors = nil
	for _, s := range sups {
		if !s.used {
			c.addRule(pos{s.line, s.col}, RuleUnusedSuppress, fmt.Sprintf("adgate:ignore %s silences nothing on this line or the next", s.rule))
		}
	}
}

// closestRule is the suppressible rule id nearest to a misspelt one.
func closestRule(id string) string {
	var ids []string
	for _, r := range rules {
		if r.Suppressible {
			ids = append(ids, strings.ToUpper(r.ID))
		}
	}
	return strings.ToLower(closest(id, ids))
}
