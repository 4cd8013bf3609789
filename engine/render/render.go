// Package render turns a partner spec and a Branch event into the HTTP
// requests the partner expects. It is the engine behind `adgate render`,
// `adgate test` and the gateway, and can be embedded on its own: it sends
// nothing and holds no per-event state, so the caller decides what to
// do with the requests.
//
// Compile a spec once, then render each event:
//
//	loader, err := spec.NewLoader()
//	p, findings, err := loader.LoadFile(ctx, "partners/clevertap.yaml")
//	partner, err := render.Compile(p, loader.Catalog())
//	ev, err := event.Parse(eventJSON)
//	res, err := partner.Render(ev, account, render.Options{})
//	for _, req := range res.Requests { /* send req.Method req.URL ... */ }
//
// Compile parses every template of a spec once (parameter templates, the
// catalog templates its parameters use, URL, header and body templates);
// Render then only evaluates. A compiled Partner is immutable and safe for
// concurrent use. Partner.ParseEvent decodes only the fields the partner
// reads, which is cheaper than event.Parse when one event goes to one
// partner.
//
// The Account is the advertiser's side: the credentials templates see as
// ad_network.credentials, the app bundles they see as app, and settings.
// LoadAccount and ParseAccount read its YAML file.
//
// Render returns a Result: the Requests to send, and the Skipped postbacks
// with the reason each was not rendered (a required parameter without a
// value, a template error). Its error is reserved for a bad Options value.
// Options.Explain adds, per postback, where each macro's value came from.
//
// Postback selection is the spec's rule (spec.Selection): an event
// triggers every postback that declares its name, compared
// case-insensitively (Branch sends both "open" and "INSTALL"), one request
// each in spec order; failing that, an event that is not a lifecycle event
// (event.IsLifecycle) triggers the partner's custom_event postbacks. Other
// events trigger nothing. Options.Postback renders postbacks by name or
// key instead, and RenderSelected renders a selection made by the caller.
//
// Parameter values: a spec parameter with a template of its own takes the
// template's output; otherwise its Branch parameter's catalog definition
// applies (a path into the data model, a catalog template, the credential
// named by the macro, the link data key named by the macro, or an account
// setting), and the catalog's hash, if any, is applied. A macro without a
// value renders empty. Each value is escaped for where it stands
// (Encoding): percent-encoded in a URL or form body, JSON-escaped in a
// JSON body, as it is in headers and other bodies. A rendered JSON or
// form-encoded body that does not parse is not sent: the postback is
// skipped with a reason naming the line and column (a spec's body_check:
// off sends it as is).
//
// TrackingLink builds the partner's tracking-link template from the same
// spec.
package render

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/template"
)

// Request is one HTTP request to send to the partner.
type Request struct {
	// Postback is the postback key: the event name as the spec declares it.
	Postback string `json:"postback"`
	// Name is the postback's name, "" for the event's unnamed postback.
	Name    string            `json:"name,omitempty"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	// Explain lists each macro of the postback in explain mode.
	Explain []Macro `json:"explain,omitempty"`
}

// MarshalJSON writes absent headers as {} rather than null, so the JSON
// shape is the same for every request.
func (r Request) MarshalJSON() ([]byte, error) {
	type plain Request
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // URLs and bodies stay readable: & not \u0026
	if err := enc.Encode(plain(r)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Skipped is a postback the event triggered but that was not rendered.
type Skipped struct {
	Postback string  `json:"postback"`
	Name     string  `json:"name,omitempty"`
	Reason   string  `json:"reason"`
	Explain  []Macro `json:"explain,omitempty"`
}

// Result is everything one event produces for one partner.
type Result struct {
	Partner  string    `json:"partner"`
	Event    string    `json:"event"`
	Requests []Request `json:"requests"`
	Skipped  []Skipped `json:"skipped"`
}

// Options tune one Render call.
type Options struct {
	// Postback, when set, renders the postback of that name, or else
	// every postback declaring that event key (case-insensitive both),
	// whatever the event's name would select.
	Postback string
	// Explain fills Request.Explain and Skipped.Explain.
	Explain bool
	// MaxDuration bounds the wall-clock time of the render's template
	// executions together (see template.ExecOptions.MaxDuration); 0 means
	// template.DefaultMaxDuration. A template stopped by it skips the
	// postback with a reason giving the line and column it had reached.
	MaxDuration time.Duration
}

// Macro explains one macro's value.
type Macro struct {
	Name   string `json:"macro"`
	Value  string `json:"value"`
	Branch string `json:"branch"`
	// Source is where the value came from: event, credential, link,
	// setting or template.
	Source string `json:"source"`
	// From details the source: the path read, the credential or setting
	// name, or which template ran.
	From     string `json:"from"`
	Required bool   `json:"required,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Value sources, as Macro.Source reports them.
const (
	SourceEvent      = "event"
	SourceCredential = "credential"
	SourceLink       = "link"
	SourceSetting    = "setting"
	SourceTemplate   = "template"
)

type paramKind uint8

const (
	kindPath paramKind = iota
	kindTemplate
	kindCredential
	kindSetting
	kindNone // parameter_template without a template: always empty
	// kindTransform is a path whose number is transformed (catalog
	// transform:) by integer arithmetic on its decimal text; tmpl, the
	// catalog's equivalent template, handles every other case.
	kindTransform
)

type param struct {
	macro, branch string
	required      bool
	kind          paramKind
	source        string // Macro.Source
	from          string // Macro.From
	where         string // names the template in error reasons
	path          event.Path
	tmpl          *template.Template
	key           string // credential or setting name
	hash          catalog.Hash
	transform     catalog.Transform
	// needsModel is false when the value reads only event fields, so the
	// event itself can serve as the template root (see needsModel).
	needsModel bool
	// seg indexes Partner.segs when the path has a first segment other
	// parameters share (user_data, last_attributed_touch_data): each run
	// looks that hash up once. -1 otherwise.
	seg int
}

type header struct {
	name string
	tmpl *template.Template
}

// modelNames are the root names the data model adds to the event's fields.
var modelNames = []string{"event", "app", "ad_network"}

// needsModel reports whether a template reads event, app or ad_network.
// When it does not, evaluating it with the event as root gives exactly
// what the full model gives (the model is the event's fields plus those
// three names), and the model need not be built: for most partners it
// never is, which is most of what rendering would otherwise cost.
func needsModel(t *template.Template) bool {
	for _, r := range t.Refs() {
		if slices.Contains(modelNames, r) {
			return true
		}
	}
	return false
}

type postback struct {
	method string
	// needsModel: one of the postback's templates reads event, app or
	// ad_network.
	needsModel bool
	url        *template.Template
	headers    []header
	body       *template.Template
	bodyEnc    Encoding
	// bodyCheck: a rendered JSON or form body must parse to be sent.
	bodyCheck bool
	// contentType is sent when no header template sets Content-Type.
	contentType string
	// macros are the parameters the postback uses, in order of first use.
	macros []int
	// urlSeq, headerSeqs and bodySeq list the macros of each template in
	// text order, so that writeMacro usually finds the parameter without
	// a map lookup.
	urlSeq, bodySeq []int
	headerSeqs      [][]int
	// urlPlain, bodyPlain and headerPlains are set when the text has no
	// FreeMarker syntax at all (see plainSegments).
	urlPlain, bodyPlain []segment
	headerPlains        [][]segment
	// urlOnly: the postback is a plain URL and nothing else (no headers,
	// no content type, no body); see run.plainURL. urlOnce: each of its
	// macros appears once.
	urlOnly, urlOnce bool
}

// segment is a piece of a template without FreeMarker syntax: literal
// text, or macro (a parameter index) when macro >= 0.
type segment struct {
	text  string
	macro int
	// once: the macro appears once in the text, so its value need not be
	// kept for a second use
	once bool
}

// ftlMarkers are the character pairs that start FreeMarker syntax in a
// template with the default (angle bracket) tag syntax: interpolations,
// legacy #{} interpolations, directives, user directives and comments.
var ftlMarkers = []string{"${", "#{", "<#", "</#", "<@", "</@"}

// plainSegments splits a template text that contains no FreeMarker syntax
// into literal text and macros, or returns nil. FreeMarker prints such a
// text as it is (whitespace stripping only applies around tags), so
// writing the segments gives the template's output without running the
// engine; most partner URLs are plain text with macros.
func plainSegments(text string, byMacro map[string]int) []segment {
	for _, m := range ftlMarkers {
		if strings.Contains(text, m) {
			return nil
		}
	}
	segs := []segment{}
	last := 0
	for _, loc := range spec.MacroIndexes(text) {
		i, ok := byMacro[text[loc[2]:loc[3]]]
		if !ok {
			continue
		}
		if loc[0] > last {
			segs = append(segs, segment{text: text[last:loc[0]], macro: -1})
		}
		segs = append(segs, segment{macro: i})
		last = loc[1]
	}
	if last < len(text) {
		segs = append(segs, segment{text: text[last:], macro: -1})
	}
	for i := range segs {
		if segs[i].macro < 0 {
			continue
		}
		n := 0
		for _, t := range segs {
			if t.macro == segs[i].macro {
				n++
			}
		}
		segs[i].once = n == 1
	}
	return segs
}

// maxSegs bounds the shared path segments (see Partner.segs); a run holds
// their values in arrays, so that it can live on the stack.
const maxSegs = 4

// maxPlainMacros bounds the macros of a URL that run.plainURL renders
// (partner URLs have up to about 20).
const maxPlainMacros = 32

func countMacros(segs []segment) int {
	n := 0
	for _, s := range segs {
		if s.macro >= 0 {
			n++
		}
	}
	return n
}

// Partner is a compiled partner spec.
type Partner struct {
	id, name, machine string
	params            []param
	byMacro           map[string]int
	postbacks         []postback
	// sel is the spec's selection rule; its postback indexes are those of
	// postbacks.
	sel *spec.Selection
	// segs are the first path segments parameters share; see param.seg.
	segs []string
	// rootNames are the root names read by the templates that need the
	// full model: Render builds the model with those only (see rootModel).
	rootNames []string
	// eventSel is the part of an event anything of this partner can read
	// (ParseEvent decodes only that); nil when a template reads the whole
	// event (event.x), so every field must be decoded.
	eventSel *event.Selection
	// noPlain makes every template run through the engine (tests compare
	// the plain-text fast path with it).
	noPlain bool
	// lastAcct and runs only save allocations between Render calls.
	lastAcct atomic.Pointer[acctValues]
	runs     sync.Pool
}

// ID returns the partner id.
func (cp *Partner) ID() string { return cp.id }

// Name returns the partner's display name.
func (cp *Partner) Name() string { return cp.name }

// MachineName returns the partner's Branch machine name ($3p).
func (cp *Partner) MachineName() string { return cp.machine }

// Postbacks returns every postback reference the partner declares, in
// spec order: the event key of an unnamed postback, the name of a named
// one (see spec.Selection.Keys); each is a valid Options.Postback.
func (cp *Partner) Postbacks() []string { return cp.sel.Keys() }

// Selection returns the partner's postback selection rule, whose indexes
// RenderSelected takes.
func (cp *Partner) Selection() *spec.Selection { return cp.sel }

// CompileError lists every problem found while compiling one spec.
type CompileError struct {
	Partner string
	Errs    []error
}

func (e *CompileError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "partner " + e.Partner + ": " + strings.Join(msgs, "; ")
}

func (e *CompileError) Unwrap() []error { return e.Errs }

// Compile prepares a loaded (and therefore valid) spec for rendering.
func Compile(p *spec.Partner, cat *catalog.Catalog) (*Partner, error) {
	if p == nil || cat == nil {
		return nil, errors.New("render: Compile needs a spec and a catalog")
	}
	cp := &Partner{
		id: p.ID, name: p.Name, machine: p.MachineNameOrDefault(),
		byMacro: make(map[string]int, len(p.Parameters)),
	}
	var errs []error
	fail := func(err error) { errs = append(errs, err) }
	for _, sp := range p.Parameters {
		if _, dup := cp.byMacro[sp.Macro]; dup {
			fail(fmt.Errorf("parameter {%s} is defined twice", sp.Macro))
			continue
		}
		prm, err := compileParam(p.ID, sp, cat)
		if err != nil {
			fail(err)
			continue
		}
		cp.byMacro[sp.Macro] = len(cp.params)
		cp.params = append(cp.params, prm)
	}
	isMacro := func(name string) bool { _, ok := cp.byMacro[name]; return ok }
	for _, sp := range p.Postbacks {
		if len(sp.Events) == 0 {
			fail(errors.New("a postback declares no event"))
			continue
		}
		label := "postback " + strings.Join(sp.Events, ",")
		if sp.Name != "" {
			label = "postback " + sp.Name
		}
		pb := postback{method: sp.MethodOrDefault(), contentType: sp.ContentType}
		var err error
		if pb.url, err = template.Parse(p.ID+" "+label+" url", sp.URL, template.Options{IsMacro: isMacro}); err != nil {
			fail(err)
		}
		names := make([]string, 0, len(sp.Headers))
		for name := range sp.Headers {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			t, err := template.Parse(p.ID+" "+label+" header "+name, sp.Headers[name], template.Options{IsMacro: isMacro})
			if err != nil {
				fail(err)
				continue
			}
			pb.headers = append(pb.headers, header{name, t})
			if strings.EqualFold(name, "Content-Type") {
				pb.contentType = ""
			}
		}
		if sp.Body != "" {
			if pb.body, err = template.Parse(p.ID+" "+label+" body", sp.Body, template.Options{IsMacro: isMacro}); err != nil {
				fail(err)
			}
			pb.bodyEnc = bodyEncoding(sp.BodyFormat())
			pb.bodyCheck = sp.BodyChecked() && pb.bodyEnc != EncRaw
			if pb.contentType == "" && pb.bodyEnc == EncJSON && !hasHeader(sp.Headers, "Content-Type") {
				pb.contentType = "application/json"
			}
		}
		for _, t := range append([]*template.Template{pb.url, pb.body}, headerTemplates(pb.headers)...) {
			if t != nil && needsModel(t) {
				pb.needsModel = true
			}
		}
		texts := []string{sp.URL}
		for _, name := range names {
			texts = append(texts, sp.Headers[name])
		}
		texts = append(texts, sp.Body)
		pb.macros = usedMacros(texts, cp.byMacro)
		pb.urlSeq, pb.bodySeq = macroSeq(sp.URL, cp.byMacro), macroSeq(sp.Body, cp.byMacro)
		pb.urlPlain, pb.bodyPlain = plainSegments(sp.URL, cp.byMacro), plainSegments(sp.Body, cp.byMacro)
		for _, h := range pb.headers {
			pb.headerSeqs = append(pb.headerSeqs, macroSeq(sp.Headers[h.name], cp.byMacro))
			pb.headerPlains = append(pb.headerPlains, plainSegments(sp.Headers[h.name], cp.byMacro))
		}
		pb.urlOnly = pb.urlPlain != nil && countMacros(pb.urlPlain) <= maxPlainMacros &&
			len(pb.headers) == 0 && pb.contentType == "" && pb.body == nil
		pb.urlOnce = pb.urlOnly
		for _, s := range pb.urlPlain {
			if s.macro >= 0 && !s.once {
				pb.urlOnce = false
			}
		}
		cp.postbacks = append(cp.postbacks, pb)
	}
	var conflicts []spec.Conflict
	cp.sel, conflicts = p.Selection()
	for _, c := range conflicts {
		// the lint's duplicate-event and duplicate-postback-name, which
		// cannot be suppressed, report these with positions
		if c.Event < 0 {
			fail(fmt.Errorf("postback name %q is not unique (postbacks[%d] and [%d])", p.Postbacks[c.Postback].Name, c.First, c.Postback))
		} else {
			fail(fmt.Errorf("event %s has two postbacks without a name to tell them apart", p.Postbacks[c.Postback].Events[c.Event]))
		}
	}
	if len(errs) > 0 {
		return nil, &CompileError{Partner: p.ID, Errs: errs}
	}
	cp.shareSegments()
	cp.collectRootNames()
	cp.collectEventRoots()
	return cp, nil
}

// collectRootNames gathers the top-level names read by every template that
// needs the full data model.
func (cp *Partner) collectRootNames() {
	add := func(t *template.Template) {
		if t == nil || !needsModel(t) {
			return
		}
		for _, r := range t.Refs() {
			if !slices.Contains(cp.rootNames, r) {
				cp.rootNames = append(cp.rootNames, r)
			}
		}
	}
	for i := range cp.params {
		p := &cp.params[i]
		add(p.tmpl)
		if p.kind == kindPath && p.needsModel && !slices.Contains(cp.rootNames, p.path[0]) {
			cp.rootNames = append(cp.rootNames, p.path[0])
		}
	}
	for i := range cp.postbacks {
		pb := &cp.postbacks[i]
		add(pb.url)
		add(pb.body)
		for _, h := range pb.headers {
			add(h.tmpl)
		}
	}
}

// collectEventRoots gathers the event paths the partner's parameters and
// templates can read: a template's root names (Template.Refs lists every
// root name it reads) are kept whole, a parameter's path only down to its
// leaf. An event holding only these renders exactly as the whole event.
func (cp *Partner) collectEventRoots() {
	var paths []event.Path
	whole := false
	addRoot := func(n string) {
		if n == "event" {
			whole = true
		}
		paths = append(paths, event.Path{n})
		if a := aliasKey(n); a != "" {
			paths = append(paths, event.Path{a})
		}
	}
	addT := func(t *template.Template) {
		if t != nil {
			for _, r := range t.Refs() {
				addRoot(r)
			}
		}
	}
	for i := range cp.params {
		p := &cp.params[i]
		addT(p.tmpl)
		if len(p.path) == 0 {
			continue
		}
		alias := false
		for _, k := range p.path {
			alias = alias || aliasKey(k) != ""
		}
		if alias || p.path[0] == "event" {
			// an alias spelling may name either key: keep the root whole
			addRoot(p.path[0])
		} else {
			paths = append(paths, p.path)
		}
	}
	for i := range cp.postbacks {
		pb := &cp.postbacks[i]
		addT(pb.url)
		addT(pb.body)
		for _, h := range pb.headers {
			addT(h.tmpl)
		}
	}
	if !whole {
		cp.eventSel = event.NewSelection(paths)
	}
}

// aliasKey is the key Branch's dollar_x, tilde_x and plus_x spellings
// stand for ($x, ~x, +x), "" for other names.
func aliasKey(n string) string {
	for _, a := range [...]struct{ prefix, key string }{{"dollar_", "$"}, {"tilde_", "~"}, {"plus_", "+"}} {
		if rest, ok := strings.CutPrefix(n, a.prefix); ok && rest != "" {
			return a.key + rest
		}
	}
	return ""
}

// ParseEvent decodes an event for this partner's Render: only the paths
// its parameters and templates can read are materialised (the rest of the
// JSON is validated and skipped), which is most of what decoding costs.
// The event must not be given to another partner or to Model; use
// event.Parse for that.
func (cp *Partner) ParseEvent(b []byte) (*event.Event, error) {
	return event.ParseSelected(b, cp.eventSel)
}

// rootModel builds the data model restricted to names. A template reaches
// the root only through the names it reads (Template.Refs), so for the
// templates whose names are collected it is indistinguishable from the
// full model, which has every field of the event and would cost a copy
// of all of them per event.
func rootModel(ev *event.Event, names []string, app, net template.Value) template.Value {
	var keys []string
	var vals []template.Value
	if len(names) <= len(modelBuf{}.keys) {
		// one allocation for both slices; the hash keeps them
		b := new(modelBuf)
		keys, vals = b.keys[:0:len(names)], b.vals[:0:len(names)]
	} else {
		keys, vals = make([]string, 0, len(names)), make([]template.Value, 0, len(names))
	}
	for _, n := range names {
		var v template.Value
		switch n {
		case "event":
			v = ev.Value()
		case "ad_network":
			v = net
		case "app":
			if v = app; v.IsMissing() {
				v = ev.Value().Get("app")
			}
		default:
			v = ev.Value().Get(n)
		}
		if !v.IsMissing() {
			keys = append(keys, n)
			vals = append(vals, v)
		}
	}
	// NewHash keeps the slices: it allocates only the hash itself
	return template.NewHash(keys, vals)
}

// modelBuf holds the parts of a small root model (see rootModel).
type modelBuf struct {
	keys [6]string
	vals [6]template.Value
}

// shareSegments gives every event path parameter whose first segment at
// least one other parameter also starts with a slot in cp.segs.
func (cp *Partner) shareSegments() {
	count := map[string]int{}
	for i := range cp.params {
		p := &cp.params[i]
		p.seg = -1
		if p.kind == kindPath && !p.needsModel && len(p.path) > 1 {
			count[p.path[0]]++
		}
	}
	for i := range cp.params {
		p := &cp.params[i]
		if p.kind != kindPath || p.needsModel || len(p.path) < 2 || count[p.path[0]] < 2 {
			continue
		}
		j := slices.Index(cp.segs, p.path[0])
		if j < 0 && len(cp.segs) == maxSegs {
			continue // looked up from the root each time
		}
		if j < 0 {
			j = len(cp.segs)
			cp.segs = append(cp.segs, p.path[0])
		}
		p.seg = j
	}
}

// macroSeq lists the declared macros of text in order, repeats included.
func macroSeq(text string, byMacro map[string]int) []int {
	var seq []int
	for _, m := range spec.MacroIndexes(text) {
		if i, ok := byMacro[text[m[2]:m[3]]]; ok {
			seq = append(seq, i)
		}
	}
	return seq
}

func headerTemplates(hs []header) []*template.Template {
	ts := make([]*template.Template, len(hs))
	for i, h := range hs {
		ts[i] = h.tmpl
	}
	return ts
}

func compileParam(partner string, sp spec.Parameter, cat *catalog.Catalog) (param, error) {
	prm := param{macro: sp.Macro, branch: sp.Branch, required: sp.Required}
	def, ok := cat.Lookup(sp.Branch)
	if !ok {
		return prm, fmt.Errorf("parameter {%s}: unknown Branch parameter %s", sp.Macro, sp.Branch)
	}
	if m := defaultPathRE.FindStringSubmatch(sp.Template); m != nil {
		// ${(a.b)!}, the commonest webhook template, is a path lookup:
		// printing the value found, or nothing when any step is missing,
		// is what FreeMarker does with it. It still reads as a template in
		// explain output.
		prm.kind, prm.path, prm.source, prm.from = kindPath, event.ParsePath(m[1]), SourceTemplate, "parameter template "+sp.Template
		prm.needsModel = slices.Contains(modelNames, prm.path[0])
		return prm, nil
	}
	if sp.Template != "" {
		// The spec's own template wins over the catalog definition, as
		// Branch's webhook template column does.
		prm.where = "partner " + partner + " parameter {" + sp.Macro + "} template"
		t, err := template.Parse(prm.where, sp.Template, template.Options{})
		if err != nil {
			return prm, err
		}
		prm.kind, prm.tmpl, prm.source, prm.from = kindTemplate, t, SourceTemplate, "parameter template "+sp.Template
		prm.needsModel = needsModel(t)
		return prm, nil
	}
	prm.hash = def.Hash
	switch {
	case def.LinkOnly:
		// A click parameter that lives on the tracking link only has no
		// value in a postback: the macro renders empty, as the lint's
		// link-only-parameter warning tells the spec's author.
		prm.kind, prm.source, prm.from = kindNone, SourceLink, def.Name+" is link-only: no value in a postback"
	case def.Path != "" && def.Transform != "":
		prm.where = "partner " + partner + " parameter {" + sp.Macro + "} (" + string(def.Transform) + " of " + def.Name + ")"
		t, err := template.Parse(prm.where, def.TransformTemplate(), template.Options{})
		if err != nil {
			return prm, err
		}
		prm.kind, prm.path, prm.tmpl, prm.source, prm.from = kindTransform, event.ParsePath(def.Path), t, SourceEvent, string(def.Transform)+" of "+def.Path
		prm.transform = def.Transform
		prm.needsModel = needsModel(t)
	case def.Path != "":
		prm.kind, prm.path, prm.source, prm.from = kindPath, event.ParsePath(def.Path), SourceEvent, def.Path
		if strings.HasPrefix(def.Path, "last_attributed_touch_data.") {
			prm.source = SourceLink
		}
	case def.Template != "":
		prm.where = "partner " + partner + " parameter {" + sp.Macro + "} (catalog template of " + def.Name + ")"
		t, err := template.Parse(prm.where, def.Template, template.Options{})
		if err != nil {
			return prm, err
		}
		prm.kind, prm.tmpl, prm.source, prm.from = kindTemplate, t, SourceTemplate, "catalog template of "+def.Name
		prm.needsModel = needsModel(t)
	case def.Source == catalog.SourceCredential:
		prm.kind, prm.key, prm.source, prm.from = kindCredential, sp.Macro, SourceCredential, "ad_network.credentials."+sp.Macro
	case def.Source == catalog.SourceLinkMacro:
		p := "last_attributed_touch_data." + sp.Macro
		prm.kind, prm.path, prm.source, prm.from = kindPath, event.ParsePath(p), SourceLink, p
	case def.Source == catalog.SourceSetting:
		prm.kind, prm.key, prm.source, prm.from = kindSetting, def.Setting, SourceSetting, "settings."+def.Setting
	case def.Source == catalog.SourceParameterTemplate:
		prm.kind, prm.source, prm.from = kindNone, SourceTemplate, "parameter template (none given)"
	default:
		return prm, fmt.Errorf("parameter {%s}: catalog entry %s has no way to obtain a value", sp.Macro, def.Name)
	}
	if prm.hash != "" {
		prm.from = string(prm.hash) + " of " + prm.from
	}
	if prm.kind == kindPath && len(prm.path) > 0 && slices.Contains(modelNames, prm.path[0]) {
		prm.needsModel = true
	}
	return prm, nil
}

// defaultPathRE matches a template that is only ${(dotted.path)!}.
var defaultPathRE = regexp.MustCompile(`^\$\{\(([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_$~+][A-Za-z0-9_$~+]*)*)\)!\}$`)

// usedMacros lists the declared parameters written as {name} in texts, in
// order of first use. It reads the raw text, so a {name} inside a string
// literal of an expression counts too: the list errs on the side of
// checking a required parameter the template might not print.
func usedMacros(texts []string, byMacro map[string]int) []int {
	var out []int
	for _, t := range texts {
		for _, m := range spec.MacroIndexes(t) {
			if i, ok := byMacro[t[m[2]:m[3]]]; ok && !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// bodyEncoding is how macros are escaped in a body of format f (see
// spec.Postback.BodyFormat, the one place the format is decided).
func bodyEncoding(f spec.BodyFormat) Encoding {
	switch f {
	case spec.BodyJSON:
		return EncJSON
	case spec.BodyForm:
		return EncQuery
	}
	return EncRaw
}

// selection appends to dst the postbacks an event triggers (spec's rule),
// or the one Options.Postback names.
func (cp *Partner) selection(dst []spec.Selected, name string, opt Options) ([]spec.Selected, error) {
	if opt.Postback != "" {
		n := len(dst)
		if dst = cp.sel.Find(dst, opt.Postback); len(dst) == n {
			return dst, fmt.Errorf("partner %s has no postback %q (it has %s)", cp.id, opt.Postback, strings.Join(cp.Postbacks(), ", "))
		}
		return dst, nil
	}
	return cp.sel.Select(dst, name, nil), nil
}

// Selects reports the key of the first postback an event name triggers,
// or "".
func (cp *Partner) Selects(eventName string) string {
	var buf [4]spec.Selected
	if sel := cp.sel.Select(buf[:0], eventName, nil); len(sel) > 0 {
		return sel[0].Key
	}
	return ""
}

// Model builds the template data model for an event and an account, as
// Render sees it: event fields at the root, event, app and ad_network.
func (cp *Partner) Model(ev *event.Event, acct *Account) template.Value {
	return event.Model(ev, acct.AppValue(), acct.NetworkValue(cp.machine, cp.name))
}

// Render renders the postbacks ev triggers. The error is reserved for a
// bad request (an unknown Options.Postback); template failures and missing
// required values become Skipped entries. acct may be nil (no account).
func (cp *Partner) Render(ev *event.Event, acct *Account, opt Options) (Result, error) {
	var buf [4]spec.Selected
	sel, err := cp.selection(buf[:0], ev.Name(), opt)
	if err != nil {
		return Result{Partner: cp.id, Event: ev.Name(), Requests: []Request{}, Skipped: []Skipped{}}, err
	}
	return cp.RenderSelected(ev, acct, sel, opt), nil
}

// RenderSelected renders the postbacks sel names, in its order, as Render
// renders those it selects; Options.Postback is ignored. sel comes from
// this partner's Selection (or from spec.Partner.Selection of the spec it
// was compiled from, which has the same indexes). A caller that applies
// its own choices to each selected postback, as the gateway does, renders
// them one at a time with it.
func (cp *Partner) RenderSelected(ev *event.Event, acct *Account, sel []spec.Selected, opt Options) Result {
	res := Result{Partner: cp.id, Event: ev.Name(), Requests: []Request{}, Skipped: []Skipped{}}
	for _, ref := range sel {
		var req Request
		var skip *Skipped
		if pb := &cp.postbacks[ref.Index]; pb.urlOnly && pb.urlOnce && !opt.Explain && !cp.noPlain {
			// a plain URL whose macros are each used once keeps no values:
			// the run's state fits in this frame, without the pool
			r := run{cp: cp, ev: ev, acct: acct}
			// no shared clock here: its address would move r to the heap;
			// only parameter templates run, each on its own clock
			r.exec.MaxDuration = opt.MaxDuration
			req, skip = r.postback(ref, false)
		} else {
			r := cp.getRun(ev, acct)
			r.exec.MaxDuration, r.exec.Clock = opt.MaxDuration, &r.clock
			req, skip = r.postback(ref, opt.Explain)
			cp.putRun(r)
		}
		if skip != nil {
			res.Skipped = append(res.Skipped, *skip)
		} else {
			res.Requests = append(res.Requests, req)
		}
	}
	return res
}

// acctValues caches the template values built from one account.
type acctValues struct {
	acct     *Account
	app, net template.Value
}

// accountValues returns app and ad_network for acct, reusing the last
// account's values: a gateway renders many events for the same account.
// An Account is immutable, so the same pointer means the same values.
func (cp *Partner) accountValues(acct *Account) (app, net template.Value) {
	if c := cp.lastAcct.Load(); c != nil && c.acct == acct && acct != nil {
		return c.app, c.net
	}
	c := &acctValues{acct: acct, app: acct.AppValue(), net: acct.NetworkValue(cp.machine, cp.name)}
	cp.lastAcct.Store(c)
	return c.app, c.net
}

// run holds one event's lazily resolved parameter values.
type run struct {
	cp       *Partner
	ev       *event.Event
	acct     *Account
	model    template.Value
	hasModel bool
	evv      template.Value // the event's value, for rootRef
	hasEv    bool
	// valsUsed and segsUsed say whether vals and segs need clearing
	valsUsed, segsUsed bool
	vals               []resolved
	// segs holds the values of Partner.segs (at most maxSegs)
	segs    [maxSegs]template.Value
	segDone [maxSegs]bool
	enc     Encoding
	seq     []int // macros of the template being executed, see postback.urlSeq
	pos     int
	exec    template.ExecOptions
	clock   template.Clock // the deadline clock of the render's templates
}

type resolved struct {
	v    string
	err  error
	done bool
}

func (cp *Partner) getRun(ev *event.Event, acct *Account) *run {
	r, _ := cp.runs.Get().(*run)
	if r == nil {
		r = &run{cp: cp, vals: make([]resolved, len(cp.params))}
		r.exec.Macro = r.writeMacro
	}
	r.ev, r.acct = ev, acct
	return r
}

func (cp *Partner) putRun(r *run) {
	r.ev, r.acct, r.model, r.hasModel = nil, nil, template.Value{}, false
	r.clock = template.Clock{}
	r.evv, r.hasEv = template.Value{}, false
	if r.valsUsed {
		clear(r.vals)
		r.valsUsed = false
	}
	if r.segsUsed {
		r.segs, r.segDone = [maxSegs]template.Value{}, [maxSegs]bool{}
		r.segsUsed = false
	}
	cp.runs.Put(r)
}

// root returns the template root: the full data model when needed, the
// event itself otherwise.
func (r *run) root(full bool) template.Value {
	if !full {
		return r.ev.Value()
	}
	if !r.hasModel {
		app, net := r.cp.accountValues(r.acct)
		r.model, r.hasModel = rootModel(r.ev, r.cp.rootNames, app, net), true
	}
	return r.model
}

// rootRef is root without copying the value.
func (r *run) rootRef(full bool) *template.Value {
	if !full {
		if !r.hasEv {
			r.evv, r.hasEv = r.ev.Value(), true
		}
		return &r.evv
	}
	if !r.hasModel {
		r.root(true)
	}
	return &r.model
}

// value resolves parameter i once per event.
func (r *run) value(i int) (string, error) {
	rv := &r.vals[i]
	if rv.done {
		return rv.v, rv.err
	}
	v, err := r.compute(i)
	r.valsUsed = true
	rv.v, rv.done = v, true
	if err != nil {
		rv.err = err
	}
	return v, err
}

// compute resolves parameter i (value caches it).
func (r *run) compute(i int) (string, error) {
	p := &r.cp.params[i]
	var v string
	var err error
	switch p.kind {
	case kindPath:
		// (a.b.c)! as FreeMarker reads it: a missing step gives "", but
		// stepping into a value that is not a hash is an error
		at, start := (*template.Value)(nil), 0
		if p.seg >= 0 {
			if !r.segDone[p.seg] {
				r.segs[p.seg], r.segDone[p.seg] = r.rootRef(false).Get(p.path[0]), true
				r.segsUsed = true
			}
			at, start = &r.segs[p.seg], 1
		} else {
			at = r.rootRef(p.needsModel)
		}
		var ok bool
		if v, ok = at.LookupText(p.path[start:]...); !ok {
			err = pathError(p.path, start, at, p.from)
		}
	case kindTransform:
		var ok bool
		if v, ok = transformFast(p.transform, p.path, r.rootRef(p.needsModel)); ok {
			break
		}
		fallthrough
	case kindTemplate:
		v, err = p.tmpl.ExecuteString(r.root(p.needsModel), &template.ExecOptions{MaxDuration: r.exec.MaxDuration, Clock: r.exec.Clock})
		if err != nil {
			err = templateReason(p.where, err)
		}
	case kindCredential:
		v = r.acct.Credential(p.key)
	case kindSetting:
		v = r.acct.Setting(p.key)
	}
	if err == nil && v != "" && p.hash != "" {
		v = digest(p.hash, v)
	}
	return v, err
}

// transformFast applies t to v when v is missing (empty, as the template's
// ?? test gives) or a plain non-negative integer, whose decimal text makes
// the result exact without arithmetic: floor(n / 1000) drops the last three
// digits (up to 15 digits, see below). ok is false for anything else (fractions, exponents, negative
// numbers, non-numbers), which the equivalent template then decides.
func transformFast(t catalog.Transform, path event.Path, root *template.Value) (string, bool) {
	v := root
	var cur template.Value
	for _, k := range path {
		if v.IsMissing() {
			return "", true
		}
		if v.Kind() != template.KindHash {
			return "", false // an error in the template: let it word it
		}
		cur = v.Get(k)
		v = &cur
	}
	if v.IsMissing() {
		return "", true
	}
	if t != catalog.MillisToSeconds || v.Kind() != template.KindNumber {
		return "", false
	}
	s := v.NumberText()
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	if len(s) > 15 {
		// FreeMarker's ?floor goes through a double: past 2^42 seconds the
		// double's spacing reaches 1/1000 and can round up, so huge values
		// are left to the template to reproduce that exactly.
		return "", false
	}
	if len(s) > 1 && s[0] == '0' {
		return "", false // not the canonical text; let the template decide
	}
	if len(s) <= 3 {
		return "0", true
	}
	return s[:len(s)-3], true
}

// pathError says why a path parameter has no text: at, the value found
// at path[:start], holds a value that is not a hash on the way, or one
// without a text form at the end.
func pathError(path event.Path, start int, at *template.Value, from string) error {
	found, depth := at.Lookup(path[start:]...)
	if start+depth < len(path) {
		return fmt.Errorf("%s: %s is a %s, not a hash", from, strings.Join(path[:start+depth], "."), found.Kind())
	}
	return fmt.Errorf("%s is a %s, which has no text form", from, found.Kind())
}

func digest(h catalog.Hash, v string) string {
	var d hash.Hash
	switch h {
	case catalog.HashMD5:
		d = md5.New()
	case catalog.HashSHA1:
		d = sha1.New()
	default:
		d = sha256.New()
	}
	d.Write([]byte(v))
	return hex.EncodeToString(d.Sum(nil))
}

func (r *run) writeMacro(w *strings.Builder, name string) error {
	var i int
	if r.pos < len(r.seq) && r.cp.params[r.seq[r.pos]].macro == name {
		i = r.seq[r.pos]
		r.pos++
	} else {
		var ok bool
		if i, ok = r.cp.byMacro[name]; !ok {
			return nil
		}
	}
	v, err := r.value(i)
	if err != nil {
		return err
	}
	writeEncoded(w, v, r.enc)
	return nil
}

// execute runs a postback template, or writes its plain segments when it
// has no FreeMarker syntax, under the same output bound.
func (r *run) execute(t *template.Template, plain []segment, root template.Value) (string, error) {
	if plain == nil || r.cp.noPlain {
		return t.ExecuteString(root, &r.exec)
	}
	var b strings.Builder
	n := 0
	for _, s := range plain {
		n += len(s.text) + 16
	}
	b.Grow(n)
	for _, s := range plain {
		if s.macro < 0 {
			b.WriteString(s.text)
		} else {
			v, err := r.value(s.macro)
			if err != nil {
				return "", err
			}
			writeEncoded(&b, v, r.enc)
		}
		if b.Len() > template.DefaultMaxOutput {
			return "", outputLimitErr(t)
		}
	}
	return b.String(), nil
}

// outputLimitErr is the engine's output bound, as the plain-text paths
// (which write without the engine) report it.
func outputLimitErr(t *template.Template) error {
	return &template.Error{Name: t.Name(), Rule: template.RuleLimit,
		Msg: fmt.Sprintf("output larger than %d bytes", template.DefaultMaxOutput)}
}

// where names a postback part in a skip reason; it is built only for an
// error, as a render that succeeds needs no such string.
func (cp *Partner) where(ref spec.Selected, part string) string {
	return "partner " + cp.id + " postback " + ref.Ref() + part
}

// requiredReason is the skip reason of a required parameter without value.
func (p *param) requiredReason() string {
	return fmt.Sprintf("required parameter {%s} (%s) has no value (from %s)", p.macro, p.branch, p.from)
}

// templateReason words a template failure for a skip reason: what failed
// (partner, postback part or parameter) and where.
func templateReason(where string, err error) error {
	var te *template.Error
	if errors.As(err, &te) {
		if te.Line > 0 {
			return fmt.Errorf("template error in %s at line %d, column %d: %s", where, te.Line, te.Col, te.Msg)
		}
		return fmt.Errorf("template error in %s: %s", where, te.Msg)
	}
	return fmt.Errorf("template error in %s: %w", where, err)
}

func (r *run) postback(ref spec.Selected, explain bool) (Request, *Skipped) {
	pb := &r.cp.postbacks[ref.Index]
	skip := func(reason string) (Request, *Skipped) {
		s := &Skipped{Postback: ref.Key, Name: ref.Name, Reason: reason}
		if explain {
			s.Explain = r.explain(pb)
		}
		return Request{}, s
	}
	if pb.urlOnly && !explain && !r.cp.noPlain {
		u, reason := r.plainURL(pb, ref)
		if reason != "" {
			return skip(reason)
		}
		return Request{Postback: ref.Key, Name: ref.Name, Method: pb.method, URL: u}, nil
	}
	for _, i := range pb.macros {
		v, err := r.value(i)
		if err != nil {
			return skip(err.Error())
		}
		if v == "" && r.cp.params[i].required {
			p := &r.cp.params[i]
			return skip(p.requiredReason())
		}
	}
	req := Request{Postback: ref.Key, Name: ref.Name, Method: pb.method}
	if len(pb.headers) > 0 || pb.contentType != "" {
		req.Headers = make(map[string]string, len(pb.headers)+1)
	}
	root := r.root(pb.needsModel)
	var err error
	r.enc, r.seq, r.pos = EncQuery, pb.urlSeq, 0
	if req.URL, err = r.execute(pb.url, pb.urlPlain, root); err != nil {
		return skip(templateReason(r.cp.where(ref, " url"), err).Error())
	}
	r.enc = EncRaw
	for hi, h := range pb.headers {
		r.seq, r.pos = pb.headerSeqs[hi], 0
		v, err := r.execute(h.tmpl, pb.headerPlains[hi], root)
		if err != nil {
			return skip(templateReason(r.cp.where(ref, " header "+h.name), err).Error())
		}
		if i := strings.IndexFunc(v, func(c rune) bool { return c < 0x20 && c != '\t' || c == 0x7f }); i >= 0 {
			// A line break in a header value would let a value inject headers.
			return skip(fmt.Sprintf("header %s: rendered value contains a control character at byte %d", h.name, i))
		}
		req.Headers[h.name] = v
	}
	if pb.contentType != "" {
		req.Headers["Content-Type"] = pb.contentType
	}
	if pb.body != nil {
		r.enc, r.seq, r.pos = pb.bodyEnc, pb.bodySeq, 0
		if req.Body, err = r.execute(pb.body, pb.bodyPlain, root); err != nil {
			return skip(templateReason(r.cp.where(ref, " body"), err).Error())
		}
		if pb.bodyCheck {
			if reason := checkBody(req.Body, pb.bodyEnc); reason != "" {
				return skip(r.cp.where(ref, " body") + ": " + reason + " (body_check: off sends it as is)")
			}
		}
	}
	if explain {
		req.Explain = r.explain(pb)
	}
	return req, nil
}

// plainURL renders a postback that is only a plain URL (no headers, no
// content type, no body): resolving each macro in the order of the
// segments gives what checking pb.macros first does, since pb.macros are
// then the URL's macros in order of first use. The values are resolved
// first, measuring their encoded length, so the URL is written into a
// buffer of exactly its size.
func (r *run) plainURL(pb *postback, ref spec.Selected) (string, string) {
	// local arrays, not slices that might be on the heap: storing into
	// them needs no write barrier (a URL-only postback has at most
	// maxPlainMacros macros)
	var vals [maxPlainMacros]string
	var esc [maxPlainMacros]bool // the value has bytes to escape
	segs := pb.urlPlain
	n, k := 0, 0
	for i := range segs {
		s := &segs[i]
		if s.macro < 0 {
			n += len(s.text)
			continue
		}
		var v string
		var err error
		if s.once {
			v, err = r.compute(s.macro)
		} else {
			v, err = r.value(s.macro)
		}
		if err != nil {
			return "", err.Error()
		}
		if p := &r.cp.params[s.macro]; v == "" && p.required {
			return "", p.requiredReason()
		}
		q := queryLen(v)
		n += q
		vals[k], esc[k] = v, q != len(v)
		k++
	}
	if n > template.DefaultMaxOutput {
		return "", templateReason(r.cp.where(ref, " url"), outputLimitErr(pb.url)).Error()
	}
	// appending to a local slice rather than a strings.Builder saves a
	// write barrier per write while the GC runs
	buf := make([]byte, 0, n)
	k = 0
	for i := range segs {
		s := &segs[i]
		switch {
		case s.macro < 0:
			buf = append(buf, s.text...)
			continue
		case esc[k]:
			buf = appendQuery(buf, vals[k])
		default:
			buf = append(buf, vals[k]...)
		}
		k++
	}
	// buf is never written again: the string can share its memory, as
	// strings.Builder.String does
	return unsafe.String(unsafe.SliceData(buf), len(buf)), ""
}

func (r *run) explain(pb *postback) []Macro {
	out := make([]Macro, 0, len(pb.macros))
	for _, i := range pb.macros {
		p := &r.cp.params[i]
		v, err := r.value(i)
		m := Macro{Name: p.macro, Value: v, Branch: p.branch, Source: p.source, From: p.from, Required: p.required}
		if err != nil {
			m.Error = err.Error()
		}
		out = append(out, m)
	}
	return out
}
