package gateway

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
)

// The delivery history: every attempt, every postback a render worker
// skipped and every accepted event's ingest plan is written to the
// queue's history stream, which every instance reads and which outlives
// restarts. Writing never holds a delivery or an ingest request: records
// go through a bounded channel to one writer goroutine that encodes them
// and publishes without waiting for acks (the queue bounds those in
// flight). A record that cannot be written (channel full, stream
// unavailable) is counted in adgate_history_write_failures_total and
// logged at most once a minute; the postback is delivered all the same.

// historyBuffer bounds the records waiting for the writer.
const historyBuffer = 8 << 10

// historyLogEvery is how often write failures are logged at most.
const historyLogEvery = time.Minute

// planRecord is an event's ingest plan as the history stores it.
type planRecord struct {
	Time          time.Time         `json:"time"`
	App           string            `json:"app"`
	EventID       string            `json:"event_id"`
	Event         string            `json:"event"`
	ConfigVersion string            `json:"config_version"`
	Instance      string            `json:"instance,omitempty"`
	Postbacks     []PlannedPostback `json:"postbacks"`
	Skipped       []SkippedPostback `json:"skipped,omitempty"`
}

// histItem is one record on its way to the writer: an attempt, or a plan
// when plan is set.
type histItem struct {
	at   Attempt
	plan *planRecord
	// synced, when set, is closed once everything before it is written.
	synced chan struct{}
}

type history struct {
	s  *Server
	ch chan histItem
	// stop ends the writer once the channel is drained; done says it has.
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// failed counts failures since the last log line; lastLog is its
	// time in Unix nanoseconds.
	failed  atomic.Int64
	lastLog atomic.Int64
}

func newHistory(s *Server) *history {
	return &history{s: s, ch: make(chan histItem, historyBuffer), stop: make(chan struct{}), done: make(chan struct{})}
}

// attempt records a (redacted) attempt without blocking.
func (h *history) attempt(a Attempt) {
	select {
	case h.ch <- histItem{at: a}:
	default:
		h.fail("history writer behind: record dropped")
	}
}

// plan records an accepted event's plan without blocking.
func (h *history) plan(p *planRecord) {
	select {
	case h.ch <- histItem{plan: p}:
	default:
		h.fail("history writer behind: record dropped")
	}
}

// fail counts a record not written and logs, at most once a minute, how
// many there were since the last line.
func (h *history) fail(why string) {
	h.s.m.historyFailures.Inc()
	h.failed.Add(1)
	now := time.Now().UnixNano()
	last := h.lastLog.Load()
	if now-last < int64(historyLogEvery) || !h.lastLog.CompareAndSwap(last, now) {
		return
	}
	n := h.failed.Swap(0)
	h.s.log.Warn("delivery history: records not written; deliveries go on", "records", n, "last_error", why, "log_every", historyLogEvery.String())
}

// historyLinger is how long the writer, woken by a record, waits for the
// next ones before it writes them all: records published together reach
// the server in one write, which it stores in one pass, instead of a
// round of wake-ups of the client and the server each. A record is
// readable that much later; the deliveries do not wait for it.
const historyLinger = 10 * time.Millisecond

// run writes records until stopped, then writes what is still buffered.
func (h *history) run() {
	defer close(h.done)
	linger := time.NewTimer(historyLinger)
	linger.Stop()
	for {
		select {
		case it := <-h.ch:
			linger.Reset(historyLinger)
			select {
			case <-linger.C:
			case <-h.stop:
				linger.Stop()
			}
			h.write(it)
			for more := true; more; {
				select {
				case it := <-h.ch:
					h.write(it)
				default:
					more = false
				}
			}
		case <-h.stop:
			for {
				select {
				case it := <-h.ch:
					h.write(it)
				default:
					return
				}
			}
		}
	}
}

// close stops the writer and waits, at most until ctx ends, for the
// records written so far to be stored.
func (h *history) close(ctx context.Context) {
	h.stopOnce.Do(func() { close(h.stop) })
	select {
	case <-h.done:
	case <-ctx.Done():
		return
	}
	if err := h.s.q.HistoryFlush(ctx); err != nil {
		h.s.log.Warn("delivery history: records unconfirmed at shutdown", "err", err)
	}
}

// sync waits until the records given so far are stored, so a reader
// sees them (tests; the API reads whatever is stored).
func (h *history) sync(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case h.ch <- histItem{synced: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.s.q.HistoryFlush(ctx)
}

func (h *history) write(it histItem) {
	if it.synced != nil {
		close(it.synced)
		return
	}
	var (
		subj string
		data []byte
		err  error
	)
	if p := it.plan; p != nil {
		red := h.s.redactorNow()
		// A copy: the ingest answer shares the slices. A reason may quote
		// event values next to config values.
		rec := *p
		rec.Skipped = make([]SkippedPostback, len(p.Skipped))
		for i, sk := range p.Skipped {
			sk.Reason = red.String(sk.Reason)
			rec.Skipped[i] = sk
		}
		subj = h.s.q.HistoryPlanSubject(p.App, p.EventID)
		data, err = json.Marshal(&rec)
	} else {
		subj = h.s.q.HistoryAttemptSubject(it.at.App, it.at.Partner, it.at.EventID)
		// A buffer per record (the publish keeps it until its ack), sized
		// for the record so it is not grown on the way.
		data = appendAttemptJSON(make([]byte, 0, attemptJSONSize(&it.at)), &it.at)
	}
	if err != nil {
		h.fail(err.Error())
		return
	}
	if err := h.s.q.PublishHistory(subj, data); err != nil {
		// Config.OnHistoryError counted it.
		return
	}
}

// onQueueError is the queue's OnHistoryError.
func (h *history) onQueueError(err error) { h.fail(err.Error()) }

// deliveriesMaxScan bounds the history records one GET /v1/deliveries
// reads; a page it cuts short carries next_cursor.
const deliveriesMaxScan = 20000

// listAttempts reads the history newest first.
func (s *Server) listAttempts(ctx context.Context, f attemptFilter) ([]Attempt, uint64, error) {
	decoded := map[uint64]*Attempt{}
	page, err := s.q.HistoryNewest(ctx, queue.HistoryQuery{
		Filter: queue.HistoryFilter{App: f.App, Partner: f.Partner, EventID: f.EventID, Attempts: true},
		Before: f.Before, Since: f.Since, Until: f.Until, Limit: f.Limit, MaxScan: deliveriesMaxScan,
		Accept: func(r queue.HistoryRecord) bool {
			a := new(Attempt)
			if json.Unmarshal(r.Data, a) != nil || !f.match(a) {
				return false
			}
			decoded[r.Seq] = a
			return true
		},
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]Attempt, 0, len(page.Records))
	for _, r := range page.Records {
		out = append(out, *decoded[r.Seq])
	}
	return out, page.Next, nil
}
