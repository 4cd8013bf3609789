package spec

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/internal/yamlx"
)

// lint runs the semantic checks a schema cannot express.
func (c *checker) lint() {
	p := c.partner
	cat := c.l.cat
	defined := map[string]int{} // macro -> parameter index
	for i, prm := range p.Parameters {
		idx := strconv.Itoa(i)
		if prm.Macro != "" {
			if first, dup := defined[prm.Macro]; dup {
				c.addRuleSpan(c.fieldSpan("parameters", idx, "macro"), RuleDuplicateParam,
					fmt.Sprintf("macro {%s} is already defined by parameters[%d]", prm.Macro, first))
			} else {
				defined[prm.Macro] = i
			}
		}
		// Only a finding needs the span, which costs a walk of the value.
		branchAt := func() span { return c.fieldSpan("parameters", idx, "branch") }
		if prm.Branch != "" {
			def, known := cat.Lookup(prm.Branch)
			switch {
			case !known:
				c.unknownBranch(branchAt(), prm.Branch)
			case def.LinkOnly:
				c.addRuleSpan(branchAt(), RuleLinkOnlyParameter, fmt.Sprintf("%s is a link-only click parameter; as a postback parameter {%s} has no value", prm.Branch, prm.Macro))
			}
			if known && def.Source == catalog.SourceParameterTemplate && strings.TrimSpace(prm.Template) == "" {
				c.addRuleSpan(branchAt(), RuleMissingTemplate, fmt.Sprintf("%s parameter {%s} has no template, so its value is always empty", prm.Branch, prm.Macro))
			}
		}
		switch prm.Branch {
		case "CUSTOM_LINK_MACRO", "CLICK_ID":
			if strings.TrimSpace(prm.LinkMacro) == "" {
				c.addRuleSpan(branchAt(), RuleMissingLinkMacro, fmt.Sprintf("%s parameter {%s} has no link_macro, so the tracking link never carries its value", prm.Branch, prm.Macro))
			}
		case "ACCOUNT_CREDENTIAL":
			if strings.TrimSpace(prm.Label) == "" {
				c.addRuleSpan(branchAt(), RuleMissingLabel, fmt.Sprintf("credential {%s} has no label for the dashboard", prm.Macro))
			}
		}
		if n := c.node("parameters", idx, "template"); prm.Template != "" && n != nil && n.Kind == yaml.ScalarNode {
			c.checkTemplate(n, parseTemplate(n.Value))
		}
	}
	for i, lp := range p.LinkOnly {
		if lp.Branch == "" {
			continue
		}
		if _, known := cat.Lookup(lp.Branch); !known {
			c.unknownBranch(c.fieldSpan("link_only", strconv.Itoa(i), "branch"), lp.Branch)
		}
	}

	isMacro := func(name string) bool { _, ok := defined[name]; return ok }
	used := map[string]bool{}
	_, conflicts := p.Selection()
	for _, cf := range conflicts {
		c.conflict(cf)
	}
	for i := range p.Postbacks {
		idx := strconv.Itoa(i)
		if n := c.node("postbacks", idx, "url"); n != nil && n.Kind == yaml.ScalarNode {
			t := parseTemplate(n.Value)
			c.checkText(n, t, isMacro, used)
			c.checkURL(n, t, defined)
		}
		if hn := c.node("postbacks", idx, "headers"); hn != nil && hn.Kind == yaml.MappingNode {
			for k := 1; k < len(hn.Content); k += 2 {
				if v := hn.Content[k]; v.Kind == yaml.ScalarNode {
					c.checkText(v, parseTemplate(v.Value), isMacro, used)
				}
			}
		}
		if n := c.node("postbacks", idx, "body"); n != nil && n.Kind == yaml.ScalarNode {
			t := parseTemplate(n.Value)
			c.checkText(n, t, isMacro, used)
			if pb := &p.Postbacks[i]; pb.BodyChecked() && len(t.errs) == 0 {
				switch pb.BodyFormat() {
				case BodyJSON:
					c.checkJSONBody(n, t)
				case BodyForm:
					c.checkFormBody(n, t)
				}
			}
		}
	}
	c.lintDelivery()
	if len(p.Postbacks) > 0 {
		for i, prm := range p.Parameters {
			if prm.Macro != "" && !used[prm.Macro] && defined[prm.Macro] == i {
				c.addRuleSpan(c.fieldSpan("parameters", strconv.Itoa(i), "macro"), RuleUnusedParameter,
					fmt.Sprintf("parameter {%s} (%s) is not used by any postback", prm.Macro, prm.Branch))
			}
		}
	}
}

// conflict reports a listing the selection rule cannot run (see
// Partner.Selection), worded for its kind.
func (c *checker) conflict(cf Conflict) {
	p := c.partner
	pb, idx := &p.Postbacks[cf.Postback], strconv.Itoa(cf.Postback)
	if cf.Event < 0 {
		msg := fmt.Sprintf("postback name %q is already the name of postbacks[%d]", pb.Name, cf.First)
		if !strings.EqualFold(p.Postbacks[cf.First].Name, pb.Name) || cf.First == cf.Postback {
			msg = fmt.Sprintf("postback name %q is also an event listed by postbacks[%d]; --postback could not tell them apart", pb.Name, cf.First)
		}
		c.addRuleSpan(c.fieldSpan("postbacks", idx, "name"), RuleDuplicateName, msg)
		return
	}
	ev := pb.Events[cf.Event]
	if ev == "" {
		return // the schema reports the empty name
	}
	msg := fmt.Sprintf("event %s is listed twice in this postback", ev)
	if cf.First != cf.Postback {
		msg = fmt.Sprintf("event %s is already listed by postbacks[%d], and neither postback has a name; name one of them (name: ...) to send both", ev, cf.First)
	}
	c.addRuleSpan(c.fieldSpan("postbacks", idx, "events", strconv.Itoa(cf.Event)), RuleDuplicateEvent, msg)
}

// node returns the scalar string node at a path, or nil.
func (c *checker) node(segs ...string) *yaml.Node {
	_, v := lookup(c.root, segs)
	v = yamlx.Deref(v)
	if v == nil || (v.Kind == yaml.ScalarNode && v.ShortTag() != "!!str") {
		return nil
	}
	return v
}

// atOffset adds a finding at code point off inside scalar n, anchored to
// the scalar's first line for suppressions.
func (c *checker) atOffset(n *yaml.Node, off int, rule, msg string) {
	c.atSpan(n, off, off, rule, msg)
}

// atSpan adds a finding about code points [from, to) of scalar n's value.
func (c *checker) atSpan(n *yaml.Node, from, to int, rule, msg string) {
	r, _ := ruleInfo(rule)
	i := c.addSpan(c.offsetPos(n, from), c.offsetPos(n, to), r.Severity, rule, msg, r.Fix)
	c.anchors[i] = n.Line
}

// checkText checks a URL, header or body template: its macros are
// defined and it is a well-formed template.
func (c *checker) checkText(n *yaml.Node, t *parsed, isMacro func(string) bool, used map[string]bool) {
	for _, m := range t.macros() {
		if isMacro(m.Name) {
			used[m.Name] = true
			continue
		}
		c.atSpan(n, m.Start, m.End, RuleUndefinedMacro, fmt.Sprintf("macro {%s} has no parameter definition", m.Name))
	}
	c.checkTemplate(n, t)
}

// checkTemplate reports the template's errors, each once, at its
// position in scalar n.
func (c *checker) checkTemplate(n *yaml.Node, t *parsed) {
	for _, pr := range t.problems() {
		c.atOffset(n, pr.off, pr.rule, pr.msg)
	}
}

func (c *checker) unknownBranch(at span, name string) {
	msg := fmt.Sprintf("unknown Branch parameter %q", name)
	if s := closest(name, c.l.cat.Names()); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	c.addRuleSpan(at, RuleUnknownBranch, msg)
}

// closest returns the known name nearest to name by edit distance, when
// it is close enough to be a plausible typo.
func closest(name string, known []string) string {
	best, bestD := "", len(name)/3+1
	for _, k := range known {
		if d := editDistance(strings.ToUpper(name), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// lintDelivery checks the delivery block's patterns and status lists with
// the same functions the gateway uses to build the policy from them.
func (c *checker) lintDelivery() {
	d := c.partner.Delivery
	if d == nil {
		return
	}
	for _, f := range []struct{ key, val string }{{"success_body", d.SuccessBody}, {"failure_body", d.FailureBody}} {
		if f.val == "" {
			continue
		}
		if _, err := CompilePattern(f.val); err != nil {
			c.addRuleSpan(c.fieldSpan("delivery", f.key), RuleDeliveryPattern, fmt.Sprintf("delivery.%s: %v", f.key, err))
		}
	}
	for i, code := range d.SuccessStatus {
		if code < 100 || code > 599 {
			c.addRuleSpan(c.fieldSpan("delivery", "success_status", strconv.Itoa(i)), RuleDeliveryStatus,
				fmt.Sprintf("delivery.success_status: %d is not a status code (100-599)", code))
		}
	}
	for i, e := range d.RetryStatus {
		if _, _, err := ParseStatus(e); err != nil {
			c.addRuleSpan(c.fieldSpan("delivery", "retry_status", strconv.Itoa(i)), RuleDeliveryStatus, "delivery.retry_status: "+err.Error())
		}
	}
}
