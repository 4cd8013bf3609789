package gateway

import (
	"time"

	"github.com/adgate/adgate/engine/internal/deliver"
)

// Attempt is one delivery attempt (or a postback its render worker
// skipped) as the delivery history stores it and GET /v1/deliveries and
// the event trace list it. Every text in it is redacted before it is
// written.
type Attempt struct {
	Time       time.Time `json:"time"`
	PostbackID string    `json:"postback_id"`
	App        string    `json:"app"`
	Partner    string    `json:"partner"`
	Postback   string    `json:"postback"`
	EventID    string    `json:"event_id"`
	Attempt    int       `json:"attempt"`
	// Status is delivered, retry, dead, delayed (nothing was sent: an
	// open breaker) or skipped (the render worker did not send it).
	Status        string            `json:"status"`
	StatusCode    int               `json:"status_code,omitempty"`
	LatencyMS     float64           `json:"latency_ms"`
	Error         string            `json:"error,omitempty"`
	ConfigVersion string            `json:"config_version,omitempty"`
	Method        string            `json:"method"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers,omitempty"`

	Request  *AttemptRequest  `json:"request,omitempty"`
	Response *AttemptResponse `json:"response,omitempty"`
	// DecidedBy names the delivery policy rule that made the verdict;
	// ErrorClass classifies a failure (queue.ErrorClass); Replay is set
	// when the attempt follows a replay from the dead letters.
	DecidedBy  string          `json:"decided_by,omitempty"`
	ErrorClass string          `json:"error_class,omitempty"`
	Replay     *deliver.Replay `json:"replay,omitempty"`
	// Instance is the gateway process that made the attempt.
	Instance string `json:"instance,omitempty"`
}

// AttemptRequest is what was sent: the body cut to 2 KiB.
type AttemptRequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Headers     map[string]string `json:"headers,omitempty"`
	BodyExcerpt string            `json:"body_excerpt,omitempty"`
}

// AttemptResponse is what the partner answered: a few headers
// (Content-Type, Retry-After, Location, X-Request-Id) and the body cut to
// 2 KiB.
type AttemptResponse struct {
	StatusCode  int               `json:"status_code"`
	Headers     map[string]string `json:"headers,omitempty"`
	BodyExcerpt string            `json:"body_excerpt,omitempty"`
}

// attemptFilter selects attempts; empty fields match everything.
type attemptFilter struct {
	App, Partner, Status, PostbackID, EventID string
	Since, Until                              time.Time
	// Before continues a listing (a HistoryPage.Next); 0 starts at the
	// newest.
	Before uint64
	Limit  int
}

func (f *attemptFilter) match(a *Attempt) bool {
	return (f.App == "" || a.App == f.App) && (f.Partner == "" || a.Partner == f.Partner) &&
		(f.Status == "" || a.Status == f.Status || a.Status != statusSkipped && statusClass(a.StatusCode) == f.Status) &&
		(f.PostbackID == "" || a.PostbackID == f.PostbackID) && (f.EventID == "" || a.EventID == f.EventID) &&
		(f.Since.IsZero() || !a.Time.Before(f.Since)) && (f.Until.IsZero() || !a.Time.After(f.Until))
}
