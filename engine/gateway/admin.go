package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

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
// bearer token; without one configured the endpoints are off.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := s.rt.Load().cfg.AdminToken
		if tok == "" {
			writeError(w, http.StatusForbidden, "admin endpoints are disabled: set admin_token in the config")
			return
		}
		if bearerRefused(w, r, []string{tok}, "adgate-admin", "admin endpoint: send Authorization: Bearer <admin_token>", "admin token not accepted") {
			return
		}
		h(w, r)
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
	case "delivered", "retry", "dead", "delayed", statusSkipped, statusPaused, "1xx", "2xx", "3xx", "4xx", "5xx", "error":
		return true
	}
	return false
}

// replayRequest is the body of POST /v1/deadletters/replay. Times are
// RFC 3339; every field is optional, and an empty body replays everything.
type replayRequest struct {
	IDs     []string `json:"ids"`
	App     string   `json:"app"`
	Partner string   `json:"partner"`
	Since   string   `json:"since"`
	Until   string   `json:"until"`
	Limit   int      `json:"limit"`
}

func (s *Server) parseReplayFilter(w http.ResponseWriter, r *http.Request) (queue.ReplayFilter, bool) {
	var req replayRequest
	if !readJSON(w, r, 1<<20, &req, `{"ids":[...], "app", "partner", "since", "until", "limit"}`) {
		return queue.ReplayFilter{}, false
	}
	q := r.URL.Query()
	if v := q.Get("partner"); v != "" {
		req.Partner = v
	}
	if v := q.Get("app"); v != "" {
		req.App = v
	}
	if v := q.Get("id"); v != "" {
		req.IDs = append(req.IDs, v)
	}
	f := queue.ReplayFilter{IDs: req.IDs, App: req.App, Partner: req.Partner, Limit: req.Limit}
	for _, t := range []struct {
		in  string
		out *time.Time
	}{{req.Since, &f.Since}, {req.Until, &f.Until}} {
		if t.in == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.in)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since/until must be RFC 3339 times: %v", err))
			return f, false
		}
		*t.out = v
	}
	return f, true
}

// handleReplay is POST /v1/deadletters/replay.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	f, ok := s.parseReplayFilter(w, r)
	if !ok {
		return
	}
	n, err := s.q.Replay(r.Context(), f)
	if err != nil {
		s.log.Error("replay failed", "err", err, "replayed", n)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": s.redactorNow().String(err.Error()), "replayed": n})
		return
	}
	s.log.Info("dead letters replayed", "count", n, "app", f.App, "partner", f.Partner, "ids", len(f.IDs))
	writeJSON(w, http.StatusOK, map[string]int{"replayed": n})
}

// deadLetterView is a dead letter with its request redacted.
type deadLetterView struct {
	PostbackID string    `json:"postback_id"`
	App        string    `json:"app"`
	Partner    string    `json:"partner"`
	Postback   string    `json:"postback"`
	EventID    string    `json:"event_id"`
	Reason     string    `json:"reason"`
	Attempts   int       `json:"attempts"`
	DeadAt     time.Time `json:"dead_at"`
	URL        string    `json:"url"`
}

// handleDeadLetters is GET /v1/deadletters?app=&partner=&limit=.
func (s *Server) handleDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	list, err := s.q.DeadLetters(r.Context(), queue.ReplayFilter{App: q.Get("app"), Partner: q.Get("partner"), Limit: limit})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, s.redactorNow().String(err.Error()))
		return
	}
	red := s.redactorNow()
	out := make([]deadLetterView, 0, len(list))
	for _, d := range list {
		out = append(out, deadLetterView{PostbackID: d.Job.ID, App: d.Job.App, Partner: d.Job.Partner, Postback: d.Job.Postback,
			EventID: d.Job.EventID, Reason: red.String(d.Reason), Attempts: d.Attempts, DeadAt: d.DeadAt, URL: red.String(d.Job.URL)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": out})
}

// handleReload is POST /v1/reload, the HTTP twin of SIGHUP.
func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.Reload(r.Context()); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": s.redactorNow().String(err.Error()), "version": s.rt.Load().version})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"version": s.rt.Load().version})
}
