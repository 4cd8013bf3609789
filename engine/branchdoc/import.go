// Package branchdoc reads and writes Branch partner-doc markdown: the
// format Branch's partner manager exports for every ad partner (header,
// integration status, description, a Postbacks table, a Postback
// Parameters table and a Link-only Parameters table).
//
// Import maps a doc to a spec.Partner. Real docs are messy (rows joined by
// U+2028, JSON-like variants of both tables, mojibake, mangled quotes,
// shifted columns, stray characters after URLs), so the importer is a
// tokenizer for the doc's structure plus a fixed set of named repair rules;
// every repair is a diagnostic with the doc's line, and whatever cannot be
// mapped is kept verbatim in Partner.Unmapped. Export writes a Partner back
// in the same format, so import -> export -> import is a fixed point.
package branchdoc

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/template"
)

// Note is a comment the importer attaches to part of its YAML output, to
// say what it repaired there.
type Note struct {
	// Path addresses a node: "" (the document), "postbacks[0].url",
	// "parameters[3]", "link_only[1]", "unmapped[0]", "allowed_hosts".
	Path string
	Text string
}

// Result is one imported doc.
type Result struct {
	Partner *spec.Partner
	Notes   []Note
	// Templates lists every template text of the doc after repair, with
	// its doc position (see Templates).
	Templates []Template
}

// Template is one template text of a doc, de-mangled and repaired as the
// importer writes it into the spec.
type Template struct {
	Pos
	// Kind is "postback-url", "webhook-template" or "description" (a
	// parameter description that holds FreeMarker).
	Kind string
	// Key is the postback's first event, or the parameter's macro.
	Key  string
	Text string
}

// ErrNotPartnerDoc is returned for input that is not a partner doc: one
// with no Postbacks, Postback Parameters or Link-only Parameters section
// holding anything (a README, notes). The error wrapping it says what the
// file has instead.
var ErrNotPartnerDoc = errors.New("not a Branch partner doc")

// partnerDoc decides whether a scanned file is a partner doc: it must have
// one of the three table sections with content. Importing anything else
// would "succeed" with a warning per line and an empty spec.
func partnerDoc(titled bool, pbSecs, paramSecs, linkSecs, all []*section) error {
	for _, list := range [][]*section{pbSecs, paramSecs, linkSecs} {
		for _, s := range list {
			if len(s.Body) > 0 {
				return nil
			}
		}
	}
	var names []string
	for _, s := range all {
		if knownSection(s.Name) == "" && len(names) < 4 {
			names = append(names, fmt.Sprintf("%q", s.Name))
		}
	}
	found := "no sections"
	switch {
	case len(names) > 0:
		found = "sections " + strings.Join(names, ", ")
		if len(all) > len(names) {
			found += ", ..."
		}
	case len(all) > 0:
		found = "only empty sections"
	}
	if !titled {
		found = "no title and " + found
	}
	return fmt.Errorf("%w: it has no Postbacks, Postback Parameters or Link-only Parameters table (found %s)", ErrNotPartnerDoc, found)
}

// Rule ids of the diagnostics the importer reports.
const (
	RuleNotPartnerDoc   = "import-not-a-partner-doc"
	RuleEncoding        = "import-encoding"
	RuleMojibake        = "import-mojibake"
	RuleInvisible       = "import-invisible-char"
	RuleQuotes          = "import-mangled-quotes"
	RuleJSONPostbacks   = "import-json-postbacks"
	RuleJSONParameters  = "import-json-parameters"
	RuleStraySuffix     = "import-stray-suffix"
	RuleUnterminated    = "import-unterminated-macro"
	RuleAmpersand       = "import-missing-ampersand"
	RuleDuplicateKey    = "import-duplicate-query-key"
	RuleCredentialHost  = "import-credential-in-host"
	RuleJoinedRows      = "import-joined-rows"
	RuleJoinedCells     = "import-joined-cells"
	RuleBlocks          = "import-parameter-blocks"
	RulePlaceholder     = "import-placeholder-row"
	RuleRepeatedHeader  = "import-repeated-header"
	RuleBranchCase      = "import-branch-case"
	RuleTruncated       = "import-truncated-url"
	RuleShifted         = "import-shifted-columns"
	RuleShortRow        = "import-short-row"
	RuleColonPipe       = "import-colon-pipe"
	RuleMacroBraces     = "import-macro-braces"
	RuleForeignTemplate = "import-foreign-template"
	RuleSelfTemplate    = "import-self-template"
	RuleDuplicateEvent  = "import-duplicate-event"
	RuleExtraPostback   = "import-extra-postback"
	RulePostbackName    = "import-postback-name"
	RuleDuplicateParam  = "import-duplicate-parameter"
	RuleBadRequired     = "import-bad-required"
	RuleStatus          = "import-status"
	RuleTemplateDesc    = "import-template-in-description"
	RuleTemplateLink    = "import-template-in-link-macro"
	RuleUnmapped        = "import-unmapped"
	RuleUnknownSection  = "import-unknown-section"
	RuleEmptyPostbacks  = "import-empty-postbacks"
	RuleCarriedUnmapped = "import-carried-unmapped"
	// The rules below report what the importer keeps as the doc wrote it
	// but the spec lint rejects, so the doc line is named at import time
	// rather than only the YAML line at validate time.
	RuleNotURL         = "import-not-a-url"
	RuleUnknownBranch  = "import-unknown-branch-parameter"
	RuleNoLinkMacro    = "import-missing-link-macro"
	RuleNoLabel        = "import-missing-credential-label"
	RuleUndefinedMacro = "import-undefined-macro"
)

// PartnerID derives a partner id and Branch machine name from a doc's file
// name: a_jampp.md -> jampp, a_jampp. Without the a_ prefix the machine
// name is left to its default. The id keeps to the spec's id syntax
// (lower-case letters, digits, underscores, no leading underscore:
// a_apple-search.md -> apple_search), while the machine name keeps the
// file's - and . (a_apple-search), as Branch writes it in $3p.
func PartnerID(file string) (id, machine string) {
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
	clean := func(keep string) string {
		var b strings.Builder
		for _, r := range base {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', strings.ContainsRune(keep, r):
				b.WriteRune(r)
			default:
				b.WriteByte('_')
			}
		}
		return b.String()
	}
	idBase, machineBase := clean(""), clean("-.")
	rest, ok := strings.CutPrefix(idBase, "a_")
	if !ok || rest == "" {
		rest, machineBase = idBase, ""
	}
	if id = strings.TrimLeft(rest, "_"); id == "" {
		id = "partner"
	}
	return id, machineBase
}

type importer struct {
	file  string
	diags diag.List
	p     *spec.Partner
	notes []Note
	tmpls []Template

	// notes gathered per item before final indexes are known
	pbNotes    map[int][]string // by entry index
	paramNotes map[string][]string
	linkNotes  map[int][]string
	// paramIdx and linkSeen index what is mapped so far, so that big
	// docs stay linear.
	paramIdx map[string]int
	linkSeen map[spec.LinkParam]bool
	// posBudget bounds the exact-column searches per doc (each is a scan
	// of the URL); past it, diagnostics point at the URL's start.
	posBudget int
}

// Import parses a Branch partner doc. file names the doc in diagnostics and
// gives the partner id. The error is non-nil only when data is not a
// partner doc at all; every repair and unmapped item is a warning.
func Import(file string, data []byte) (*Result, diag.List, error) {
	id, machine := PartnerID(file)
	im := &importer{
		file:       file,
		p:          &spec.Partner{ID: id, MachineName: machine},
		pbNotes:    map[int][]string{},
		paramNotes: map[string][]string{},
		linkNotes:  map[int][]string{},
		paramIdx:   map[string]int{},
		linkSeen:   map[spec.LinkParam]bool{},
		posBudget:  1000,
	}
	var text string
	if utf8.Valid(data) {
		text = string(data)
	} else {
		text = decodeCP1252(data)
		im.warn(Pos{}, RuleEncoding, "doc is not valid UTF-8; read it as Windows-1252", "save the doc as UTF-8")
	}
	text = strings.TrimPrefix(text, "\uFEFF")
	doc := scan(text)

	titled := im.header(doc.Header)
	var pbSecs, paramSecs, linkSecs []*section
	for _, s := range doc.Sections {
		switch knownSection(s.Name) {
		case "description":
			im.description(s)
		case "postbacks":
			pbSecs = append(pbSecs, s)
		case "parameters":
			paramSecs = append(paramSecs, s)
		case "link_only":
			linkSecs = append(linkSecs, s)
		default:
			if strings.EqualFold(strings.TrimSpace(s.Name), unmappedSection) {
				im.carriedUnmapped(s)
				continue
			}
			im.unknownSection(s)
		}
	}
	if err := partnerDoc(titled, pbSecs, paramSecs, linkSecs, doc.Sections); err != nil {
		// What the importer found in a file that is no partner doc is
		// noise: the one finding is that it is not one.
		d := diag.Diagnostic{
			File: file, Range: diag.Point(1, 1), Severity: diag.Error, Rule: RuleNotPartnerDoc,
			Message: err.Error(), Hint: "pass the partner's doc as Branch's partner manager exports it",
		}
		return nil, diag.List{d}, fmt.Errorf("%s: %w", file, err)
	}
	if im.p.Name == "" {
		im.p.Name = id
	}
	for _, s := range paramSecs {
		im.parameters(s)
	}
	var entries []*pbEntry
	for _, s := range pbSecs {
		entries = append(entries, im.postbackRows(s)...)
	}
	im.postbacks(entries)
	for _, s := range linkSecs {
		im.linkOnly(s)
	}
	// Unmapped items in doc order read best; stable, so that items carried
	// over by a re-import keep their order.
	slices.SortStableFunc(im.p.Unmapped, func(a, b spec.Unmapped) int { return a.Line - b.Line })
	im.finishNotes()
	if utf8.Valid(data) {
		// Positions count the decoded text; only UTF-8 has the same bytes.
		im.diags.Locate(file, diag.NewPlainSource(data))
	}
	im.diags.Sort()
	return &Result{Partner: im.p, Notes: im.notes, Templates: im.tmpls}, im.diags, nil
}

func (im *importer) warn(pos Pos, rule, msg, hint string) {
	im.diags = append(im.diags, diag.Diagnostic{
		File: im.file, Range: diag.Point(pos.Line, pos.Col), Severity: diag.Warning,
		Rule: rule, Message: msg, Hint: hint,
	})
}

func (im *importer) info(pos Pos, rule, msg string) {
	im.diags = append(im.diags, diag.Diagnostic{
		File: im.file, Range: diag.Point(pos.Line, pos.Col), Severity: diag.Info, Rule: rule, Message: msg,
	})
}

// keep adds an unmapped item. Text and reason are trimmed: the Unmapped
// section an export writes cannot carry edge spaces, and a re-import
// must give back the same item.
func (im *importer) keep(u spec.Unmapped) {
	u.Section, u.Text, u.Reason = strings.TrimSpace(u.Section), strings.TrimSpace(u.Text), strings.TrimSpace(u.Reason)
	im.p.Unmapped = append(im.p.Unmapped, u)
}

// unmapped keeps text verbatim and reports it.
func (im *importer) unmapped(pos Pos, section, text, reason string) {
	im.keep(spec.Unmapped{Section: section, Line: pos.Line, Text: text, Reason: reason})
	im.warn(pos, RuleUnmapped, fmt.Sprintf("%s: %s; kept verbatim under unmapped", section, reason), "map it by hand or fix the doc")
}

// cellKind says how a cell's text is cleaned.
type cellKind int

const (
	kindPlain    cellKind = iota // identifiers: event, branch parameter
	kindTemplate                 // URLs, templates, macros: backslashes are quotes
	kindProse                    // labels and descriptions: backslash escapes
)

// clean applies the text repairs every cell gets: null, mojibake,
// invisible runes and mangled quotes. It returns the cleaned text and the
// notes for repairs that changed content.
func (im *importer) clean(c cell, kind cellKind, what string) (string, []string) {
	s := c.Raw
	if isNull(s) {
		return "", nil
	}
	var notes []string
	// Decoding mojibake can yield invisible runes (â€‹ is U+200B) and
	// removing them can join the halves of another mojibake sequence, so
	// both repairs run until neither changes anything.
	mojibake, invisible := false, false
	for range 4 {
		a, okA := fixMojibake(s)
		b, okB := stripInvisible(a)
		mojibake, invisible = mojibake || okA, invisible || okB
		if b == s {
			break
		}
		s = b
	}
	if mojibake {
		im.warn(c.Pos, RuleMojibake, fmt.Sprintf("%s has UTF-8 text decoded as Windows-1252 (mojibake); decoded it", what), "")
		notes = append(notes, RuleMojibake+": repaired mojibake (UTF-8 read as Windows-1252)")
	}
	if invisible {
		im.warn(c.Pos, RuleInvisible, fmt.Sprintf("%s contains invisible characters (zero-width space); removed them", what), "")
		notes = append(notes, RuleInvisible+": removed invisible characters")
	}
	switch kind {
	case kindTemplate:
		fixed, quotes := unmangleTemplate(s)
		if quotes {
			im.warn(c.Pos, RuleQuotes, fmt.Sprintf(`%s has double quotes written as backslashes (\IOS\ or \"IOS\"); restored them`, what), "")
			notes = append(notes, RuleQuotes+`: restored double quotes the doc wrote as backslashes`)
		}
		s = fixed
	case kindProse:
		if fixed, quotes := unmangleProse(s); fixed != s {
			if quotes {
				im.warn(c.Pos, RuleQuotes, fmt.Sprintf(`%s has double quotes written as backslashes (\word\); restored them`, what), "")
			}
			s = fixed
		}
	}
	// Repairs can yield line separators (mojibake of U+2028, NEL); a cell
	// is one line, so they become spaces in prose and vanish elsewhere (a
	// space would make a URL look like two rows to a later import).
	if kind == kindProse {
		s = lineBreaks.Replace(s)
	} else {
		s = lineBreaksOut.Replace(s)
	}
	return strings.TrimSpace(s), notes
}

var (
	lineBreaks    = strings.NewReplacer("\u2028", " ", "\u2029", " ", "\u0085", " ")
	lineBreaksOut = strings.NewReplacer("\u2028", "", "\u2029", "", "\u0085", "")
)

var (
	// The logo URL ends at the ")" before whitespace or the name: file
	// names such as Logo_(1).png carry parentheses of their own.
	logoRe   = regexp.MustCompile(`!\[[^\]]*\]\((\S*?)\)(?:\s|\*|$)`)
	statusRe = regexp.MustCompile(`(?i)^integration\s+status\s*[|:]\s*(.*)$`)
	urlRe    = regexp.MustCompile(`^https?://\S+$`)
)

// header reads the title line, website and integration status.
func (im *importer) header(segs []segment) bool {
	titled := false
	for _, seg := range segs {
		t := seg.Text
		switch {
		case !titled && strings.HasPrefix(t, "#"):
			titled = true
			rest := strings.TrimLeft(t, "#")
			if m := logoRe.FindStringSubmatchIndex(rest); m != nil {
				im.p.Logo = rest[m[2]:m[3]]
				rest = rest[:m[0]] + rest[m[1]:]
			}
			name, _ := im.clean(cell{seg.Pos, strings.Trim(strings.TrimSpace(rest), "*_ \t")}, kindProse, "partner name")
			// Emphasis marks are markup, also when decoding exposed them.
			im.p.Name = strings.Trim(name, "*_ \t")
		case statusRe.MatchString(t):
			v := strings.Trim(statusRe.FindStringSubmatch(t)[1], "*_ \t")
			im.status(seg.Pos, v, t)
		case im.p.Website == "" && urlRe.MatchString(t):
			im.p.Website = t
		default:
			im.unmapped(seg.Pos, "header", t, "header line not understood")
		}
	}
	return titled
}

func (im *importer) status(pos Pos, v, raw string) {
	n := strings.ToLower(strings.Join(strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '_' || r == '-' }), "-"))
	switch n {
	case "":
		return
	case "active", "live":
		im.p.Status = spec.StatusActive
	case "in-review", "inreview", "review":
		im.p.Status = spec.StatusInReview
	case "submitted":
		im.p.Status = spec.StatusSubmitted
	case "deprecated", "inactive", "disabled":
		im.p.Status = spec.StatusDeprecated
	default:
		im.warn(pos, RuleStatus, fmt.Sprintf("unknown integration status %q", v), "use active, in-review, submitted or deprecated")
		im.unmapped(pos, "header", raw, "unknown integration status")
		return
	}
	if string(im.p.Status) != n {
		im.info(pos, RuleStatus, fmt.Sprintf("integration status %q read as %q", v, im.p.Status))
	}
}

func (im *importer) description(s *section) {
	var parts []string
	for _, seg := range s.Body {
		t, _ := im.clean(cell{seg.Pos, seg.Text}, kindProse, "description")
		if t != "" {
			parts = append(parts, t)
		}
	}
	d := strings.Join(parts, "\n")
	if im.p.Description != "" && d != "" {
		d = im.p.Description + "\n" + d
	}
	im.p.Description = strings.TrimSpace(d)
}

func (im *importer) unknownSection(s *section) {
	var lines []string
	for _, seg := range s.Body {
		lines = append(lines, seg.Text)
	}
	im.warn(s.Head.Pos, RuleUnknownSection, fmt.Sprintf("unknown section %q", s.Name), "adgate reads Description, Postbacks, Postback Parameters and Link-only Parameters")
	im.keep(spec.Unmapped{
		Section: "section:" + strings.TrimSpace(s.Name), Line: s.Head.Line,
		Text: strings.Join(lines, "\n"), Reason: "unknown section",
	})
}

// column is the i'th of a table's column keys or names, or def for a
// cell beyond the header's columns.
func column(list []string, i int, def string) string {
	if i < len(list) {
		return list[i]
	}
	return def
}

// tableHeader reads a table's header and separator rows, returning the
// column keys (with "" for unknown columns), their names, and the data rows.
func tableHeader(s *section, want string, def []string) (keys, names []string, rows []segment) {
	rows = s.Body
	if len(rows) > 0 {
		cells := splitCells(rows[0], maxColumns+1)
		var k, n []string
		found := false
		allKnown := true
		for _, c := range cells {
			if strings.Contains(c.Raw, "{") {
				// A {macro} is data: this is a row or a block line.
				found = false
				break
			}
			ck := colKey(c.Raw)
			if ck == want {
				found = true
			}
			if ck == "" {
				allKnown = false
			}
			k = append(k, ck)
			n = append(n, c.Raw)
		}
		// A header names the key column; unknown extra columns are kept
		// so their values can be reported, not silently dropped.
		if found && (allKnown || len(cells) >= 2) && len(cells) <= maxColumns {
			keys, names, rows = k, n, rows[1:]
		}
	}
	if keys == nil {
		keys, names = def, def
	}
	if len(rows) > 0 && isSeparatorRow(rows[0]) {
		rows = rows[1:]
	}
	return keys, names, rows
}

// unjoin splits rows that a doc joined with spaces, reporting it.
func (im *importer) unjoin(rows []segment, start *regexp.Regexp, cols int, what string) []segment {
	var out []segment
	for _, seg := range rows {
		parts := splitJoinedRows(seg, start, cols)
		if len(parts) > 1 {
			im.warn(seg.Pos, RuleJoinedRows, fmt.Sprintf("%d %s rows are joined on one line with spaces; read them as separate rows", len(parts), what), "put each row on its own line")
		}
		out = append(out, parts...)
	}
	return out
}

// maxColumns bounds a table header: real tables have 2 to 7 columns.
const maxColumns = 32

var boolRe = regexp.MustCompile(`(?i)^(true|false|yes|no|0|1)$`)

func parseBool(s string) (val, ok bool) {
	switch strings.ToLower(s) {
	case "", "false", "no", "0":
		return false, true
	case "true", "yes", "1":
		return true, true
	}
	return false, false
}

var (
	identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	eventRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_ .-]*$`)
)

// braced returns name when s is exactly {name} with a macro name.
func braced(s string) (string, bool) {
	if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' || !template.IsMacroName(s[1:len(s)-1]) {
		return "", false
	}
	return s[1 : len(s)-1], true
}

// finishNotes resolves item-keyed notes to output paths now that the
// final order of postbacks, parameters and link parameters is known.
func (im *importer) finishNotes() {
	for i, prm := range im.p.Parameters {
		for _, n := range dedupe(im.paramNotes[prm.Macro]) {
			im.notes = append(im.notes, Note{Path: fmt.Sprintf("parameters[%d]", i), Text: n})
		}
	}
	for i := range im.p.LinkOnly {
		for _, n := range dedupe(im.linkNotes[i]) {
			im.notes = append(im.notes, Note{Path: fmt.Sprintf("link_only[%d]", i), Text: n})
		}
	}
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// param returns the parameter already mapped for macro, or nil.
func (im *importer) param(macro string) *spec.Parameter {
	if i, ok := im.paramIdx[macro]; ok {
		return &im.p.Parameters[i]
	}
	return nil
}

// loadCatalog parses the embedded Branch parameter catalog once; the
// catalog is immutable, so every Import shares it.
var loadCatalog = sync.OnceValues(catalog.Load)

func isBraced(s string) bool { _, ok := braced(s); return ok }
