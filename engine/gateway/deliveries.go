package gateway

import (
	"sync"
	"time"

	"github.com/adgate/adgate/engine/internal/deliver"
)

// Attempt is one delivery attempt as GET /v1/deliveries lists it. URL,
// headers and error are redacted before an Attempt is stored.
type Attempt struct {
	Time          time.Time         `json:"time"`
	PostbackID    string            `json:"postback_id"`
	App           string            `json:"app"`
	Partner       string            `json:"partner"`
	Postback      string            `json:"postback"`
	EventID       string            `json:"event_id"`
	Attempt       int               `json:"attempt"`
	Status        string            `json:"status"` // delivered, retry, dead, delayed, skipped
	StatusCode    int               `json:"status_code,omitempty"`
	LatencyMS     float64           `json:"latency_ms"`
	Error         string            `json:"error,omitempty"`
	ConfigVersion string            `json:"config_version,omitempty"`
	Method        string            `json:"method"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers,omitempty"`
	// DecidedBy names the delivery policy rule that made the verdict;
	// ErrorClass classifies a failure (queue.ErrorClass); Replay is set
	// when the attempt follows a replay from the dead letters.
	DecidedBy  string          `json:"decided_by,omitempty"`
	ErrorClass string          `json:"error_class,omitempty"`
	Replay     *deliver.Replay `json:"replay,omitempty"`
}

// attemptLog keeps the most recent attempts in a ring, so memory stays
// bounded whatever the traffic.
type attemptLog struct {
	mu   sync.Mutex
	buf  []Attempt
	next int
	full bool
}

func newAttemptLog(size int) *attemptLog {
	return &attemptLog{buf: make([]Attempt, size)}
}

func (l *attemptLog) add(a Attempt) {
	l.mu.Lock()
	l.buf[l.next] = a
	l.next++
	if l.next == len(l.buf) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// attemptFilter selects attempts; empty fields match everything.
type attemptFilter struct {
	App, Partner, Status, PostbackID string
	Limit                            int
}

// list returns matching attempts, newest first.
func (l *attemptLog) list(f attemptFilter) []Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.next
	if l.full {
		n = len(l.buf)
	}
	out := []Attempt{}
	for i := 0; i < n && len(out) < f.Limit; i++ {
		idx := (l.next - 1 - i + len(l.buf)) % len(l.buf)
		a := l.buf[idx]
		if (f.App == "" || a.App == f.App) && (f.Partner == "" || a.Partner == f.Partner) &&
			(f.Status == "" || a.Status == f.Status || statusClass(a.StatusCode) == f.Status) &&
			(f.PostbackID == "" || a.PostbackID == f.PostbackID) {
			out = append(out, a)
		}
	}
	return out
}
