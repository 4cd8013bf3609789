package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
)

// statusPaused is the trace state of a postback held by a paused
// partner (markPaused); as a status filter of /v1/deliveries it matches
// nothing, since a paused pair makes no attempts.
const statusPaused = "paused"

// parseTimeRange reads a since/until pair of RFC 3339 times, the filter
// of every history and dead-letter query; an empty one is unset.
func parseTimeRange(since, until string) (s, u time.Time, err error) {
	for _, t := range []struct {
		name, in string
		out      *time.Time
	}{{"since", since, &s}, {"until", until, &u}} {
		if t.in == "" {
			continue
		}
		if *t.out, err = time.Parse(time.RFC3339, t.in); err != nil {
			return s, u, fmt.Errorf("%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", t.name, t.in)
		}
	}
	if !s.IsZero() && !u.IsZero() && u.Before(s) {
		return s, u, errors.New("until is before since")
	}
	return s, u, nil
}

// handleDeliveries is GET /v1/deliveries: the delivery history newest
// first, filtered by event_id, id (postback id), app, partner, status and
// time, a page of limit at a time continued with cursor.
func (s *Server) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := attemptFilter{App: q.Get("app"), Partner: q.Get("partner"), Status: q.Get("status"), PostbackID: q.Get("id"), EventID: q.Get("event_id")}
	var err error
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Status != "" && !validAttemptStatus(f.Status) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown status %q: want one of delivered, retry, dead, delayed, skipped, or a status class 1xx, 2xx, 3xx, 4xx, 5xx, error (no HTTP answer)", f.Status))
		return
	}
	if f.Since, f.Until, err = parseTimeRange(q.Get("since"), q.Get("until")); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if c := q.Get("cursor"); c != "" {
		seq, err := parseCursor(cursorHistory, c)
		if err != nil {
			writeError(w, http.StatusBadRequest, "cursor is not one this endpoint returned (next_cursor)")
			return
		}
		f.Before = seq
	}
	list, next, err := s.listAttempts(r.Context(), f)
	if err != nil {
		s.log.Warn("delivery history unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "delivery history unavailable: "+s.redactorNow().String(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, deliveriesPage{Deliveries: list, NextCursor: formatCursor(cursorHistory, next)})
}

type deliveriesPage struct {
	Deliveries []Attempt `json:"deliveries"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// traceMaxScan bounds the history records one trace reads: the records of
// the event's app in its bucket (1/256 of the app's events) since since.
const traceMaxScan = 200000

// Trace is an event's way through the gateway: every partner the event
// was planned for or skipped by at ingest, every postback rendered or
// skipped, each one's attempts.
type Trace struct {
	App           string         `json:"app"`
	EventID       string         `json:"event_id"`
	Event         string         `json:"event,omitempty"`
	Received      *time.Time     `json:"received,omitempty"`
	ConfigVersion string         `json:"config_version,omitempty"`
	Partners      []TracePartner `json:"partners"`
	// Truncated says the scan stopped at its bound: pass a later since.
	Truncated bool `json:"truncated,omitempty"`
}

// TracePartner is one partner of a trace; State is planned or skipped
// (at ingest, with the class and reason).
type TracePartner struct {
	Partner    string          `json:"partner"`
	State      string          `json:"state"`
	SkipClass  string          `json:"skip_class,omitempty"`
	SkipReason string          `json:"skip_reason,omitempty"`
	Postbacks  []TracePostback `json:"postbacks"`
}

// TracePostback is one postback of a trace; State is queued, delivered,
// retrying, dead, skipped or paused.
type TracePostback struct {
	Postback   string    `json:"postback"`
	Name       string    `json:"name,omitempty"`
	PostbackID string    `json:"postback_id"`
	State      string    `json:"state"`
	SkipClass  string    `json:"skip_class,omitempty"`
	SkipReason string    `json:"skip_reason,omitempty"`
	Attempts   []Attempt `json:"attempts"`
}

// handleTrace is GET /v1/apps/{app}/events/{event_id}/trace?since=.
func (s *Server) handleTrace(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, _, err := parseTimeRange(q.Get("since"), "")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	app, eventID := r.PathValue("app"), r.PathValue("event_id")
	tr, found, err := s.trace(r, app, eventID, since)
	if err != nil {
		s.log.Warn("delivery history unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "delivery history unavailable: "+s.redactorNow().String(err.Error()))
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no history for event %q of app %q (history is kept for retention.history_max_age)", eventID, app))
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

func (s *Server) trace(r *http.Request, app, eventID string, since time.Time) (Trace, bool, error) {
	var (
		plan     *planRecord
		attempts []Attempt
	)
	cut, err := s.q.HistoryScan(r.Context(), queue.HistoryFilter{App: app, EventID: eventID, Attempts: true, Plans: true}, since, traceMaxScan,
		func(rec queue.HistoryRecord) {
			if rec.Plan {
				var p planRecord
				// The first plan is the event's; the same event sent
				// again is planned again, identically unless the config
				// changed in between.
				if json.Unmarshal(rec.Data, &p) == nil && p.EventID == eventID && p.App == app && plan == nil {
					plan = &p
				}
				return
			}
			var a Attempt
			if json.Unmarshal(rec.Data, &a) == nil && a.EventID == eventID && a.App == app {
				attempts = append(attempts, a)
			}
		})
	if err != nil {
		return Trace{}, false, err
	}
	if plan == nil && len(attempts) == 0 {
		return Trace{}, false, nil
	}
	tr := buildTrace(app, eventID, plan, attempts, cut)
	markPaused(&tr, func(partner string) bool {
		_, paused := s.q.PausedAt(queue.Key{App: app, Partner: partner}, time.Now())
		return paused
	})
	return tr, true, nil
}

// markPaused gives the postbacks still waiting (queued, or retrying)
// of a partner paused now the state paused: history records attempts,
// and a paused pair makes none, so only the pause says why they wait.
func markPaused(tr *Trace, paused func(partner string) bool) {
	for i := range tr.Partners {
		p := &tr.Partners[i]
		if !paused(p.Partner) {
			continue
		}
		for j := range p.Postbacks {
			if st := p.Postbacks[j].State; st == "queued" || st == "retrying" {
				p.Postbacks[j].State = statusPaused
			}
		}
	}
}

// buildTrace joins an event's plan and its attempts. Without a plan (it
// expired, or was written by a gateway without history) the partners
// and postbacks come from the attempts alone.
func buildTrace(app, eventID string, plan *planRecord, attempts []Attempt, cut bool) Trace {
	tr := Trace{App: app, EventID: eventID, Partners: []TracePartner{}, Truncated: cut}
	partners := map[string]*TracePartner{}
	var order []string
	partner := func(id string) *TracePartner {
		if p := partners[id]; p != nil {
			return p
		}
		partners[id] = &TracePartner{Partner: id, State: "planned", Postbacks: []TracePostback{}}
		order = append(order, id)
		return partners[id]
	}
	postback := func(p *TracePartner, id, key, name string) *TracePostback {
		for i := range p.Postbacks {
			if p.Postbacks[i].PostbackID == id {
				return &p.Postbacks[i]
			}
		}
		p.Postbacks = append(p.Postbacks, TracePostback{Postback: key, Name: name, PostbackID: id, State: "queued", Attempts: []Attempt{}})
		return &p.Postbacks[len(p.Postbacks)-1]
	}
	if plan != nil {
		rcv := plan.Time
		tr.Received, tr.ConfigVersion, tr.Event = &rcv, plan.ConfigVersion, plan.Event
		for _, pb := range plan.Postbacks {
			postback(partner(pb.Partner), pb.ID, pb.Postback, pb.Name)
		}
		for _, sk := range plan.Skipped {
			p := partner(sk.Partner)
			if sk.Postback != "" {
				tp := postback(p, PostbackID(app, eventID, sk.Partner, sk.Postback, sk.Name), sk.Postback, sk.Name)
				tp.State, tp.SkipClass, tp.SkipReason = statusSkipped, sk.Class, sk.Reason
			}
			if p.SkipClass == "" {
				p.SkipClass, p.SkipReason = sk.Class, sk.Reason
			}
		}
	}
	sort.SliceStable(attempts, func(i, j int) bool { return attempts[i].Time.Before(attempts[j].Time) })
	for _, a := range attempts {
		p := partner(a.Partner)
		tp := postback(p, a.PostbackID, a.Postback, "")
		tp.Attempts = append(tp.Attempts, a)
		switch a.Status {
		case "delivered":
			tp.State = "delivered"
		case "retry":
			tp.State = "retrying"
		case "dead":
			tp.State = "dead"
		case statusSkipped:
			tp.State, tp.SkipClass, tp.SkipReason = statusSkipped, skipRender, a.Error
		case "delayed":
			// Nothing was sent: still waiting, as it was.
			if tp.State != "retrying" {
				tp.State = "queued"
			}
		}
		if tr.ConfigVersion == "" {
			tr.ConfigVersion = a.ConfigVersion
		}
	}
	for _, id := range order {
		p := partners[id]
		planned := false
		for _, pb := range p.Postbacks {
			if pb.State != statusSkipped || len(pb.Attempts) > 0 && pb.SkipClass == skipRender {
				planned = true
			}
		}
		if !planned {
			p.State = "skipped"
		} else {
			p.SkipClass, p.SkipReason = "", ""
		}
		tr.Partners = append(tr.Partners, *p)
	}
	return tr
}
