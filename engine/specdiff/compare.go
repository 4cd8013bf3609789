package specdiff

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// Kinds of EventDiff.
const (
	// Changed: the postback is sent by both versions, differently.
	Changed = "changed"
	// Starts: the new version sends a postback the old one did not.
	Starts = "starts"
	// Stops: the old version sent a postback the new one does not.
	Stops = "stops"
)

// Partner statuses in the report.
const (
	PartnerChanged = "changed"
	PartnerAdded   = "added"
	PartnerRemoved = "removed"
)

// Report is what changes between two versions for a set of events.
type Report struct {
	Base   string `json:"base"`
	Head   string `json:"head"`
	Events int    `json:"events"`
	// Partners lists the partners whose output changes, by id.
	Partners []PartnerDiff `json:"partners"`
	// NoEffect lists partners whose spec changed while no event of the
	// set renders differently: the events do not exercise the change.
	NoEffect []string `json:"no_effect"`
}

// Changed reports whether any partner's output changes.
func (r *Report) Changed() bool { return len(r.Partners) > 0 }

// PartnerDiff is one partner's changes.
type PartnerDiff struct {
	Partner string `json:"partner"`
	Status  string `json:"status"`
	// File is the spec file the positions refer to: the new version's,
	// or the old one's for a removed partner.
	File      string         `json:"file"`
	Postbacks []PostbackDiff `json:"postbacks"`
}

// PostbackDiff is the changes of one postback key over the events.
type PostbackDiff struct {
	Postback string      `json:"postback"`
	Events   []EventDiff `json:"events"`
}

// EventDiff is how one event's postback differs.
type EventDiff struct {
	Event string `json:"event"`
	// Name is the event's name (INSTALL, PURCHASE, a custom name).
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Reason says why a postback starts or stops being sent.
	Reason string `json:"reason,omitempty"`
	// Request is the request that starts or stops being sent.
	Request *render.Request `json:"request,omitempty"`
	// Fields are the changes of a changed request.
	Fields []FieldChange `json:"fields,omitempty"`
	// Pos is where in the spec a start or stop comes from.
	Pos Pos `json:"pos,omitzero"`
}

// Field names of FieldChange.
const (
	FieldMethod = "method"
	FieldURL    = "url"   // scheme, host and path, or the whole URL
	FieldQuery  = "query" // one query parameter; Name is its key
	FieldHeader = "header"
	FieldBody   = "body" // the whole body, or one JSON path or form key in Name
)

// FieldChange is one change of a request. Old is nil when the part is
// added, New when it is removed.
type FieldChange struct {
	Field string `json:"field"`
	Name  string `json:"name,omitempty"`
	// From is the old key of a query parameter or form key that is
	// renamed: Name is gone, From, with the same value, is new.
	From string  `json:"from,omitempty"`
	Old  *string `json:"old,omitempty"`
	New  *string `json:"new,omitempty"`
	// Pos is the spec line that makes the change: the changed template or
	// parameter of the new version.
	Pos Pos `json:"pos,omitzero"`
}

// Pos is a 1-based position in PartnerDiff.File; a zero Line means the
// file as a whole.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"column"`
}

// Options tune Compare.
type Options struct {
	// Account renders every event without an account of its own; nil
	// uses Defaults.
	Account *account.Account
	// Defaults are accounts by partner id (a fixture file's default
	// account), for events without an account of their own when Account
	// is nil. A partner with neither renders with the empty account.
	Defaults map[string]*account.Account
}

// outcome is one postback's result for one event in one version.
type outcome struct {
	req  *render.Request
	skip *render.Skipped
}

// Compare renders events through both versions and reports what changes.
func Compare(ctx context.Context, base, head *Version, events []Event, opt Options) (*Report, error) {
	v, err := event.NewValidator()
	if err != nil {
		return nil, err
	}
	parsed := make([]*event.Event, len(events))
	for i, e := range events {
		if err := v.Validate(e.JSON); err != nil {
			return nil, fmt.Errorf("event %s: %w", e.Label, err)
		}
		if parsed[i], err = event.Parse(e.JSON); err != nil {
			return nil, fmt.Errorf("event %s: %w", e.Label, err)
		}
	}
	rep := &Report{Base: base.Label, Head: head.Label, Events: len(events), Partners: []PartnerDiff{}, NoEffect: []string{}}
	ids := append(base.IDs(), head.IDs()...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, h := base.specs[id], head.specs[id]
		pd := PartnerDiff{Partner: id, Status: PartnerChanged}
		switch {
		case b == nil:
			pd.Status, pd.File = PartnerAdded, h.path
		case h == nil:
			pd.Status, pd.File = PartnerRemoved, b.path
		default:
			pd.File = h.path
		}
		c := comparer{base: b, head: h}
		for i, e := range events {
			if e.Partner != "" && e.Partner != id {
				continue
			}
			acct := e.Account
			if acct == nil {
				acct = opt.Account
			}
			if acct == nil {
				acct = opt.Defaults[id]
			}
			if err := c.event(&pd, e.Label, parsed[i], acct); err != nil {
				return nil, fmt.Errorf("partner %s, event %s: %w", id, e.Label, err)
			}
		}
		switch {
		case len(pd.Postbacks) > 0 || pd.Status != PartnerChanged:
			rep.Partners = append(rep.Partners, pd)
		case !reflect.DeepEqual(b.partner, h.partner):
			rep.NoEffect = append(rep.NoEffect, id)
		}
	}
	return rep, nil
}

// comparer compares one partner's two versions; either may be nil.
type comparer struct {
	base, head *loaded
}

// outcomes renders ev in one version (nothing when l is nil) and returns
// each postback's outcome, keyed by postback key and occurrence (KEY,
// KEY#2, ...) so that a postback rendered more than once for one event is
// compared occurrence by occurrence; keys lists them in render order.
func outcomes(l *loaded, ev *event.Event, acct *account.Account) (keys []string, out map[string]outcome, err error) {
	out = map[string]outcome{}
	if l == nil {
		return nil, out, nil
	}
	res, err := l.cp.Render(ev, acct, render.Options{Explain: true})
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]int{}
	key := func(pb string) string {
		seen[pb]++
		if n := seen[pb]; n > 1 {
			return fmt.Sprintf("%s#%d", pb, n)
		}
		return pb
	}
	for i := range res.Requests {
		k := key(postbackRef(res.Requests[i].Name, res.Requests[i].Postback))
		keys = append(keys, k)
		out[k] = outcome{req: &res.Requests[i]}
	}
	for i := range res.Skipped {
		k := key(postbackRef(res.Skipped[i].Name, res.Skipped[i].Postback))
		keys = append(keys, k)
		out[k] = outcome{skip: &res.Skipped[i]}
	}
	return keys, out, nil
}

func (c *comparer) event(pd *PartnerDiff, label string, ev *event.Event, acct *account.Account) error {
	hk, ho, err := outcomes(c.head, ev, acct)
	if err != nil {
		return err
	}
	bk, bo, err := outcomes(c.base, ev, acct)
	if err != nil {
		return err
	}
	keys := append(hk, bk...)
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		b, h := bo[k], ho[k]
		d := EventDiff{Event: label, Name: ev.Name()}
		pb := postbackOf(k, b, h)
		switch {
		case b.req == nil && h.req == nil:
			continue
		case b.req == nil:
			d.Kind, d.Request = Starts, stripExplain(h.req)
			d.Reason, d.Pos = c.startReason(pb, b, h)
		case h.req == nil:
			d.Kind, d.Request = Stops, stripExplain(b.req)
			d.Reason, d.Pos = c.stopReason(pb, h)
		default:
			d.Fields = diffRequests(b.req, h.req)
			if len(d.Fields) == 0 {
				continue
			}
			d.Kind = Changed
			for i := range d.Fields {
				d.Fields[i].Pos = c.fieldPos(pb, d.Fields[i], h.req.Explain)
			}
		}
		addEvent(pd, k, d)
	}
	return nil
}

// postbackOf is the postback key of an outcome key.
func postbackOf(k string, b, h outcome) string {
	for _, o := range []outcome{h, b} {
		switch {
		case o.req != nil:
			return o.req.Postback
		case o.skip != nil:
			return o.skip.Postback
		}
	}
	return k
}

func addEvent(pd *PartnerDiff, key string, d EventDiff) {
	for i := range pd.Postbacks {
		if pd.Postbacks[i].Postback == key {
			pd.Postbacks[i].Events = append(pd.Postbacks[i].Events, d)
			return
		}
	}
	pd.Postbacks = append(pd.Postbacks, PostbackDiff{Postback: key, Events: []EventDiff{d}})
}

func stripExplain(r *render.Request) *render.Request {
	c := *r
	c.Explain = nil
	return &c
}

func (c *comparer) startReason(pb string, b, h outcome) (string, Pos) {
	switch {
	case c.base == nil:
		return "new partner", c.head.pos()
	case b.skip != nil:
		return "was skipped: " + b.skip.Reason, c.paramOrPostback(pb, h.req.Explain)
	case hasKey(c.base, pb):
		return "the event now selects it", c.head.eventPos(pb)
	case siblingIn(c.head, c.base, pb):
		return fmt.Sprintf("%s is added to the events of an existing postback", pb), c.head.eventPos(pb)
	}
	return "new postback", c.head.postbackPos(pb)
}

func (c *comparer) stopReason(pb string, h outcome) (string, Pos) {
	switch {
	case c.head == nil:
		return "partner removed", Pos{}
	case h.skip != nil:
		return "skipped: " + h.skip.Reason, c.paramOrPostback(pb, h.skip.Explain)
	case hasKey(c.head, pb):
		return "the event no longer selects it", c.head.eventPos(pb)
	case siblingIn(c.base, c.head, pb):
		return fmt.Sprintf("%s is removed from the events of its postback", pb), c.head.siblingPos(c.base, pb)
	}
	return "postback removed", c.head.pos("postbacks")
}

// postbackRef names a rendered postback the way Selection.Find reads it
// back: by its name when it has one (several postbacks may share an
// event), else by its event key.
func postbackRef(name, key string) string {
	if name != "" {
		return name
	}
	return key
}

// lookup finds the postback ref names (see postbackRef); an event key
// with several postbacks gives its first, the unnamed one if any.
func lookup(s *spec.Selection, ref string) (spec.Selected, bool) {
	var buf [4]spec.Selected
	found := s.Find(buf[:0], ref)
	if len(found) == 0 {
		return spec.Selected{}, false
	}
	return found[0], true
}

func hasKey(l *loaded, pb string) bool {
	_, ok := lookup(l.sel, pb)
	return ok
}

// siblingIn reports whether the postback of key pb in from lists another
// event that is a key of to: the postback is still there, pb joined or
// left its events.
func siblingIn(from, to *loaded, pb string) bool {
	ref, ok := lookup(from.sel, pb)
	if !ok {
		return false
	}
	for _, e := range from.partner.Postbacks[ref.Index].Events {
		if !strings.EqualFold(e, pb) && hasKey(to, e) {
			return true
		}
	}
	return false
}
