package branchdoc

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The parameter table also comes as vertical blocks: each parameter is its
// {macro} alone on a line, then one "key | value" line per column,
//
//	{click_id}
//	branch_parameter | CLICK_ID
//	link_macro | {transaction_id}
//	required | false | The click id
//
// where a line may carry several pairs (webhook_template |  | required |
// false), a key's value may run on into the following columns (required
// | false | description text), and a key may be glued to the previous
// value without its pipe (Click ID webhook_template | ...). The block
// reader goes by the family's column vocabulary (colKey), not by position,
// so rows and blocks may be mixed in one table.

// blockKeyRe matches a cell that ends with a parameter column name: the
// name alone, or glued after a value with white space.
var blockKeyRe = regexp.MustCompile(`(?i)^(?:(.*?)\s+)?(parameter[ _]name|branch[ _]parameter|link[ _]macro|dashboard[ _]label|webhook[ _]template|ad[ _]network[ _]template|required|description)$`)

// jsonLikeRe marks the JSON-like variant: keys after commas.
var jsonLikeRe = regexp.MustCompile(`,\s*(?:branch_parameter|link_macro|dashboard_label|webhook_template|ad_network_template|required|description)\s*\|`)

// paramKey returns the parameter column a cell names, or "".
func paramKey(s string) string {
	k := colKey(s)
	if k == "" || !slices.Contains(paramColumns, k) {
		return ""
	}
	return k
}

// lineKind classifies one line of a parameter section.
type lineKind int

const (
	lineRow         lineKind = iota // a row of the table (or JSON)
	lineBlock                       // part of a vertical block
	lineHeader                      // a repeated header row
	linePlaceholder                 // a row that holds nothing
)

// stripMarkup removes the pipes, emphasis and code marks a writer may
// put around a lone {macro} line.
func stripMarkup(s string) string {
	return strings.Trim(strings.TrimSpace(s), "|*_` \t")
}

// blockMacro reports whether s is a {macro} line that opens a block:
// {name}, {{name}} or {name missing its brace.
func blockMacro(s string) bool {
	s = stripMarkup(s)
	if isBraced(s) {
		return true
	}
	if strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") && isBraced(s[1:len(s)-1]) {
		return true
	}
	_, ok := closeMacro(s)
	return ok
}

// placeholderCell reports whether a cell stands for "nothing".
func placeholderCell(s string) bool {
	switch strings.ToLower(strings.Trim(s, " \t*_`")) {
	case "", "-", "--", "—", "–", "...", "…", "n/a", "na", "tbd", "todo", "null", "none", "{}", "{ }":
		return true
	}
	return false
}

func classifyParamLine(seg segment) lineKind {
	if jsonParamRe.MatchString(seg.Text) && jsonLikeRe.MatchString(seg.Text) {
		return lineRow
	}
	if blockMacro(seg.Text) {
		return lineBlock
	}
	cells := splitCells(seg, 0)
	// A header row names a column in every cell (a trailing pipe leaves
	// an empty last cell).
	allKeys, anyValue, keyCells := true, false, 0
	for i, c := range cells {
		switch {
		case paramKey(c.Raw) != "":
			keyCells++
		case c.Raw != "" || i+1 < len(cells):
			allKeys = false
		}
		if !placeholderCell(c.Raw) {
			anyValue = true
		}
	}
	switch {
	case !anyValue || isSeparatorRow(seg):
		return linePlaceholder
	case allKeys && keyCells >= 3:
		return lineHeader
	}
	// A block line starts with a column name (after an optional {macro}
	// glued before it); a row starts with its {macro} and a pipe.
	first := strings.TrimSpace(cells[0].Raw)
	if m := blockKeyRe.FindStringSubmatch(first); m != nil && len(cells) >= 2 && (m[1] == "" || blockMacro(m[1])) {
		return lineBlock
	}
	return lineRow
}

// blockRows reads a run of vertical-block lines into parameter rows.
func (im *importer) blockRows(segs []segment) []paramRow {
	var rows []paramRow
	var cur *paramRow
	col := -1 // index in paramColumns of the column the next value fills
	flush := func() {
		if cur != nil {
			cur.raw = blockText(cur)
			rows = append(rows, *cur)
		}
		cur, col = nil, -1
	}
	start := func(pos Pos) {
		flush()
		cur = &paramRow{Pos: pos, cells: map[string]cell{}}
	}
	name := func(c cell) {
		start(c.Pos)
		cur.cells["parameter_name"] = cell{c.Pos, stripMarkup(c.Raw)}
	}
	value := func(c cell, seg segment) {
		if cur == nil {
			start(seg.Pos)
		}
		if col < 0 || col >= len(paramColumns) {
			if c.Raw != "" && !isNull(c.Raw) {
				cur.unknown = append(cur.unknown, namedCell{"(extra cell)", c})
			}
			return
		}
		key := paramColumns[col]
		col++
		// JSON residue: "false,description" is a value with the next
		// column's name glued to it.
		if m := suffixRe.FindStringSubmatch(c.Raw); m != nil && paramKey(m[2]) != "" && !strings.HasSuffix(m[1], `\`) {
			im.warn(c.Pos, RuleShifted, fmt.Sprintf("parameter block has column name %q glued to the value %q; read it as the next cell's column", m[2], m[1]), "check the values against the doc's columns")
			c.Raw = m[1]
			defer func() { col = slices.Index(paramColumns, paramKey(m[2])) }()
		}
		if _, dup := cur.cells[key]; dup {
			if c.Raw != "" && !isNull(c.Raw) {
				cur.unknown = append(cur.unknown, namedCell{key + " (given twice)", c})
			}
			return
		}
		if len(c.Raw) >= 2 && strings.HasPrefix(c.Raw, `"`) && strings.HasSuffix(c.Raw, `"`) && !strings.Contains(c.Raw[1:len(c.Raw)-1], `"`) {
			im.warn(c.Pos, RuleJSONParameters, fmt.Sprintf("parameter block value %s is quoted like a JSON string; read it without the quotes", c.Raw), "write the value without quotes")
			c = cell{Pos{c.Line, c.Col + 1}, c.Raw[1 : len(c.Raw)-1]}
		}
		cur.cells[key] = c
	}
	for _, seg := range segs {
		if blockMacro(seg.Text) {
			name(cell{seg.Pos, seg.Text})
			continue
		}
		cells := splitCells(seg, 0)
		for i, c := range cells {
			m := blockKeyRe.FindStringSubmatchIndex(c.Raw)
			// A column name glued after text counts only where a pipe
			// follows it: prose may end in "description" too.
			if m != nil && m[2] >= 0 && i+1 == len(cells) {
				m = nil
			}
			if m == nil {
				value(c, seg)
				continue
			}
			key := paramKey(c.Raw[m[4]:m[5]])
			if m[2] >= 0 {
				// A value (or the next block's {macro}) glued before the
				// column name.
				pre := c.Raw[m[2]:m[3]]
				preCell, next := cell{c.Pos, pre}, cell{}
				if key == "branch_parameter" || key == "parameter_name" {
					if i := strings.LastIndexAny(pre, " \t"); i >= 0 && blockMacro(pre[i+1:]) {
						preCell.Raw = strings.TrimSpace(pre[:i])
						next = cell{Pos{c.Line, c.Col + utf8.RuneCountInString(pre[:i+1])}, pre[i+1:]}
					} else if blockMacro(pre) {
						preCell, next = cell{}, preCell
					}
				}
				if preCell.Raw != "" {
					value(preCell, seg)
				}
				if next.Raw != "" {
					name(next)
				}
				im.warn(c.Pos, RuleJoinedCells, fmt.Sprintf("parameter block has column name %q glued to the text before it with no '|'; read them as separate cells", c.Raw[m[4]:m[5]]), "put each \"key | value\" pair on its own line")
			}
			switch {
			case key == "parameter_name", cur == nil:
				start(c.Pos)
			case key == "branch_parameter" && hasCell(cur, "branch_parameter"):
				// A second Branch parameter opens a block whose {macro}
				// line is missing: the row is reported as nameless.
				start(c.Pos)
			}
			col = slices.Index(paramColumns, key)
		}
	}
	flush()
	return rows
}

// blockText is a block row as the text an unmapped row is kept as: one
// "column | value" line per cell read, in column order.
func blockText(r *paramRow) string {
	var lines []string
	for _, k := range paramColumns {
		if c, ok := r.cells[k]; ok {
			lines = append(lines, strings.TrimSpace(k+" | "+c.Raw))
		}
	}
	for _, u := range r.unknown {
		lines = append(lines, u.name+" | "+u.Raw)
	}
	return strings.Join(lines, "\n")
}

func hasCell(r *paramRow, key string) bool {
	_, ok := r.cells[key]
	return ok
}
