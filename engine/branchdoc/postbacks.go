package branchdoc

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/template"
)

// pbEntry is one event's postback as the doc states it.
type pbEntry struct {
	Pos
	event  string
	method string
	name   string // the row's postback name or label, when the table has one
	url    string
	raw    string // the doc's text for this entry, for unmapped
	urlPos Pos
	notes  []string
	last   bool // last entry of a JSON-like list: may carry the object's "}
}

var (
	// jsonPostbackRe finds the keys of the "EVENT": "url" variant. The key's
	// opening quote may be missing at the start of a row (custom_event": ")
	// and a quote preceded by a backslash is part of a template, not JSON.
	jsonPostbackRe = regexp.MustCompile(`(?:^|,)\s*\{?\s*"?([A-Za-z][A-Za-z0-9_]*)"\s*:\s*"`)
	pipeRowRe      = regexp.MustCompile(`^\s*"?[A-Za-z][A-Za-z0-9_ .-]*"?\s*\|`)
)

func (im *importer) postbackRows(s *section) []*pbEntry {
	keys, names, rows := tableHeader(s, "event", []string{"event", "postback"})
	if len(keys) == 2 && keys[0] == "event" && keys[1] == "postback" {
		rows = im.unjoin(rows, postbackRowStart, 2, "postback")
	}
	var out []*pbEntry
	for _, seg := range rows {
		t := strings.TrimSpace(seg.Text)
		if t == "{}" || t == "[]" {
			im.info(seg.Pos, RuleEmptyPostbacks, "postback table is empty ({}): the partner has no postbacks")
			continue
		}
		if !pipeRowRe.MatchString(t) && jsonPostbackRe.MatchString(t) && jsonPostbackRe.FindStringIndex(t)[0] == 0 {
			es := parseJSONPostbacks(seg)
			im.warn(seg.Pos, RuleJSONPostbacks, fmt.Sprintf(`postback table written as "EVENT": "url" pairs; read %d postbacks from it`, len(es)), "write one table row per event")
			out = append(out, es...)
			continue
		}
		cells := splitCells(seg, len(keys))
		e := &pbEntry{Pos: seg.Pos, raw: seg.Text}
		for i, c := range cells {
			key := column(keys, i, "")
			switch key {
			case "event":
				e.event = strings.Trim(c.Raw, `" `)
			case "postback":
				e.url, e.urlPos = c.Raw, c.Pos
			case "method":
				e.method = strings.ToUpper(strings.TrimSpace(c.Raw))
			case "name", "dashboard_label":
				if !isNull(c.Raw) {
					e.name, _ = im.clean(c, kindProse, "postback name")
				}
			default:
				if c.Raw != "" && !isNull(c.Raw) {
					name := column(names, i, "?")
					im.unmapped(c.Pos, "postbacks", c.Raw, fmt.Sprintf("value of column %q of the %s postback", name, e.event))
				}
			}
		}
		if !eventRe.MatchString(e.event) || strings.TrimSpace(e.url) == "" {
			im.unmapped(seg.Pos, "postbacks", seg.Text, "row is not an EVENT | URL pair")
			continue
		}
		out = append(out, e)
	}
	return out
}

// parseJSONPostbacks splits a row of "EVENT": "url", "EVENT2": "url2" pairs.
func parseJSONPostbacks(seg segment) []*pbEntry {
	t := seg.Text
	ms := jsonPostbackRe.FindAllStringSubmatchIndex(t, -1)
	rc := &runeCounter{s: t}
	var out []*pbEntry
	for i, m := range ms {
		end := len(t)
		if i+1 < len(ms) {
			end = ms[i+1][0]
		}
		val := strings.TrimSpace(t[m[1]:end])
		last := i+1 == len(ms)
		// The closing quote of a JSON value is structure; a missing one is
		// left for the URL repairs to notice.
		if !last {
			val = strings.TrimSuffix(val, `"`)
		} else if strings.HasPrefix(strings.TrimSpace(t), "{") && strings.HasSuffix(val, `"}`) {
			// A row that opens the JSON object closes it too.
			val = strings.TrimSuffix(val, `"}`)
		}
		out = append(out, &pbEntry{
			Pos:    Pos{seg.Line, seg.Col + rc.at(m[2])},
			event:  t[m[2]:m[3]],
			url:    val,
			urlPos: Pos{seg.Line, seg.Col + rc.at(m[1])},
			raw:    strings.TrimPrefix(strings.TrimSpace(t[m[0]:end]), ","),
			last:   last,
		})
	}
	return out
}

// queryKeyRe matches a query key and its '=' at the start of a text.
var queryKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*=`)

// openMacros returns, for every '{' of u followed by a macro name, closed
// or not, the offsets {start, nameEnd, nameStart, nameEnd}.
func openMacros(u string) [][]int {
	var out [][]int
	for i := 0; i < len(u); i++ {
		if u[i] != '{' {
			continue
		}
		if n := template.MacroNamePrefix(u[i+1:]); n > 0 {
			out = append(out, []int{i, i + 1 + n, i + 1, i + 1 + n})
			i += n
		}
	}
	return out
}

// repairURL applies the URL repair rules to one entry.
func (im *importer) repairURL(e *pbEntry, declared func(string) bool) {
	what := fmt.Sprintf("%s postback URL", e.event)
	u, notes := im.clean(cell{e.urlPos, e.url}, kindTemplate, what)
	e.notes = append(e.notes, notes...)
	// One repair can expose another ({x{}} closes to {x}{}}, whose last
	// brace is then stray); repeat until nothing changes so that the
	// result is stable under a second import.
	for range 4 {
		next := im.repairOnce(e, u, what, declared)
		if next == u {
			break
		}
		u = next
	}
	e.url = u
}

func (im *importer) repairOnce(e *pbEntry, u, what string, declared func(string) bool) string {
	// Stray characters after the URL: the doc export leaves the closing
	// `"}` of the JSON object the table was made from on the last URL.
	if fixed, cut := stripStray(u); cut != "" {
		pos := Pos{e.urlPos.Line, e.urlPos.Col + utf8.RuneCountInString(e.url) - utf8.RuneCountInString(cut)}
		im.warn(pos, RuleStraySuffix, fmt.Sprintf("%s ends with stray %q; removed it", what, cut), "")
		e.notes = append(e.notes, fmt.Sprintf("%s: removed stray %q after the URL; the doc had: %s", RuleStraySuffix, cut, u))
		u = strings.TrimSpace(fixed)
	}

	// {macro not closed: close it when the name is a declared parameter.
	var b strings.Builder
	last := 0
	for _, m := range openMacros(u) {
		if m[0] > 0 && u[m[0]-1] == '$' {
			continue
		}
		if m[1] < len(u) && u[m[1]] == '}' {
			continue
		}
		name := u[m[2]:m[3]]
		if !declared(name) {
			continue
		}
		// A '}' before the next '{' closes it after all ({name }): that
		// is not a lost brace.
		if rest := u[m[1]:]; strings.IndexByte(rest, '}') >= 0 && (strings.IndexByte(rest, '{') < 0 || strings.IndexByte(rest, '}') < strings.IndexByte(rest, '{')) {
			continue
		}
		b.WriteString(u[last:m[1]])
		b.WriteString("}")
		last = m[1]
		im.warn(im.posIn(e, "{"+name), RuleUnterminated, fmt.Sprintf("%s has an unterminated macro {%s; closed it", what, name), "")
	}
	if last > 0 {
		b.WriteString(u[last:])
		e.notes = append(e.notes, fmt.Sprintf("%s: closed an unterminated macro; the doc had: %s", RuleUnterminated, u))
		u = b.String()
	}

	// {macro}key=value with no & in the query: a separator got lost.
	if q := strings.IndexByte(u, '?'); q >= 0 {
		orig := u
		head, query := u[:q], u[q:]
		changed := false
		var fixed strings.Builder
		last := 0
		for _, m := range template.MacroIndexes(query) {
			name := query[m[2]:m[3]]
			key := queryKeyRe.FindString(query[m[1]:])
			if key == "" || !declared(name) {
				continue
			}
			changed = true
			ref := query[m[0]:m[1]]
			im.warn(im.posIn(e, ref+key), RuleAmpersand, fmt.Sprintf("%s has %s followed by %s with no & between them; inserted &", what, ref, key), "")
			fixed.WriteString(query[last:m[1]])
			fixed.WriteString("&")
			last = m[1]
		}
		fixed.WriteString(query[last:])
		query = fixed.String()
		if changed {
			u = head + query
			e.notes = append(e.notes, fmt.Sprintf("%s: inserted a missing & in the query; the doc had: %s", RuleAmpersand, orig))
		}
	}
	return im.fixDuplicateKeys(e, u, what, declared)
}

// fixDuplicateKeys repairs a query key repeated with another parameter's
// macro as its value (utm_source={utm_source}&utm_source={utm_medium}):
// the copy whose macro does not match the key is renamed after its macro,
// when that name is not a key of the query already. Templated URLs are
// left alone: their & may belong to template syntax.
func (im *importer) fixDuplicateKeys(e *pbEntry, u, what string, declared func(string) bool) string {
	q := strings.IndexByte(u, '?')
	if q < 0 || hasFreeMarker(u) {
		return u
	}
	frag := ""
	query := u[q+1:]
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	pairs := strings.Split(query, "&")
	keys := map[string]int{}
	for _, pr := range pairs {
		k, _, _ := strings.Cut(pr, "=")
		keys[k]++
	}
	changed := false
	for i, pr := range pairs {
		k, v, ok := strings.Cut(pr, "=")
		if !ok || keys[k] < 2 {
			continue
		}
		name, ok := braced(v)
		if !ok || name == k || !declared(name) || keys[name] > 0 {
			continue
		}
		im.warn(im.posIn(e, pr), RuleDuplicateKey, fmt.Sprintf("%s repeats query key %q; the copy holding {%s} renamed to %s={%s}", what, k, name, name, name), "check the partner's parameter name")
		pairs[i] = name + "=" + v
		keys[k]--
		keys[name]++
		changed = true
	}
	if !changed {
		return u
	}
	e.notes = append(e.notes, fmt.Sprintf("%s: renamed a repeated query key after its macro; the doc had: %s", RuleDuplicateKey, u))
	return u[:q+1] + strings.Join(pairs, "&") + frag
}

// posIn finds frag in the entry's raw URL for a precise column, falling
// back to the URL's start.
func (im *importer) posIn(e *pbEntry, frag string) Pos {
	if im.posBudget <= 0 {
		return e.urlPos
	}
	im.posBudget--
	if i := strings.Index(e.url, frag); i >= 0 {
		return Pos{e.urlPos.Line, e.urlPos.Col + utf8.RuneCountInString(e.url[:i])}
	}
	return e.urlPos
}

// stripStray removes a trailing `"}`, `"` or `}` that has no opening
// partner in the URL.
func stripStray(u string) (string, string) {
	orig := u
	quotes := strings.Count(u, `"`)
	opens, closes := strings.Count(u, "{"), strings.Count(u, "}")
	for len(u) > 0 {
		c := u[len(u)-1]
		if c == '"' && quotes%2 == 1 {
			u = u[:len(u)-1]
			quotes--
			continue
		}
		if c == '}' && closes > opens {
			u = u[:len(u)-1]
			closes--
			continue
		}
		break
	}
	return u, orig[len(u):]
}

var (
	ifOpen    = regexp.MustCompile(`<#if\b`)
	ifClose   = regexp.MustCompile(`</#if>`)
	userOpen  = regexp.MustCompile(`<@([A-Za-z_][A-Za-z0-9_]*)\b[^>]*?(/?)>`)
	userClose = regexp.MustCompile(`</@([A-Za-z_][A-Za-z0-9_]*)\s*>`)
)

// truncated reports why u looks cut off, or "". sorted holds every
// postback URL of the doc, sorted.
func truncated(u string, sorted []string) string {
	if strings.ContainsAny(u[len(u)-1:], "=?&/:") {
		// URLs starting with u follow u in sorted order.
		i, _ := slices.BinarySearch(sorted, u)
		for ; i < len(sorted) && sorted[i] == u; i++ {
		}
		if i < len(sorted) && strings.HasPrefix(sorted[i], u) {
			return "URL is a cut-off prefix of another postback URL of the doc"
		}
	}
	if strings.Count(u, "${") > 0 && unclosedInterp(u) {
		return "URL has an unclosed ${"
	}
	if len(ifOpen.FindAllStringIndex(u, -1)) > len(ifClose.FindAllStringIndex(u, -1)) {
		return "URL has an <#if> without </#if>"
	}
	open := map[string]int{}
	for _, m := range userOpen.FindAllStringSubmatch(u, -1) {
		if m[2] == "" {
			open[m[1]]++
		}
	}
	for _, m := range userClose.FindAllStringSubmatch(u, -1) {
		open[m[1]]--
	}
	names := make([]string, 0, len(open))
	for name, n := range open {
		if n > 0 {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		return fmt.Sprintf("URL has <@%s> without </@%s>", names[0], names[0])
	}
	return ""
}

func unclosedInterp(u string) bool {
	// One pass with a stack of open braces, marking the ones that open
	// an interpolation: any left open at the end is unclosed.
	var stack []bool
	for i := 0; i < len(u); i++ {
		switch u[i] {
		case '{':
			stack = append(stack, i > 0 && u[i-1] == '$')
		case '}':
			if n := len(stack); n > 0 {
				stack = stack[:n-1]
			}
		}
	}
	return slices.Contains(stack, true)
}

// postbacks repairs every entry, drops duplicates and truncated URLs into
// unmapped, and groups events that share a request into one postback.
func (im *importer) postbacks(entries []*pbEntry) {
	declared := func(name string) bool { return im.param(name) != nil }
	for _, e := range entries {
		im.repairURL(e, declared)
	}
	var kept []*pbEntry
	seen := map[string]bool{}
	sorted := make([]string, 0, len(entries))
	for _, e := range entries {
		sorted = append(sorted, e.url)
	}
	slices.Sort(sorted)
	for _, e := range entries {
		if strings.TrimSpace(e.url) == "" {
			im.unmapped(e.Pos, "postbacks", e.raw, "postback URL is empty after repair")
			continue
		}
		if why := truncated(e.url, sorted); why != "" {
			im.warn(e.urlPos, RuleTruncated, fmt.Sprintf("%s postback: %s; not importing it", e.event, why), "complete the URL in the doc or the spec")
			im.keep(spec.Unmapped{Section: "postbacks", Line: e.Line, Text: e.raw, Reason: "truncated URL: " + why})
			continue
		}
		if !absoluteHTTP(e.url) {
			im.warn(e.urlPos, RuleNotURL, fmt.Sprintf("%s postback: %q is not an absolute http(s) URL; not importing it", e.event, e.url), "write the postback URL in the doc or the spec")
			im.keep(spec.Unmapped{Section: "postbacks", Line: e.Line, Text: e.raw, Reason: "not an absolute http(s) URL"})
			continue
		}
		if off, msg, bad := spec.HostProblem(e.url); bad {
			im.warn(Pos{e.urlPos.Line, e.urlPos.Col + off}, RuleNotURL, fmt.Sprintf("%s postback: %s; not importing it", e.event, msg), "write the partner's real postback URL in the doc or the spec")
			im.keep(spec.Unmapped{Section: "postbacks", Line: e.Line, Text: e.raw, Reason: "not a valid host: " + msg})
			continue
		}
		if e.method == "GET" {
			e.method = ""
		}
		key := strings.ToLower(e.event) + "\x00" + e.method + "\x00" + e.url + "\x00" + e.name
		if seen[key] {
			im.warn(e.Pos, RuleDuplicateEvent, fmt.Sprintf("event %s lists the same postback twice; kept one", e.event), "delete the repeated row")
			continue
		}
		seen[key] = true
		kept = append(kept, e)
		im.undefinedMacros(e)
	}
	type group struct {
		pb    spec.Postback
		notes []string
		pos   Pos
		e     *pbEntry // the first row
	}
	var groups []*group
	byReq := map[[3]string]*group{}
	for _, e := range kept {
		k := [3]string{e.method, e.url, e.name}
		g := byReq[k]
		if g == nil {
			g = &group{pb: spec.Postback{URL: e.url, Method: e.method}, pos: e.urlPos, e: e}
			groups = append(groups, g)
			byReq[k] = g
		}
		g.pb.Events = append(g.pb.Events, e.event)
		g.notes = append(g.notes, e.notes...)
	}
	pbs, firsts := make([]*spec.Postback, len(groups)), make([]*pbEntry, len(groups))
	for i, g := range groups {
		pbs[i], firsts[i] = &g.pb, g.e
	}
	im.namePostbacks(pbs, firsts)
	for i, g := range groups {
		im.p.Postbacks = append(im.p.Postbacks, g.pb)
		for _, n := range dedupe(g.notes) {
			im.notes = append(im.notes, Note{Path: fmt.Sprintf("postbacks[%d].url", i), Text: n})
		}
		im.tmpls = append(im.tmpls, Template{Pos: g.pos, Kind: "postback-url", Key: g.pb.Events[0], Text: g.pb.URL})
		im.checkHost(g.pos, g.pb)
		if h := templatedHost(g.pb.URL); h != "" && !slices.Contains(im.p.AllowedHosts, h) {
			im.p.AllowedHosts = append(im.p.AllowedHosts, h)
			im.notes = append(im.notes, Note{Path: "allowed_hosts", Text: fmt.Sprintf("derived from the templated host of the %s postback URL", g.pb.Events[0])})
		}
	}
}

// namePostbacks names postbacks. A name the doc gives (a Name or Label
// column) is kept, as a slug; a postback for an event that an earlier
// postback already has is an extra postback, and an extra postback needs
// a name to be told apart: it gets the event's slug and its number
// (purchase_2). Names are unique within the partner.
func (im *importer) namePostbacks(pbs []*spec.Postback, rows []*pbEntry) {
	// A name may not be an event the partner lists either: --postback and
	// the gateway's postbacks list read a reference as both.
	used, events := map[string]bool{}, map[string]bool{}
	for _, pb := range pbs {
		for _, ev := range pb.Events {
			used[strings.ToLower(ev)] = true
			events[strings.ToLower(ev)] = true
		}
	}
	uniq := func(base string) string {
		n := base
		for i := 2; used[n]; i++ {
			n = fmt.Sprintf("%s_%d", base, i)
		}
		used[n] = true
		return n
	}
	for i, pb := range pbs {
		if rows[i].name == "" {
			continue
		}
		slug := slugify(rows[i].name)
		if slug == "" {
			im.warn(rows[i].Pos, RulePostbackName, fmt.Sprintf("postback name %q has no letter or digit; ignored it", rows[i].name), "write a name of letters, digits and _")
			continue
		}
		if events[slug] {
			// A label that is an event name (Install) says nothing the
			// event does not; the pass below names the postback if its
			// event has others.
			continue
		}
		pb.Name = uniq(slug)
		if pb.Name != slug {
			im.warn(rows[i].Pos, RulePostbackName, fmt.Sprintf("postback name %q is used by another postback; named this one %s", rows[i].name, pb.Name), "give each postback its own name")
		}
	}
	count := map[string]int{}
	for i, pb := range pbs {
		repeated := ""
		for _, ev := range pb.Events {
			if count[strings.ToLower(ev)] > 0 && repeated == "" {
				repeated = ev
			}
			count[strings.ToLower(ev)]++
		}
		if repeated == "" || pb.Name != "" {
			continue
		}
		n := count[strings.ToLower(repeated)]
		pb.Name = uniq(fmt.Sprintf("%s_%d", slugify(repeated), n))
		im.info(rows[i].Pos, RuleExtraPostback, fmt.Sprintf("event %s has %d postbacks; imported this row as an extra postback named %s", repeated, n, pb.Name))
	}
}

// slugify makes a postback name of a label in the spec's name syntax:
// lower-case letters, digits and single underscores, starting with a
// letter, at most 60 characters, leaving room for a _N suffix
// (Sale (GET) -> sale_get, 2nd sale -> pb_2nd_sale).
func slugify(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if b.Len() == 0 && r >= '0' && r <= '9' {
				b.WriteString("pb_")
			}
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
			continue
		}
		gap = true
	}
	return strings.TrimRight(b.String()[:min(b.Len(), 60)], "_")
}

// checkHost reports credential macros glued into a URL's host name, as in
// https://{sid}{token}api.example.com/: credentials travel as userinfo
// (https://{sid}:{token}@host) or in the query, so the doc likely lost
// separators. Nothing is changed: the right form is the partner's call.
func (im *importer) checkHost(pos Pos, pb spec.Postback) {
	host := rawHost(pb.URL)
	if strings.Contains(host, "@") {
		return
	}
	var creds []string
	for _, m := range openMacros(host) {
		if p := im.param(host[m[2]:m[3]]); p != nil && p.Branch == "ACCOUNT_CREDENTIAL" {
			creds = append(creds, "{"+host[m[2]:m[3]]+"}")
		}
	}
	if len(creds) > 0 {
		im.warn(pos, RuleCredentialHost, fmt.Sprintf("the host of the %s postback URL is built from credential macros %s", pb.Events[0], strings.Join(creds, "")),
			"credentials usually go in the userinfo (https://{user}:{secret}@host) or the query; check the URL with the partner")
	}
}

// templatedHost returns a "*." allow-list entry for a URL whose host is
// computed by a template (widget.<#if ...>eu<#else>us</#if>.criteo.com ->
// *.criteo.com), or "" when the host is literal.
func templatedHost(u string) string {
	host := rawHost(u)
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	if !strings.ContainsAny(host, "<{$") {
		return ""
	}
	labels := strings.Split(host, ".")
	k := len(labels)
	for k > 0 && !strings.ContainsAny(labels[k-1], "<>{}$\"#/ ") {
		k--
	}
	tail := labels[k:]
	if len(tail) < 2 {
		return ""
	}
	return "*." + strings.ToLower(strings.Join(tail, "."))
}

// rawHost returns the authority part of a URL template (userinfo, host
// and port), skipping template syntax that may contain '/'.
func rawHost(u string) string {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	} else {
		return ""
	}
	// The host ends at the first '/', '?' or '#' outside template syntax.
	depth, inTag := 0, false
	end := len(rest)
scan:
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '<':
			inTag = true
		case c == '>' && inTag:
			inTag = false
		case c == '{':
			depth++
		case c == '}':
			depth--
		case !inTag && depth <= 0 && (c == '/' || c == '?' || c == '#'):
			end = i
			break scan
		}
	}
	return rest[:end]
}

// absoluteHTTP reports whether u starts as the spec lint wants a postback
// URL to: a literal http:// or https:// and a host.
func absoluteHTTP(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(l, scheme); ok {
			return rest != "" && rest[0] != '/'
		}
	}
	return false
}

// undefinedMacros reports, at the doc position, each {macro} of a postback
// URL that no parameter row defines: the URL is kept as the doc wrote it,
// and the spec lint will reject it until a parameter defines the macro.
func (im *importer) undefinedMacros(e *pbEntry) {
	reported := map[string]bool{}
	for _, m := range spec.MacroIndexes(e.url) {
		name := e.url[m[2]:m[3]]
		if reported[name] || im.param(name) != nil {
			continue
		}
		reported[name] = true
		im.warn(im.posIn(e, e.url[m[0]:m[1]]), RuleUndefinedMacro, fmt.Sprintf("%s postback URL uses {%s}, which no parameter row defines; the spec will not validate until one does", e.event, name), "add a parameter row for the macro, or fix its spelling in the URL")
	}
}
