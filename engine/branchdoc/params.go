package branchdoc

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/template"
)

var paramColumns = []string{"parameter_name", "branch_parameter", "link_macro", "dashboard_label", "webhook_template", "required", "description"}

// paramRow is one parameter definition before mapping: cells by column key.
type paramRow struct {
	Pos
	raw     string
	cells   map[string]cell
	unknown []namedCell
}

type namedCell struct {
	name string
	cell
}

func (im *importer) parameters(s *section) {
	keys, names, rows := tableHeader(s, "parameter_name", paramColumns)
	// A column outside the parameter vocabulary (a Name column) is
	// unknown here: its values are reported, not dropped.
	keys = slices.Clone(keys)
	for i, k := range keys {
		if !slices.Contains(paramColumns, k) {
			keys[i] = ""
		}
	}
	var run []segment
	flush := func() {
		if len(run) == 0 {
			return
		}
		ps := im.blockRows(run)
		im.info(run[0].Pos, RuleBlocks, fmt.Sprintf("parameters written as vertical blocks ({macro} line, then one \"column | value\" line each); read %d parameters from %d lines", len(ps), len(run)))
		for _, r := range ps {
			im.parameter(r)
		}
		run = nil
	}
	for _, seg := range rows {
		switch classifyParamLine(seg) {
		case lineBlock:
			run = append(run, seg)
			continue
		case lineHeader:
			flush()
			im.info(seg.Pos, RuleRepeatedHeader, "the parameter table's header row is repeated here; skipped it")
			continue
		case linePlaceholder:
			flush()
			im.info(seg.Pos, RulePlaceholder, fmt.Sprintf("parameter row %q holds no value; skipped it", seg.Text))
			continue
		}
		flush()
		pieces := []segment{seg}
		if keys[0] == "parameter_name" {
			pieces = im.unjoin(pieces, paramRowStart, len(keys), "parameter")
		}
		for _, seg := range pieces {
			im.paramRow(seg, keys, names)
		}
	}
	flush()
}

// paramRow reads one line of the row form (or of a JSON variant).
func (im *importer) paramRow(seg segment, keys, names []string) {
	if objs, ok := parseJSONArrayParams(seg); ok {
		im.warn(seg.Pos, RuleJSONParameters, fmt.Sprintf("parameter table written as a JSON array; read %d parameters from it", len(objs)), "write one table row per parameter")
		for _, r := range objs {
			im.parameter(r)
		}
		return
	}
	if jsonParamRe.MatchString(seg.Text) {
		objs := parseJSONParams(seg)
		im.warn(seg.Pos, RuleJSONParameters, fmt.Sprintf("parameter table written as a JSON-like list; read %d parameters from it", len(objs)), "write one table row per parameter")
		for _, r := range objs {
			im.parameter(r)
		}
		return
	}
	im.parameter(im.assignColumns(seg, keys, names))
}

var suffixRe = regexp.MustCompile(`^(.*?)\s*,\s*([a-z_]+)$`)

// jsonKeys are the key names of the JSON objects the parameter table was
// exported from; only these, glued to a cell, mark a shifted row.
var jsonKeys = []string{"parameter_name", "branch_parameter", "link_macro", "dashboard_label", "webhook_template", "ad_network_template", "required", "description"}

// protectSuffix escapes the comma of a value that ends like a glued key
// name, so that the importer does not take it for one.
func protectSuffix(v string) string {
	m := suffixRe.FindStringSubmatchIndex(v)
	if m == nil || !slices.Contains(jsonKeys, v[m[4]:m[5]]) {
		return v
	}
	i := strings.LastIndexByte(v[:m[4]], ',')
	return v[:i] + `\` + v[i:]
}

// assignColumns maps a row's cells to columns. Normally by position; but
// some docs were exported from JSON objects whose key order differed from
// the header and whose unquoted values (null, false) left the next key's
// name glued to a cell: "false,ad_network_template" means this cell holds
// false and the NEXT cell is ad_network_template. Such suffixes pin the
// following cell's column; a cell displaced from its column by a pinned
// one goes to the first free column its value fits (a boolean to required).
func (im *importer) assignColumns(seg segment, keys, names []string) paramRow {
	cells := splitCells(seg, len(keys))
	row := paramRow{Pos: seg.Pos, raw: seg.Text, cells: map[string]cell{}}
	explicit := make([]string, len(cells)+1)
	claimed := map[string]bool{}
	var suffixes []string
	for i := range cells {
		if i+1 == len(cells) {
			break
		}
		if m := suffixRe.FindStringSubmatch(cells[i].Raw); m != nil && slices.Contains(jsonKeys, m[2]) && !strings.HasSuffix(m[1], `\`) {
			suffixes = append(suffixes, fmt.Sprintf("%q", cells[i].Raw))
			cells[i].Raw = m[1]
			explicit[i+1] = colKey(m[2])
			claimed[colKey(m[2])] = true
		}
	}
	used := map[string]bool{}
	prev := -1
	var moved []string
	for i, c := range cells {
		key := explicit[i]
		if key == "" {
			if i < len(keys) && keys[i] != "" && !used[keys[i]] && !claimed[keys[i]] {
				key = keys[i]
			} else if boolRe.MatchString(c.Raw) && !used["required"] && !claimed["required"] && indexOf(keys, "required") >= 0 {
				key = "required"
			} else {
				for j := prev + 1; j < len(keys); j++ {
					if keys[j] != "" && !used[keys[j]] && !claimed[keys[j]] {
						key = keys[j]
						break
					}
				}
			}
		}
		if key == "" || used[key] {
			name := column(names, i, "")
			if c.Raw != "" && !isNull(c.Raw) {
				row.unknown = append(row.unknown, namedCell{name, c})
			}
			continue
		}
		used[key] = true
		if i >= len(keys) || keys[i] != key {
			moved = append(moved, fmt.Sprintf("cell %d as %s", i+1, key))
		}
		row.cells[key] = c
		if k := indexOf(keys, key); k >= 0 {
			prev = k
		}
	}
	if len(suffixes) > 0 || len(moved) > 0 {
		msg := "row's cells do not line up with the header"
		if len(suffixes) > 0 {
			msg = fmt.Sprintf("row has column names glued to cells (%s)", strings.Join(suffixes, ", "))
		}
		if len(moved) > 0 {
			msg += "; read " + strings.Join(moved, ", ")
		}
		im.warn(seg.Pos, RuleShifted, msg, "check the values against the doc's columns")
	}
	if len(cells) < len(keys) {
		var missing []string
		for _, k := range keys {
			if k != "" && !used[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			im.warn(seg.Pos, RuleShortRow, fmt.Sprintf("row has %d of %d cells; %s taken as empty", len(cells), len(keys), strings.Join(missing, ", ")), "")
		}
	}
	return row
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

var (
	jsonParamRe  = regexp.MustCompile(`^\s*[\[{]?\s*\{?\s*parameter_name\s*\|`)
	jsonAnchorRe = regexp.MustCompile(`(?:^|[\[{,])\s*(parameter_name|branch_parameter|link_macro|dashboard_label|webhook_template|ad_network_template|required|description)\s*\|`)
	objEndRe     = regexp.MustCompile(`\s*\}\s*(?:,\s*\{?\s*|\]\s*)?$`)
)

// parseJSONParams reads the JSON-like variant of the parameter table:
// [ { parameter_name |  {x}, branch_parameter |  Y, ... }, { ... } ].
// Values are found between known key anchors, so commas and braces inside
// values (templates, descriptions) survive.
func parseJSONParams(seg segment) []paramRow {
	text := seg.Text
	ms := jsonAnchorRe.FindAllStringSubmatchIndex(text, -1)
	rc := &runeCounter{s: text}
	var rows []paramRow
	for i, m := range ms {
		key := colKey(text[m[2]:m[3]])
		end := len(text)
		if i+1 < len(ms) {
			end = ms[i+1][0]
		}
		if key == "parameter_name" || len(rows) == 0 {
			rows = append(rows, paramRow{
				Pos:   Pos{seg.Line, seg.Col + rc.at(m[2])},
				cells: map[string]cell{},
			})
		}
		r := &rows[len(rows)-1]
		val := text[m[1]:end]
		// The separator before the next key belongs to the structure.
		nextIsObj := i+1 >= len(ms) || colKey(text[ms[i+1][2]:ms[i+1][3]]) == "parameter_name"
		if nextIsObj {
			val = objEndRe.ReplaceAllString(val, "")
		}
		lead := len(val) - len(strings.TrimLeft(val, " \t"))
		c := cell{Pos{seg.Line, seg.Col + rc.at(m[1]+lead)}, strings.TrimSpace(val)}
		if _, dup := r.cells[key]; dup {
			r.unknown = append(r.unknown, namedCell{key, c})
			continue
		}
		r.cells[key] = c
	}
	for i := range rows {
		var parts []string
		for _, k := range paramColumns {
			if c, ok := rows[i].cells[k]; ok {
				parts = append(parts, k+" | "+c.Raw)
			}
		}
		rows[i].raw = "{ " + strings.Join(parts, ", ") + " }"
	}
	return rows
}

// parameter maps one row to a spec.Parameter.
func (im *importer) parameter(r paramRow) {
	nameCell, ok := r.cells["parameter_name"]
	if !ok || strings.TrimSpace(nameCell.Raw) == "" {
		im.unmapped(r.Pos, "parameters", r.raw, "row has no parameter name")
		return
	}
	name, _ := im.clean(nameCell, kindTemplate, "parameter name")
	var notes []string
	if fixed, ok := closeMacro(name); ok {
		im.warn(nameCell.Pos, RuleUnterminated, fmt.Sprintf("parameter name %s has no closing brace; read it as %s", name, fixed), "")
		notes = append(notes, fmt.Sprintf("%s: the doc wrote the parameter name as %s", RuleUnterminated, name))
		name = fixed
	}
	macro := ""
	switch {
	case isBraced(name):
		macro, _ = braced(name)
	case strings.HasPrefix(name, "{") && strings.HasSuffix(name, "}") && isBraced(name[1:len(name)-1]):
		macro, _ = braced(name[1 : len(name)-1])
		im.warn(nameCell.Pos, RuleMacroBraces, fmt.Sprintf("parameter name %s has double braces; read it as {%s}", name, macro), "")
		notes = append(notes, fmt.Sprintf("%s: the doc wrote the parameter name as %s", RuleMacroBraces, name))
	case template.IsMacroName(name):
		macro = name
		im.warn(nameCell.Pos, RuleMacroBraces, fmt.Sprintf("parameter name %s has no braces; read it as {%s}", name, macro), "")
		notes = append(notes, fmt.Sprintf("%s: the doc wrote the parameter name without braces (%s)", RuleMacroBraces, name))
	default:
		im.unmapped(r.Pos, "parameters", r.raw, fmt.Sprintf("parameter name %q is not a {macro}", name))
		return
	}
	branchCell := r.cells["branch_parameter"]
	branch, _ := im.clean(branchCell, kindPlain, "Branch parameter")
	if paramKey(branch) == "branch_parameter" {
		// An example row: {your_macro} | BRANCH_PARAMETER | ...
		im.unmapped(r.Pos, "parameters", r.raw, fmt.Sprintf("placeholder row: {%s} has the column name %s for its Branch parameter", macro, branch))
		return
	}
	if !identRe.MatchString(branch) {
		im.unmapped(r.Pos, "parameters", r.raw, fmt.Sprintf("parameter {%s} has no valid Branch parameter (%q)", macro, branch))
		return
	}
	if up := strings.ToUpper(branch); up != branch {
		im.warn(branchCell.Pos, RuleBranchCase, fmt.Sprintf("Branch parameter %q is not upper case; read it as %q", branch, up), "")
		branch = up
	}
	p := spec.Parameter{Macro: macro, Branch: branch}
	var n []string
	p.LinkMacro, n = im.clean(r.cells["link_macro"], kindTemplate, "link macro")
	notes = append(notes, n...)
	if fixed, ok := closeMacro(p.LinkMacro); ok {
		im.warn(r.cells["link_macro"].Pos, RuleUnterminated, fmt.Sprintf("link macro %s of {%s} has no closing brace; closed it", p.LinkMacro, macro), "")
		notes = append(notes, fmt.Sprintf("%s: closed an unterminated link macro; the doc had: %s", RuleUnterminated, p.LinkMacro))
		p.LinkMacro = fixed
	}
	if hasFreeMarker(p.LinkMacro) && !simpleInterp.MatchString(p.LinkMacro) {
		im.warn(r.cells["link_macro"].Pos, RuleTemplateLink, fmt.Sprintf("link macro of {%s} holds FreeMarker; kept verbatim as the partner's click macro, not evaluated", macro), "move it to the webhook template if it computes the value")
	}
	p.Label, n = im.clean(r.cells["dashboard_label"], kindProse, "dashboard label")
	notes = append(notes, n...)
	tc := r.cells["webhook_template"]
	p.Template, n = im.clean(tc, kindTemplate, "webhook template")
	notes = append(notes, n...)
	if out, changed, ok := translateJinja(p.Template); changed {
		im.warn(tc.Pos, RuleForeignTemplate, fmt.Sprintf("webhook template of {%s} uses Jinja tags ({%% if %%}); rewrote them as FreeMarker", macro), "")
		notes = append(notes, fmt.Sprintf("%s: the doc's template used Jinja tags: %s", RuleForeignTemplate, p.Template))
		p.Template = out
	} else if !ok {
		im.warn(tc.Pos, RuleForeignTemplate, fmt.Sprintf("webhook template of {%s} uses Jinja tags adgate cannot translate; kept verbatim", macro), "rewrite it in FreeMarker")
	}
	if strings.TrimSpace(p.Template) == "{"+macro+"}" {
		im.warn(tc.Pos, RuleSelfTemplate, fmt.Sprintf("webhook template of {%s} is only the macro itself; dropped it (the value comes from the Branch parameter)", macro), "")
		notes = append(notes, fmt.Sprintf("%s: dropped the doc's webhook template %s, which only repeated the macro", RuleSelfTemplate, p.Template))
		p.Template = ""
	}
	if rc, ok := r.cells["required"]; ok {
		v, _ := im.clean(rc, kindPlain, "required")
		b, ok := parseBool(v)
		if !ok {
			im.warn(rc.Pos, RuleBadRequired, fmt.Sprintf("required of {%s} is %q, not true or false; read as false", macro, v), "")
			im.unmapped(rc.Pos, "parameters", rc.Raw, fmt.Sprintf("required value of {%s}", macro))
		}
		p.Required = b
	}
	dc := r.cells["description"]
	if hasFreeMarker(dc.Raw) {
		p.Description, n = im.clean(dc, kindTemplate, "description")
		im.warn(dc.Pos, RuleTemplateDesc, fmt.Sprintf("description of {%s} holds a FreeMarker template; kept as text, not evaluated", macro), "move it to the webhook template if it computes the value")
		im.tmpls = append(im.tmpls, Template{Pos: dc.Pos, Kind: "description", Key: macro, Text: p.Description})
	} else {
		p.Description, n = im.clean(dc, kindProse, "description")
		if strings.Contains(dc.Raw, " |  ") && !strings.Contains(dc.Raw, `\|`) {
			fixed := colonPipeRe.ReplaceAllString(p.Description, ": ")
			if fixed != p.Description {
				im.warn(dc.Pos, RuleColonPipe, fmt.Sprintf("description of {%s} has ' |  ' where the doc export replaced a colon; read it as ': '", macro), "")
				p.Description = fixed
			}
		}
	}
	notes = append(notes, n...)
	for _, u := range r.unknown {
		im.unmapped(u.Pos, "parameters", u.Raw, fmt.Sprintf("value of column %q of {%s}", u.name, macro))
	}
	if prev := im.param(macro); prev != nil {
		if *prev == p {
			im.warn(r.Pos, RuleDuplicateParam, fmt.Sprintf("parameter {%s} is defined twice, identically; kept one", macro), "delete the repeated row")
			return
		}
		im.warn(r.Pos, RuleDuplicateParam, fmt.Sprintf("parameter {%s} is defined twice, differently; kept the first", macro), "")
		im.unmapped(r.Pos, "parameters", r.raw, fmt.Sprintf("second definition of {%s}", macro))
		return
	}
	if p.Template != "" {
		im.tmpls = append(im.tmpls, Template{Pos: tc.Pos, Kind: "webhook-template", Key: macro, Text: p.Template})
	}
	im.checkParam(branchCell.Pos, p)
	im.paramIdx[macro] = len(im.p.Parameters)
	im.p.Parameters = append(im.p.Parameters, p)
	im.paramNotes[macro] = append(im.paramNotes[macro], notes...)
}

var (
	simpleInterp = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)
	colonPipeRe  = regexp.MustCompile(`\s\|\s\s+`)
)

// checkParam reports, at the doc line, what the spec lint will reject in an
// imported parameter. The parameter is kept as the doc wrote it: the facts
// carry over and the partner's owner decides the fix.
func (im *importer) checkParam(at Pos, p spec.Parameter) {
	if cat, err := loadCatalog(); err == nil {
		if _, ok := cat.Lookup(p.Branch); !ok {
			im.warn(at, RuleUnknownBranch, fmt.Sprintf("parameter {%s} names Branch parameter %q, which the catalog does not know; kept it, the spec will not validate until it is fixed", p.Macro, p.Branch), "use a name from `adgate schema --catalog`, or add the parameter to schemas/branch-parameters.yaml")
			return
		}
	}
	switch {
	case (p.Branch == "CUSTOM_LINK_MACRO" || p.Branch == "CLICK_ID") && strings.TrimSpace(p.LinkMacro) == "":
		im.warn(at, RuleNoLinkMacro, fmt.Sprintf("%s parameter {%s} has no link macro; the spec will not validate until it has one", p.Branch, p.Macro), "write the partner's click macro in the Link Macro column")
	case p.Branch == "ACCOUNT_CREDENTIAL" && strings.TrimSpace(p.Label) == "":
		im.warn(at, RuleNoLabel, fmt.Sprintf("credential {%s} has no dashboard label; the spec will not validate until it has one", p.Macro), "write the label in the Dashboard Label column")
	}
}

// parseJSONArrayParams reads a parameter table written as real JSON:
// [ {"parameter_name": "{x}", "branch_parameter": "Y", ...}, ... ], keys
// in any order, values strings, booleans, numbers or null. ok is false
// when the row is not such an array.
func parseJSONArrayParams(seg segment) (rows []paramRow, ok bool) {
	text := strings.TrimSpace(seg.Text)
	if !strings.HasPrefix(text, "[") || !strings.HasSuffix(text, "]") || !strings.Contains(text, `"`) {
		return nil, false
	}
	lead := len(seg.Text) - len(strings.TrimLeft(seg.Text, " \t"))
	rc := &runeCounter{s: seg.Text}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, false
	}
	for dec.More() {
		// The object starts after the comma and spaces that follow the
		// previous token.
		off := int(dec.InputOffset())
		for off < len(text) && (text[off] == ',' || text[off] == ' ' || text[off] == '\t') {
			off++
		}
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, false
		}
		pos := Pos{seg.Line, seg.Col + rc.at(lead+off)}
		r := paramRow{Pos: pos, cells: map[string]cell{}}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			v, ok := jsonCellText(obj[k])
			if !ok {
				return nil, false
			}
			c := cell{pos, v}
			parts = append(parts, fmt.Sprintf("%q: %q", k, v))
			key := colKey(k)
			if _, dup := r.cells[key]; dup || !slices.Contains(paramColumns, key) {
				r.unknown = append(r.unknown, namedCell{k, c})
				continue
			}
			r.cells[key] = c
		}
		r.raw = "{" + strings.Join(parts, ", ") + "}"
		rows = append(rows, r)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim(']') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return rows, len(rows) > 0
}

// jsonCellText is a JSON value as the table cell text it stands for.
func jsonCellText(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "null", true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}
