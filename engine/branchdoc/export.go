package branchdoc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/adgate/adgate/engine/spec"
)

// Export writes p in the Branch partner-doc format. The doc format has no
// place for request headers, bodies or content types, and one postback per
// event; lost lists, each with what Export did about it, what p carries
// that the doc cannot, so callers can warn (or refuse, as export --strict). Unmapped content goes
// to a trailing "### Unmapped" section that Import reads back, which makes
// import -> export -> import a fixed point.
func Export(p *spec.Partner) (doc []byte, lost []string) {
	var b strings.Builder
	if m := p.MachineNameOrDefault(); m != "a_"+p.ID {
		lost = append(lost, fmt.Sprintf("machine name %s (a Branch doc carries it in its file name: save the doc as %s.md)", m, m))
	}
	b.WriteString("## ")
	if p.Logo != "" {
		fmt.Fprintf(&b, "![image](%s)\t", p.Logo)
	}
	fmt.Fprintf(&b, "***%s***\n", escapeProse(p.Name))
	if p.Website != "" {
		b.WriteString(oneLine(p.Website) + "\n")
	}
	b.WriteString("\n")
	if p.Status != "" {
		fmt.Fprintf(&b, "Integration Status |  ***%s***\n\n", p.Status)
	}
	b.WriteString("###  Description\n")
	if p.Description != "" {
		b.WriteString(escapeProse(p.Description) + "\n")
	}
	b.WriteString("\n### Postbacks\n")
	withMethod, withName := false, false
	for _, pb := range p.Postbacks {
		if pb.MethodOrDefault() != "GET" {
			withMethod = true
		}
		if pb.Name != "" {
			withName = true
		}
	}
	head := []string{"Event"}
	if withName {
		head = append(head, "Name")
		lost = append(lost, "postback names (written in a Name column, which is adgate's: Branch's partner manager does not read it)")
	}
	if withMethod {
		head = append(head, "Method")
	}
	head = append(head, "Postback")
	b.WriteString(strings.Join(head, " | ") + "\n" + strings.Repeat("--- | ", len(head)-1) + "---\n")
	if len(p.Postbacks) == 0 {
		b.WriteString("{}\n")
	}
	firstFor := map[string]string{} // event -> the postback that has it first
	for _, pb := range p.Postbacks {
		what := postbackWhat(pb)
		for _, ev := range pb.Events {
			k := strings.ToLower(ev)
			if first, ok := firstFor[k]; ok {
				lost = append(lost, fmt.Sprintf("extra postback %s for %s (a Branch doc has one postback per event, here %s; written as a second %s row)", what, ev, first, ev))
				continue
			}
			firstFor[k] = what
		}
		if len(pb.Headers) > 0 {
			lost = append(lost, fmt.Sprintf("headers of the %s postback (left out)", what))
		}
		if pb.Body != "" {
			lost = append(lost, fmt.Sprintf("body of the %s postback (left out)", what))
		}
		if pb.ContentType != "" {
			lost = append(lost, fmt.Sprintf("content type of the %s postback (left out)", what))
		}
		if strings.ContainsAny(pb.URL, "\\\n\u2028") {
			lost = append(lost, fmt.Sprintf("backslashes and line breaks in the %s postback URL (a re-import reads them as quotes and spaces)", what))
		}
		u := oneLine(pb.URL)
		if postbackRowStart.MatchString(u) {
			// Text that reads like "EVENT | url" would split the row.
			u = strings.ReplaceAll(u, "|", `\|`)
		}
		for _, ev := range pb.Events {
			cells := []string{ev}
			if withName {
				cells = append(cells, escapeProse(pb.Name))
			}
			if withMethod {
				cells = append(cells, pb.MethodOrDefault())
			}
			cells = append(cells, u)
			b.WriteString(strings.Join(cells, " | ") + "\n")
		}
	}
	b.WriteString("\n### Postback Parameters\n")
	b.WriteString("Parameter name | Branch Parameter | Link Macro | Dashboard Label | Webhook Template | Required | Description\n")
	b.WriteString("--- | --- | --- | --- | --- | --- | --- \n")
	for _, prm := range p.Parameters {
		desc := escapeProse(prm.Description)
		if hasFreeMarker(prm.Description) {
			desc = templateCell(prm.Description)
		}
		if strings.ContainsAny(prm.Template, "\\\n\u2028") {
			lost = append(lost, fmt.Sprintf("backslashes and line breaks in the template of {%s} (a re-import reads them as quotes and spaces)", prm.Macro))
		}
		fmt.Fprintf(&b, "{%s} | %s | %s | %s | %s | %s | %s\n",
			prm.Macro, prm.Branch, protectSuffix(templateCell(prm.LinkMacro)), protectSuffix(escapeProse(prm.Label)),
			protectSuffix(templateCell(prm.Template)), strconv.FormatBool(prm.Required), desc)
	}
	b.WriteString("\n### Link-only Parameters\nBranch Parameter | Link Macro\n--- | ---\n")
	for _, lp := range p.LinkOnly {
		v := templateCell(lp.LinkMacro)
		if lp.Value != "" {
			if lp.LinkMacro != "" {
				lost = append(lost, fmt.Sprintf("value %q of link parameter %s, which also has a link macro (left out)", lp.Value, lp.Branch))
			} else {
				v = lp.Value
			}
		}
		fmt.Fprintf(&b, "%s | %s\n", lp.Branch, v)
	}
	if len(p.AllowedHosts) > 0 {
		var derived []string
		for _, pb := range p.Postbacks {
			if h := templatedHost(pb.URL); h != "" {
				derived = append(derived, h)
			}
		}
		for _, h := range p.AllowedHosts {
			if !slices.Contains(derived, h) {
				lost = append(lost, fmt.Sprintf("allowed host %s (left out)", h))
			}
		}
	}
	if len(p.Unmapped) > 0 {
		fmt.Fprintf(&b, "\n### %s\nSection | Line | Reason | Text\n--- | --- | --- | ---\n", unmappedSection)
		for _, u := range p.Unmapped {
			fmt.Fprintf(&b, "%s | %d | %s | %s\n", escapeProse(u.Section), u.Line, escapeProse(u.Reason), escapeProse(u.Text))
		}
	}
	return []byte(b.String()), lost
}

// postbackWhat names a postback in what Export reports: its name, or
// its events.
func postbackWhat(pb spec.Postback) string {
	if pb.Name != "" {
		return pb.Name
	}
	return strings.Join(pb.Events, ", ")
}

// templateCell escapes the pipes of a template so that they do not split
// the table row; the importer turns \| back into |.
func templateCell(s string) string {
	return oneLine(strings.ReplaceAll(s, "|", `\|`))
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\u2028", " ").Replace(s)
}
