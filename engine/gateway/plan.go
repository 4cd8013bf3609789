package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/engine/template"
)

// Skip reason classes, used as the metric label of skipped postbacks.
const (
	skipNoPostback = "no_postback"
	skipDisabled   = "disabled"
	skipUnmapped   = "unmapped"
	skipScope      = "scope"
	skipWindow     = "window"
	skipCountry    = "country"
	skipFilter     = "filter"
	skipRender     = "render"
)

// PlannedPostback is one postback planned for an event.
type PlannedPostback struct {
	ID       string `json:"id"`
	Partner  string `json:"partner"`
	Postback string `json:"postback"`
	// Name is the postback's name when the event has several postbacks.
	Name   string `json:"name,omitempty"`
	Method string `json:"method"`
}

// SkippedPostback is a partner or postback not sent for an event, and why.
type SkippedPostback struct {
	Partner  string `json:"partner"`
	Postback string `json:"postback,omitempty"`
	// Name is the postback's name when the event has several postbacks.
	Name   string `json:"name,omitempty"`
	Class  string `json:"class"`
	Reason string `json:"reason"`
}

// Plan is what one event turns into: at ingest, the postbacks planned by
// selection; in a render worker, those of one partner that rendered (jobs).
type Plan struct {
	EventID   string            `json:"event_id"`
	Name      string            `json:"name"`
	Postbacks []PlannedPostback `json:"postbacks"`
	Skipped   []SkippedPostback `json:"skipped,omitempty"`
	jobs      []queue.Job
}

// partners lists the partners pl has postbacks of, once each: an instance
// sharing the queue whose config does not have one of them leaves it to
// those that do (see queue.Event.Partners).
func (pl *Plan) partners() []string {
	var out []string
	for _, pb := range pl.Postbacks {
		if !slices.Contains(out, pb.Partner) {
			out = append(out, pb.Partner)
		}
	}
	return out
}

// PostbackID is the stable id of the postback of partner with key postback
// (the event name as the spec declares it) and name (its postback name,
// "" when unnamed) for event eventID of app: retries, replays and a re-sent
// event all map to the same id, which partners see as the Idempotency-Key.
// An unnamed postback's id is the one it had before postbacks had names,
// so dedupe holds across an upgrade; a name adds a component.
func PostbackID(app, eventID, partner, postback, name string) string {
	h := sha256.New()
	for _, s := range []string{app, eventID, partner, strings.ToLower(postback)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if name != "" {
		h.Write([]byte(strings.ToLower(name)))
		h.Write([]byte{0})
	}
	return "pb_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// rendered is one request a partner's postback produced.
type rendered struct {
	Postback, Name, Method, URL, Body string
	Headers                           map[string]string
}

// postbackRenderer renders one selected postback of a partner for an
// event; the runtime implements it with engine/render. It returns either
// requests or a skip reason (a required value missing, a template error).
type postbackRenderer interface {
	render(ev *event.Event, app *config.App, p *config.Partner, s spec.Selected) ([]rendered, string)
}

// partnerRuntime is a loaded partner spec ready to render.
type partnerRuntime struct {
	spec *spec.Partner
	sel  *spec.Selection
	r    postbackRenderer
}

// planEvent decides, for every partner enabled for the app, which of its
// postbacks the event selects and admits (custom event mapping, enabled
// postbacks, scope, window, country, filters). It renders nothing: that
// is the render worker's job (renderPartner), so the answer to
// the sender costs the same whatever the partners' templates do, and a
// postback whose template then fails or finds a required value missing is
// not sent although planned. It never fails: anything that stops a
// postback is recorded as a skip with its reason.
func planEvent(ev *event.Event, eventID string, app *config.App, partners map[string]*partnerRuntime, now time.Time) Plan {
	pl := Plan{EventID: eventID, Name: ev.Name(), Postbacks: []PlannedPostback{}}
	for i := range app.Partners {
		pc := &app.Partners[i]
		planPartner(&pl, ev, eventID, app, pc, partners[pc.ID], nil, now)
	}
	return pl
}

// renderPartner plans and renders the postbacks of one partner for an
// event, as the render worker does for each partner. Postbacks that rendered are
// in pl.jobs (and pl.Postbacks); render failures and missing required
// values are skips of class render, their reason naming the template
// position. now is when the event was accepted, so the window decision is
// the one ingest made.
func renderPartner(ev *event.Event, eventID string, app *config.App, pc *config.Partner, pr *partnerRuntime, version string, now time.Time) Plan {
	pl := Plan{EventID: eventID, Name: ev.Name(), Postbacks: []PlannedPostback{}}
	planPartner(&pl, ev, eventID, app, pc, pr, &version, now)
	return pl
}

// planPartner is the one planning rule of planEvent and renderPartner:
// with version nil it only plans, otherwise it renders too and stamps the
// jobs with the config version.
func planPartner(pl *Plan, ev *event.Event, eventID string, app *config.App, pc *config.Partner, pr *partnerRuntime, version *string, now time.Time) {
	if pr == nil {
		// Config validation against the loaded specs prevents this;
		// a skip keeps a spec removed behind our back visible.
		pl.Skipped = append(pl.Skipped, SkippedPostback{Partner: pc.ID, Class: skipNoPostback, Reason: "partner spec not loaded"})
		return
	}
	var buf [4]spec.Selected
	sel := pr.sel.Select(buf[:0], ev.Name(), pc.CustomEvents)
	if len(sel) == 0 {
		pl.Skipped = append(pl.Skipped, SkippedPostback{Partner: pc.ID, Class: skipNoPostback, Reason: fmt.Sprintf("partner has no postback for %q", ev.Name())})
		return
	}
	admitted := false
	for _, s := range sel {
		key := s.Key
		if class, why := enabled(ev, pc, s); class != "" {
			pl.Skipped = append(pl.Skipped, SkippedPostback{Partner: pc.ID, Postback: key, Name: s.Name, Class: class, Reason: why})
			continue
		}
		if !admitted {
			// scope, window, country and filters are the partner's,
			// whichever postback the event selects
			if class, why := admit(ev, pr.spec, pc); class != "" {
				pl.Skipped = append(pl.Skipped, SkippedPostback{Partner: pc.ID, Postback: key, Name: s.Name, Class: class, Reason: why})
				break
			}
			admitted = true
		}
		// The id is the selected postback's (key, name) in both modes, so
		// the postbacks a render worker enqueues carry the ids ingest
		// answered.
		id := PostbackID(app.ID, eventID, pc.ID, key, s.Name)
		if version == nil {
			pl.Postbacks = append(pl.Postbacks, PlannedPostback{
				ID: id, Partner: pc.ID, Postback: key, Name: s.Name,
				Method: pr.spec.Postbacks[s.Index].MethodOrDefault(),
			})
			continue
		}
		send := ev
		if s.Rename != "" || !pc.SendRevenue {
			send = rewriteEvent(ev, s.Rename, !pc.SendRevenue)
		}
		reqs, why := pr.r.render(send, app, pc, s)
		if why != "" {
			pl.Skipped = append(pl.Skipped, SkippedPostback{Partner: pc.ID, Postback: key, Name: s.Name, Class: skipRender, Reason: why})
			continue
		}
		windowEnd := windowEnd(ev, pc, now)
		// a job names a named postback by its name, which is unique
		// within the partner, as --postback and the test endpoint do
		jobPB := key
		if s.Name != "" {
			jobPB = s.Name
		}
		for _, rq := range reqs {
			pl.Postbacks = append(pl.Postbacks, PlannedPostback{ID: id, Partner: pc.ID, Postback: key, Name: s.Name, Method: rq.Method})
			pl.jobs = append(pl.jobs, queue.Job{
				ID: id, App: app.ID, Partner: pc.ID, Postback: jobPB, EventID: eventID,
				Method: rq.Method, URL: rq.URL, Headers: rq.Headers, Body: rq.Body,
				ConfigVersion: *version, EnqueuedAt: now, WindowEnd: windowEnd,
			})
		}
	}
}

// enabled applies the app's choices to a selected postback: its custom
// event mapping and the postbacks it enables.
func enabled(ev *event.Event, pc *config.Partner, s spec.Selected) (class, why string) {
	if s.Unmapped {
		return skipUnmapped, fmt.Sprintf("custom event %q is not in custom_events", ev.Name())
	}
	if !pc.PostbackOn(s.Ref()) {
		return skipDisabled, fmt.Sprintf("postback %s is not enabled in postbacks", s.Ref())
	}
	return "", ""
}

// admit applies scope, window, country lists and filters.
func admit(ev *event.Event, sp *spec.Partner, pc *config.Partner) (class, why string) {
	if pc.Scope == config.ScopeAttributed {
		got := text(ev.Lookup("last_attributed_touch_data.$3p"))
		if want := sp.MachineNameOrDefault(); !strings.EqualFold(got, want) {
			if got == "" {
				return skipScope, "event is not attributed (no last_attributed_touch_data.$3p)"
			}
			return skipScope, fmt.Sprintf("event is attributed to %s, not %s", got, want)
		}
	}
	if pc.WindowDays > 0 {
		if days, ok := daysSinceTouch(ev); ok && days > float64(pc.WindowDays) {
			return skipWindow, fmt.Sprintf("event is %g days after the attributed touch, past the %d-day window", days, pc.WindowDays)
		}
	}
	if country := text(ev.Lookup("user_data.country")); !pc.CountryAllowed(country) {
		if country == "" {
			country = "(none)"
		}
		return skipCountry, fmt.Sprintf("country %s is not allowed", country)
	}
	for _, f := range pc.Filters {
		if !filterMatch(ev, f) {
			return skipFilter, "filter not met: " + f.String()
		}
	}
	return "", ""
}

// windowEnd is when the partner's postback window closes for ev, so the
// sender can check the window again at send time: the day count
// (days_from_last_attributed_touch_to_event, in whole days as Branch counts
// them) grows while the postback waits, and passes window_days one day
// past the window's last day. It is anchored at ingest (the event is
// planned as it arrives), so it does not depend on the clock of the event's
// sender. Zero when the partner has no window or the event gives no days.
func windowEnd(ev *event.Event, pc *config.Partner, now time.Time) time.Time {
	if pc.WindowDays <= 0 {
		return time.Time{}
	}
	days, ok := daysSinceTouch(ev)
	if !ok || days < 0 {
		return time.Time{}
	}
	left := float64(pc.WindowDays) + 1 - days
	return now.Add(time.Duration(left * float64(24*time.Hour)))
}

// daysSinceTouch reads days_from_last_attributed_touch_to_event, or derives
// it from the event and touch timestamps (milliseconds) when absent.
func daysSinceTouch(ev *event.Event) (float64, bool) {
	if v := ev.Lookup("days_from_last_attributed_touch_to_event"); !v.IsMissing() {
		if f, ok := parseFloat(text(v)); ok {
			return f, true
		}
	}
	ts, ok1 := parseFloat(text(ev.Lookup("timestamp")))
	touch, ok2 := parseFloat(text(ev.Lookup("last_attributed_touch_timestamp")))
	if !ok1 || !ok2 || touch <= 0 || ts < touch {
		return 0, false
	}
	return float64(int64(ts-touch) / (24 * 3600 * 1000)), true
}

func parseFloat(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	f, ok := new(big.Float).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, false
	}
	v, _ := f.Float64()
	return v, true
}

// text renders a scalar value as templates print it; hashes and sequences
// have no text and compare as empty.
func text(v template.Value) string {
	s, _ := v.AsString()
	return s
}

func filterMatch(ev *event.Event, f config.Filter) bool {
	v := event.Path(f.Path).Lookup(ev.Value())
	var ok bool
	switch f.Op {
	case config.OpExists:
		present := !v.IsMissing()
		if present {
			switch v.Kind() {
			case template.KindString:
				present = text(v) != ""
			case template.KindHash, template.KindSeq:
				present = v.Len() > 0
			}
		}
		ok = present == f.Exists
	default:
		got := text(v)
		for _, want := range f.Values {
			if valueEqual(got, want) {
				ok = true
				break
			}
		}
	}
	return ok != f.Negate
}

// valueEqual compares case-insensitively, and numerically when both sides
// are numbers (so 2.50 equals 2.5).
func valueEqual(got, want string) bool {
	if strings.EqualFold(got, want) {
		return true
	}
	a, ok1 := new(big.Float).SetString(got)
	b, ok2 := new(big.Float).SetString(want)
	return ok1 && ok2 && a.Cmp(b) == 0
}

// revenueKeys are the event_data fields send_revenue: false withholds.
var revenueKeys = map[string]bool{"revenue": true, "revenue_in_usd": true}

// rewriteEvent returns a copy of ev with its name replaced (custom event
// mapping) and/or its revenue removed. The copy shares unchanged subtrees.
func rewriteEvent(ev *event.Event, name string, dropRevenue bool) *event.Event {
	root := ev.Value()
	keys := root.Keys()
	vals := make([]template.Value, 0, len(keys))
	outKeys := make([]string, 0, len(keys))
	for _, k := range keys {
		v := root.Get(k)
		switch {
		case k == "name" && name != "":
			v = template.String(name)
		case k == "event_data" && dropRevenue && v.Kind() == template.KindHash:
			var ek []string
			var evs []template.Value
			for _, k2 := range v.Keys() {
				if !revenueKeys[k2] {
					ek = append(ek, k2)
					evs = append(evs, v.Get(k2))
				}
			}
			v = template.NewHash(ek, evs)
		}
		outKeys = append(outKeys, k)
		vals = append(vals, v)
	}
	out, err := event.FromValue(template.NewHash(outKeys, vals))
	if err != nil {
		// Only a name change can make FromValue fail, and config
		// validation requires a non-empty mapped name.
		return ev
	}
	return out
}
