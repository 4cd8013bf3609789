package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/adgate/adgate/engine/internal/deliver"
	"github.com/adgate/adgate/engine/internal/queue"
)

// PartnerStatus is one enabled (app, partner) pair as GET /v1/partners
// shows it: whether it is paused, the delivery policy in effect (defaults
// filled in), its breakers, its backlog and its last outcomes.
type PartnerStatus struct {
	App          string    `json:"app"`
	Partner      string    `json:"partner"`
	Paused       bool      `json:"paused"`
	PausedAt     time.Time `json:"paused_at,omitzero"`
	PausedReason string    `json:"paused_reason,omitempty"`
	PausedBy     string    `json:"paused_by,omitempty"`
	// ResumedAt is when the last pause ended (absent while paused).
	ResumedAt     time.Time   `json:"resumed_at,omitzero"`
	Policy        policyView  `json:"policy"`
	Breaker       breakerView `json:"breaker"`
	Backlog       backlogView `json:"backlog"`
	LastError     *lastError  `json:"last_error,omitempty"`
	LastDelivered time.Time   `json:"last_delivered,omitzero"`
}

type policyView struct {
	Timeout     string `json:"timeout"`
	MaxAttempts int    `json:"max_attempts"`
	MaxAge      string `json:"max_age"`
	Concurrency int    `json:"concurrency"`
	// RatePerSecond 0 is no limit.
	RatePerSecond float64 `json:"rate_per_second"`
	Burst         int     `json:"burst"`
	// SuccessCodes empty is any 2xx.
	SuccessCodes []int             `json:"success_codes"`
	Breaker      breakerPolicyView `json:"breaker"`
}

type breakerPolicyView struct {
	FailureRatio   float64 `json:"failure_ratio"`
	MinRequests    int     `json:"min_requests"`
	Window         string  `json:"window"`
	OpenFor        string  `json:"open_for"`
	HalfOpenProbes int     `json:"half_open_probes"`
}

type breakerView struct {
	// State is the worst of the hosts' states.
	State string            `json:"state"`
	Hosts []breakerHostView `json:"hosts"`
}

type breakerHostView struct {
	Host     string    `json:"host"`
	State    string    `json:"state"`
	Requests int       `json:"requests"`
	Failures int       `json:"failures"`
	OpenedAt time.Time `json:"opened_at,omitzero"`
}

type backlogView struct {
	Queued   uint64 `json:"queued"`
	ToRender uint64 `json:"to_render"`
}

type lastError struct {
	Time       time.Time `json:"time"`
	Error      string    `json:"error"`
	StatusCode int       `json:"status_code,omitempty"`
}

// pairActivity is the last outcomes of one pair seen by this instance
// (the durable record is the delivery history).
type pairActivity struct {
	lastError     *lastError
	lastDelivered time.Time
}

// activity tracks pairActivity per pair, fed by delivery.observe.
type activity struct {
	mu    sync.Mutex
	pairs map[queue.Key]pairActivity
}

func (a *activity) record(k queue.Key, at time.Time, outcome, errText string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pairs == nil {
		a.pairs = map[queue.Key]pairActivity{}
	}
	p := a.pairs[k]
	switch outcome {
	case queue.OutcomeDelivered.String():
		p.lastDelivered = at
	case queue.OutcomeRetry.String(), queue.OutcomeDead.String():
		p.lastError = &lastError{Time: at, Error: errText, StatusCode: status}
	default:
		return
	}
	a.pairs[k] = p
}

func (a *activity) get(k queue.Key) pairActivity {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pairs[k]
}

// actorKey carries who makes an admin request (see actor).
type actorKey struct{}

// actor names who made r, for the pause record and the logs: the admin
// token unless an authentication layer put a name in the context.
func actor(ctx context.Context) string {
	if who, ok := ctx.Value(actorKey{}).(string); ok && who != "" {
		return who
	}
	return "admin"
}

// maxControlBody bounds a pause or resume body; maxPauseReason bounds the
// reason stored with a pause.
const (
	maxControlBody = 8 << 10
	maxPauseReason = 1024
)

// enabledPair checks that partner is enabled for app in the live config,
// answering 404 otherwise.
func (s *Server) enabledPair(w http.ResponseWriter, app, partner string) (queue.Key, bool) {
	rt := s.rt.Load()
	a := rt.cfg.App(app)
	if a == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown app %q", app))
		return queue.Key{}, false
	}
	// A partner whose spec did not load has no policy and is not
	// enabled.
	k := queue.Key{App: app, Partner: partner}
	if _, ok := rt.policies[k]; !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("partner %q is not enabled for app %q", partner, app))
		return queue.Key{}, false
	}
	return k, true
}

// handlePause is POST /v1/apps/{app}/partners/{partner}/pause with an
// optional {"reason": "..."}.
func (s *Server) handlePause(w http.ResponseWriter, r *http.Request) {
	k, ok := s.enabledPair(w, r.PathValue("app"), r.PathValue("partner"))
	if !ok {
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if !readJSON(w, r, maxControlBody, &req, `{"reason": "..."} (or empty)`) {
		return
	}
	if len(req.Reason) > maxPauseReason {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("reason is longer than %d bytes", maxPauseReason))
		return
	}
	who := actor(r.Context())
	// The wall clock, not s.now(): the sender judges windows and ages
	// by it, and says whether they ran out during a pause.
	p, err := s.q.Pause(r.Context(), k, req.Reason, who, time.Now())
	if err != nil {
		s.log.Error("pause failed", "app", k.App, "partner", k.Partner, "err", err)
		writeError(w, http.StatusServiceUnavailable, s.redactorNow().String(err.Error()))
		return
	}
	s.log.Info("partner paused", "app", k.App, "partner", k.Partner, "by", who, "reason", req.Reason, "paused_at", p.PausedAt)
	s.writeStatus(w, r, k)
}

// handleResume is POST /v1/apps/{app}/partners/{partner}/resume.
func (s *Server) handleResume(w http.ResponseWriter, r *http.Request) {
	k, ok := s.enabledPair(w, r.PathValue("app"), r.PathValue("partner"))
	if !ok {
		return
	}
	var req struct{}
	if !readJSON(w, r, maxControlBody, &req, "{} (or empty)") {
		return
	}
	who := actor(r.Context())
	p, err := s.q.Resume(r.Context(), k, who, time.Now())
	if err != nil {
		s.log.Error("resume failed", "app", k.App, "partner", k.Partner, "err", err)
		writeError(w, http.StatusServiceUnavailable, s.redactorNow().String(err.Error()))
		return
	}
	if !p.ResumedAt.IsZero() {
		s.log.Info("partner resumed", "app", k.App, "partner", k.Partner, "by", who, "paused_at", p.PausedAt, "resumed_at", p.ResumedAt)
	}
	s.writeStatus(w, r, k)
}

func (s *Server) writeStatus(w http.ResponseWriter, r *http.Request, k queue.Key) {
	list, err := s.partnerStatuses(r.Context(), []queue.Key{k})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, s.redactorNow().String(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, list[0])
}

// handlePartners is GET /v1/partners?app=.
func (s *Server) handlePartners(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	app := r.URL.Query().Get("app")
	if app != "" && rt.cfg.App(app) == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown app %q", app))
		return
	}
	var keys []queue.Key
	for _, a := range rt.cfg.Apps {
		if app != "" && a.ID != app {
			continue
		}
		for _, pc := range a.Partners {
			k := queue.Key{App: a.ID, Partner: pc.ID}
			if _, ok := rt.policies[k]; ok {
				keys = append(keys, k)
			}
		}
	}
	list, err := s.partnerStatuses(r.Context(), keys)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, s.redactorNow().String(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"partners": list})
}

// partnerStatuses builds the status of each of keys, all enabled in the
// live config.
func (s *Server) partnerStatuses(ctx context.Context, keys []queue.Key) ([]PartnerStatus, error) {
	rt := s.rt.Load()
	backlogs, err := s.q.Backlogs(ctx, keys)
	if err != nil {
		return nil, err
	}
	breakers := s.dlv.snd.Breakers()
	now := time.Now()
	out := make([]PartnerStatus, 0, len(keys))
	for _, k := range keys {
		pol := rt.policies[k].Effective()
		st := PartnerStatus{App: k.App, Partner: k.Partner, Policy: viewPolicy(pol)}
		if p, ok := s.q.Control(k); ok {
			st.Paused, st.PausedAt, st.PausedReason, st.PausedBy = p.Paused, p.PausedAt, p.Reason, p.By
			if !p.Paused {
				st.ResumedAt = p.ResumedAt
			}
		}
		st.Breaker = viewBreakers(k.Partner, breakers, pol.Breaker, now)
		b := backlogs[k]
		st.Backlog = backlogView{Queued: b.Queued, ToRender: b.ToRender}
		act := s.dlv.activity.get(k)
		st.LastError, st.LastDelivered = act.lastError, act.lastDelivered
		out = append(out, st)
	}
	return out, nil
}

func viewPolicy(p deliver.Policy) policyView {
	codes := p.SuccessStatus
	if codes == nil {
		codes = []int{}
	}
	return policyView{
		Timeout: p.Timeout.String(), MaxAttempts: p.MaxAttempts, MaxAge: p.MaxAge.String(),
		Concurrency: p.Concurrency, RatePerSecond: p.RatePerSecond, Burst: p.Burst, SuccessCodes: codes,
		Breaker: breakerPolicyView{
			FailureRatio: p.Breaker.FailureRatio, MinRequests: p.Breaker.MinRequests, Window: p.Breaker.Window.String(),
			OpenFor: p.Breaker.OpenFor.String(), HalfOpenProbes: p.Breaker.HalfOpenProbes,
		},
	}
}

// viewBreakers lists partner's breakers (one per host it was sent to;
// they are shared by the apps that send to the partner). Counts of a
// window that is over show as zero.
func viewBreakers(partner string, all []deliver.BreakerStatus, pol deliver.BreakerPolicy, now time.Time) breakerView {
	v := breakerView{State: deliver.BreakerClosed.String(), Hosts: []breakerHostView{}}
	worst := deliver.BreakerClosed
	for _, b := range all {
		if b.Partner != partner {
			continue
		}
		h := breakerHostView{Host: b.Host, State: b.State.String(), Requests: b.Requests, Failures: b.Failures, OpenedAt: b.OpenedAt}
		if b.State == deliver.BreakerClosed && now.Sub(b.WindowStart) >= pol.Window {
			h.Requests, h.Failures = 0, 0
		}
		v.Hosts = append(v.Hosts, h)
		if rank(b.State) > rank(worst) {
			worst = b.State
		}
	}
	slices.SortFunc(v.Hosts, func(a, b breakerHostView) int { return strings.Compare(a.Host, b.Host) })
	v.State = worst.String()
	return v
}

// rank orders breaker states from healthy to refusing.
func rank(s deliver.BreakerState) int {
	switch s {
	case deliver.BreakerOpen:
		return 2
	case deliver.BreakerHalfOpen:
		return 1
	}
	return 0
}
