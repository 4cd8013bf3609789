package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/adgate/adgate/engine/internal/console"
	"github.com/adgate/adgate/engine/internal/queue"
)

// bearerRefused checks r's bearer token against tokens and, when it is
// missing (401, with a challenge for realm) or wrong (403), answers and
// reports true.
func bearerRefused(w http.ResponseWriter, r *http.Request, tokens []string, realm, missing, wrong string) bool {
	err := checkBearer(r, tokens)
	switch {
	case err == nil:
		return false
	case errors.Is(err, errNoCredentials):
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
		writeError(w, http.StatusUnauthorized, missing)
	default:
		writeError(w, http.StatusForbidden, wrong)
	}
	return true
}

// admin wraps an admin endpoint: it requires the config's admin token as a
// bearer token, the read-only token on safe methods, or a console session
// (see adminIdentity); without an admin token configured the endpoints
// are off. The handler finds the identity in the request's context, and
// every change is logged with it.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc { return s.adminFor(false, h) }

// adminRead wraps an admin endpoint that changes nothing whatever its
// method (the playground): the read-only token and sessions may use it.
func (s *Server) adminRead(h http.HandlerFunc) http.HandlerFunc { return s.adminFor(true, h) }

func (s *Server) adminFor(readOK bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cfg := s.rt.Load().cfg
		if cfg.AdminToken == "" {
			writeError(w, http.StatusForbidden, "admin endpoints are disabled: set admin_token in the config")
			return
		}
		id, ok := s.adminIdentity(w, r, cfg, readOK)
		if !ok {
			return
		}
		if !safeMethod(r.Method) && !readOK {
			s.log.Info("admin change", "by", id.String(), "method", r.Method, "path", r.URL.Path)
		}
		ctx := console.WithIdentity(r.Context(), id)
		// The pause record and its logs name which console session asked
		// (see actor; the admin token stays "admin").
		if id.Via == "session" {
			ctx = context.WithValue(ctx, actorKey{}, id.String())
		}
		h(w, r.WithContext(ctx))
	}
}

// metricsAuth guards /metrics: it requires metrics.token or admin_token as
// a bearer token; with neither configured, metrics are not served.
func (s *Server) metricsAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := s.rt.Load().cfg
		var tokens []string
		for _, t := range []string{cfg.MetricsToken, cfg.AdminToken} {
			if t != "" {
				tokens = append(tokens, t)
			}
		}
		if len(tokens) == 0 {
			writeError(w, http.StatusForbidden, "metrics are disabled: set metrics.token (or admin_token) in the config")
			return
		}
		if bearerRefused(w, r, tokens, "adgate-metrics", "metrics: send Authorization: Bearer <metrics.token>", "metrics token not accepted") {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// validAttemptStatus reports whether status can match an attempt: an
// outcome, or a class that statusClass returns.
func validAttemptStatus(status string) bool {
	switch status {
	case "delivered", "retry", "dead", "delayed", statusSkipped, "1xx", "2xx", "3xx", "4xx", "5xx", "error":
		return true
	}
	return false
}

// deadFilter is the part of a dead-letter filter both the list and the
// replay take: app, partner, since, until, error_class.
type deadFilter struct {
	App        string `json:"app"`
	Partner    string `json:"partner"`
	Since      string `json:"since"`
	Until      string `json:"until"`
	ErrorClass string `json:"error_class"`
}

func (d deadFilter) empty() bool { return d == deadFilter{} }

// filter checks d and makes it a queue filter.
func (d deadFilter) filter() (queue.ReplayFilter, error) {
	f := queue.ReplayFilter{App: d.App, Partner: d.Partner, ErrorClass: d.ErrorClass}
	if d.ErrorClass != "" && !queue.ValidErrorClass(d.ErrorClass) {
		return f, fmt.Errorf("unknown error_class %q: want one of %s", d.ErrorClass, strings.Join(queue.ErrorClasses(), ", "))
	}
	var err error
	f.Since, f.Until, err = parseTimeRange(d.Since, d.Until)
	return f, err
}

// replayRequest is the body of POST /v1/deadletters/replay. It must say
// what to replay: ids, a filter, or all: an empty body replays nothing.
type replayRequest struct {
	IDs []string `json:"ids"`
	deadFilter
	Limit    int  `json:"limit"`
	All      bool `json:"all"`
	DryRun   bool `json:"dry_run"`
	Rerender bool `json:"rerender"`
}

// Bounds of a replay request.
const (
	maxReplayBody = 1 << 20
	maxReplayIDs  = 10000
	// replaySample is how many matches a dry run shows.
	replaySample = 10
)

// parseReplay reads and checks a replay request; when it is refused the
// answer is written and ok is false.
func parseReplay(w http.ResponseWriter, r *http.Request) (req replayRequest, f queue.ReplayFilter, ok bool) {
	const shape = `a JSON object {"ids":[...], "app", "partner", "since", "until", "error_class", "limit", "all", "dry_run", "rerender"}`
	if !readJSON(w, r, maxReplayBody, &req, shape) {
		return req, f, false
	}
	f, err := req.check()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return req, f, false
	}
	return req, f, true
}

// check validates req and makes it a queue filter.
func (req replayRequest) check() (queue.ReplayFilter, error) {
	f, err := req.filter()
	if err != nil {
		return f, err
	}
	switch {
	case len(req.IDs) > maxReplayIDs:
		return f, fmt.Errorf("at most %d ids per request", maxReplayIDs)
	case req.Limit < 0:
		return f, errors.New("limit must not be negative (0: no limit)")
	case req.All && (len(req.IDs) > 0 || !req.empty()):
		return f, errors.New(`"all": true replays every dead letter: leave out ids and filters, or "all"`)
	case !req.All && len(req.IDs) == 0 && req.empty():
		return f, errors.New(`say what to replay: "ids", a filter ("app", "partner", "since", "until", "error_class") or "all": true`)
	}
	for _, id := range req.IDs {
		if id == "" {
			return f, errors.New("ids must not be empty strings")
		}
	}
	f.IDs, f.Limit = req.IDs, req.Limit
	return f, nil
}

// replayFailure is a dead letter a replay left in place, and why.
type replayFailure struct {
	PostbackID string `json:"postback_id"`
	Error      string `json:"error"`
}

// handleReplay is POST /v1/deadletters/replay.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	req, f, ok := parseReplay(w, r)
	if !ok {
		return
	}
	red := s.redactorNow()
	out := map[string]any{}
	var seen []string
	if req.DryRun {
		matched := 0
		sample := []deadLetterView{}
		err := s.q.ScanDead(r.Context(), f, func(d queue.DeadLetter) error {
			matched++
			if len(sample) < replaySample {
				sample = append(sample, viewDead(d, red))
			}
			if len(f.IDs) > 0 {
				seen = append(seen, d.Job.ID)
			}
			return nil
		})
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, red.String(err.Error()))
			return
		}
		out["dry_run"], out["matched"], out["sample"] = true, matched, sample
	} else {
		var rework queue.Rework
		if req.Rerender {
			rework = s.dlv.rerender
		}
		res, err := s.q.Replay(r.Context(), f, rework)
		if err != nil {
			s.log.Error("replay failed", "err", err, "replayed", res.Replayed)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": red.String(err.Error()), "replayed": res.Replayed})
			return
		}
		failed := make([]replayFailure, 0, len(res.Failed))
		for _, fl := range res.Failed {
			failed = append(failed, replayFailure{PostbackID: fl.ID, Error: red.String(fl.Error)})
			seen = append(seen, fl.ID)
		}
		seen = append(seen, res.ReplayedIDs...)
		out["replayed"] = res.Replayed
		if len(failed) > 0 {
			out["failed"] = failed
		}
		s.log.Info("dead letters replayed", "count", res.Replayed, "failed", len(failed), "app", f.App, "partner", f.Partner,
			"error_class", f.ErrorClass, "ids", len(f.IDs), "all", req.All, "rerender", req.Rerender)
	}
	if len(f.IDs) > 0 {
		missing := []string{}
		for _, id := range f.IDs {
			if !slices.Contains(seen, id) && !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			out["not_found"] = missing
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// deadLetterView is a dead letter with its request redacted.
type deadLetterView struct {
	PostbackID    string    `json:"postback_id"`
	App           string    `json:"app"`
	Partner       string    `json:"partner"`
	Postback      string    `json:"postback"`
	EventID       string    `json:"event_id"`
	Reason        string    `json:"reason"`
	ErrorClass    string    `json:"error_class"`
	StatusCode    int       `json:"status_code,omitempty"`
	DecidedBy     string    `json:"decided_by,omitempty"`
	ConfigVersion string    `json:"config_version,omitempty"`
	Attempts      int       `json:"attempts"`
	Replays       int       `json:"replays,omitempty"`
	DeadAt        time.Time `json:"dead_at"`
	URL           string    `json:"url"`
}

func viewDead(d queue.DeadLetter, red *redactor) deadLetterView {
	return deadLetterView{PostbackID: d.Job.ID, App: d.Job.App, Partner: d.Job.Partner, Postback: d.Job.Postback,
		EventID: d.Job.EventID, Reason: red.String(d.Reason), ErrorClass: d.Class, StatusCode: d.StatusCode,
		DecidedBy: d.DecidedBy, ConfigVersion: d.Job.ConfigVersion, Attempts: d.Attempts, Replays: d.Job.Replays,
		DeadAt: d.DeadAt.UTC(), URL: red.String(d.Job.URL)}
}

// A list cursor is the stream sequence the next page starts at, tagged
// with its list (cursorDead, cursorHistory) so that one list refuses
// another's; clients treat it as opaque.
const (
	cursorDead    byte = 'd'
	cursorHistory byte = 'h'
)

func formatCursor(list byte, seq uint64) string {
	if seq == 0 {
		return ""
	}
	return string(list) + strconv.FormatUint(seq, 36)
}

func parseCursor(list byte, c string) (uint64, error) {
	if len(c) >= 2 && c[0] == list {
		if seq, err := strconv.ParseUint(c[1:], 36, 64); err == nil && seq > 0 {
			return seq, nil
		}
	}
	return 0, errors.New("cursor is not one this endpoint returned")
}

// parseLimit reads a list's limit: default 100, 1 to 1000.
func parseLimit(v string) (int, error) {
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, fmt.Errorf("limit must be an integer from 1 to 1000, got %q", v)
	}
	return n, nil
}

// handleDeadLetters is GET /v1/deadletters?app=&partner=&since=&until=&error_class=&cursor=&limit=,
// oldest first.
func (s *Server) handleDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := deadFilter{App: q.Get("app"), Partner: q.Get("partner"), Since: q.Get("since"), Until: q.Get("until"), ErrorClass: q.Get("error_class")}.filter()
	if err == nil {
		f.Limit, err = parseLimit(q.Get("limit"))
	}
	if err == nil && q.Has("cursor") {
		f.From, err = parseCursor(cursorDead, q.Get("cursor"))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, next, err := s.q.DeadLetterPage(r.Context(), f)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, s.redactorNow().String(err.Error()))
		return
	}
	red := s.redactorNow()
	out := make([]deadLetterView, 0, len(list))
	for _, d := range list {
		out = append(out, viewDead(d, red))
	}
	resp := map[string]any{"dead_letters": out}
	if next != 0 {
		resp["next_cursor"] = formatCursor(cursorDead, next)
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleReload is POST /v1/reload, the HTTP twin of SIGHUP.
func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.Reload(r.Context()); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": s.redactorNow().String(err.Error()), "version": s.rt.Load().version})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"version": s.rt.Load().version})
}
