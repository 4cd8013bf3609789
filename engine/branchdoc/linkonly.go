package branchdoc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/template"
)

// settingRe matches a link-only "macro" that is really a fixed setting
// value, as in S2S | true.
var settingRe = regexp.MustCompile(`(?i)^(true|false|yes|no|on|off|-?\d+(\.\d+)?)$`)

func (im *importer) linkOnly(s *section) {
	keys, names, rows := tableHeader(s, "branch_parameter", []string{"branch_parameter", "link_macro"})
	if len(keys) == 2 && keys[0] == "branch_parameter" {
		rows = im.unjoin(rows, linkRowStart, 2, "link-only")
	}
	for _, seg := range rows {
		cells := splitCells(seg, len(keys))
		var lp spec.LinkParam
		var notes []string
		var macroCell cell
		ok := true
		for i, c := range cells {
			key := column(keys, i, "")
			switch key {
			case "branch_parameter":
				v, _ := im.clean(c, kindPlain, "link-only Branch parameter")
				if !identRe.MatchString(v) {
					ok = false
				}
				lp.Branch = strings.ToUpper(v)
				if ok && lp.Branch != v {
					im.warn(c.Pos, RuleBranchCase, fmt.Sprintf("Branch parameter %q is not upper case; read it as %q", v, lp.Branch), "")
				}
			case "link_macro":
				v, n := im.clean(c, kindTemplate, "link-only macro")
				notes = append(notes, n...)
				if fixed, ok := closeMacro(v); ok {
					im.warn(c.Pos, RuleUnterminated, fmt.Sprintf("link-only macro %s has no closing brace; closed it", v), "")
					notes = append(notes, fmt.Sprintf("%s: closed an unterminated macro; the doc had: %s", RuleUnterminated, v))
					v = fixed
				}
				lp.LinkMacro, macroCell = v, c
			default:
				if c.Raw != "" && !isNull(c.Raw) {
					name := column(names, i, "?")
					im.unmapped(c.Pos, "link_only", c.Raw, fmt.Sprintf("value of column %q of link parameter %s", name, lp.Branch))
				}
			}
		}
		if !ok || lp.Branch == "" {
			im.unmapped(seg.Pos, "link_only", seg.Text, "row is not a BRANCH_PARAMETER | macro pair")
			continue
		}
		if settingRe.MatchString(lp.LinkMacro) {
			// A literal is a link setting (S2S | true), not a macro.
			lp.Value, lp.LinkMacro = normalizeSetting(lp.LinkMacro), ""
		} else if hasFreeMarker(lp.LinkMacro) && !simpleInterp.MatchString(lp.LinkMacro) {
			im.warn(macroCell.Pos, RuleTemplateLink, fmt.Sprintf("link-only macro of %s holds FreeMarker; kept verbatim, not evaluated", lp.Branch), "")
		}
		if lp.LinkMacro == "" && lp.Value == "" {
			im.warn(seg.Pos, RuleShortRow, fmt.Sprintf("link-only parameter %s has no link macro", lp.Branch), "")
		}
		if cat, err := loadCatalog(); err == nil {
			if _, known := cat.Lookup(lp.Branch); !known {
				im.warn(seg.Pos, RuleUnknownBranch, fmt.Sprintf("link-only parameter names Branch parameter %q, which the catalog does not know; kept it, the spec will not validate until it is fixed", lp.Branch), "use a name from `adgate schema --catalog`, or add the parameter to schemas/branch-parameters.yaml")
			}
		}
		if im.linkSeen[lp] {
			im.warn(seg.Pos, RuleDuplicateParam, fmt.Sprintf("link-only parameter %s %s is listed twice; kept one", lp.Branch, lp.LinkMacro+lp.Value), "")
			continue
		}
		im.linkSeen[lp] = true
		im.linkNotes[len(im.p.LinkOnly)] = notes
		im.p.LinkOnly = append(im.p.LinkOnly, lp)
	}
}

// normalizeSetting spells boolean settings as true/false; numbers stay.
func normalizeSetting(v string) string {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return "true"
	case "false", "no", "off":
		return "false"
	}
	return v
}

// unmappedSection is the heading under which Export writes unmapped
// content, so that a re-import restores it exactly.
const unmappedSection = "Unmapped"

var unmappedCols = []string{"section", "line", "reason", "text"}

// carriedUnmapped reads the Unmapped section an earlier export wrote.
func (im *importer) carriedUnmapped(s *section) {
	rows := s.Body
	if len(rows) > 0 && strings.HasPrefix(strings.ToLower(strings.TrimSpace(rows[0].Text)), "section") {
		rows = rows[1:]
	}
	if len(rows) > 0 && isSeparatorRow(rows[0]) {
		rows = rows[1:]
	}
	for _, seg := range rows {
		cells := splitPlainCells(seg, len(unmappedCols))
		if len(cells) != len(unmappedCols) {
			im.unmapped(seg.Pos, "section:"+unmappedSection, seg.Text, "row of the Unmapped section is not SECTION | LINE | REASON | TEXT")
			continue
		}
		line, _ := strconv.Atoi(cells[1].Raw)
		sec, _ := unmangleProse(cells[0].Raw)
		reason, _ := unmangleProse(cells[2].Raw)
		text, _ := unmangleProse(cells[3].Raw)
		im.keep(spec.Unmapped{Section: sec, Line: line, Reason: reason, Text: text})
		im.warn(seg.Pos, RuleCarriedUnmapped, fmt.Sprintf("%s: %s; carried over from an earlier import", sec, reason), "map it by hand")
	}
}

// closeMacro closes an unterminated link macro ({idfa -> {idfa}).
func closeMacro(v string) (string, bool) {
	if strings.HasPrefix(v, "{") && template.IsMacroName(v[1:]) {
		return v + "}", true
	}
	return v, false
}

// splitPlainCells cuts a row written by Export's Unmapped section: every
// pipe inside a cell is escaped (\|), so each unescaped pipe separates
// cells. Template syntax is not protected as splitCells does: unmapped
// text may hold an unclosed ${ that would otherwise swallow a separator.
// The last of max cells takes the rest of the row.
func splitPlainCells(seg segment, max int) []cell {
	rs := []rune(seg.Text)
	var cells []cell
	start := 0
	emit := func(from, to int) {
		raw := string(rs[from:to])
		trimmed := strings.TrimLeft(raw, " \t")
		off := utf8.RuneCountInString(raw) - utf8.RuneCountInString(trimmed)
		cells = append(cells, cell{Pos{seg.Line, seg.Col + from + off}, strings.TrimRight(trimmed, " \t")})
	}
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == '\\':
			i++ // an escape: the next rune is text
		case rs[i] == '|' && len(cells) < max-1:
			emit(start, i)
			start = i + 1
		}
	}
	emit(start, len(rs))
	return cells
}
