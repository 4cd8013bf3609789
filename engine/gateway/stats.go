package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
)

// Per-minute rollups behind GET /v1/stats. Prometheus counters are per
// process and have no history; the console's overview has to work on a
// bare `adgate serve --demo`, and on several instances behind one load
// balancer. So each instance counts per minute, in memory, and stores the
// minute in the ADGATE_STATS stream every statsFlushEvery and at
// shutdown (a re-flush replaces the earlier one); /v1/stats merges every
// instance's minutes.

// statsFlushEvery is how often the minutes counted in memory are stored.
const statsFlushEvery = 10 * time.Second

// Latency histogram: bucket 0 holds attempts up to latBaseMS, bucket i
// (1 <= i < latBuckets-1) those in (latBaseMS*2^((i-1)/4),
// latBaseMS*2^(i/4)], the last one everything longer. The bounds are fixed,
// so histograms of any instance and minute add up bucket by bucket, and a
// quantile read as a bucket's geometric middle is within 2^(1/8), about
// 9%, of the true one between 0.1 ms and 74 s.
const (
	latBuckets = 80
	latBaseMS  = 0.1
	latPerOct  = 4
)

func latBucket(ms float64) int {
	if !(ms > latBaseMS) { // also NaN
		return 0
	}
	// Compared as a float: converting +Inf to int is undefined.
	return int(min(math.Ceil(latPerOct*math.Log2(ms/latBaseMS)), latBuckets-1))
}

// latValue is what a quantile falling in bucket i reads as, in ms.
func latValue(i int) float64 {
	switch {
	case i <= 0:
		return latBaseMS
	case i >= latBuckets-1:
		// Unbounded above: its lower bound is all that is known.
		return latBaseMS * math.Exp2(float64(latBuckets-2)/latPerOct)
	}
	return latBaseMS * math.Exp2((float64(i)-0.5)/latPerOct)
}

// latHist counts attempts per latency bucket.
type latHist [latBuckets]uint64

// quantile is the latency in ms below which a fraction q of the counted
// attempts fell, or nil when none were counted.
func (h *latHist) quantile(q float64) *float64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return nil
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h {
		seen += c
		if seen >= rank {
			v := math.Round(latValue(i)*1000) / 1000
			return &v
		}
	}
	return nil
}

// pairCounts is one (app, partner) pair's counts in one minute.
type pairCounts struct {
	delivered, retried, dead, skipped uint64
	lat                               latHist
}

func (c *pairCounts) add(rp *rollupPair) {
	c.delivered += rp.Delivered
	c.retried += rp.Retried
	c.dead += rp.Dead
	c.skipped += rp.Skipped
	for _, bc := range rp.Latency {
		// A bucket beyond ours (a newer layout) counts in the last.
		c.lat[min(bc[0], latBuckets-1)] += bc[1]
	}
}

// minuteCounts is everything one instance counted in one minute.
type minuteCounts struct {
	events map[string]uint64
	pairs  map[queue.Key]*pairCounts
	// dirty: counted since the last flush started.
	dirty bool
}

func newMinuteCounts() *minuteCounts {
	return &minuteCounts{events: map[string]uint64{}, pairs: map[queue.Key]*pairCounts{}}
}

func (m *minuteCounts) pair(k queue.Key) *pairCounts {
	p := m.pairs[k]
	if p == nil {
		p = &pairCounts{}
		m.pairs[k] = p
	}
	return p
}

// statsRecorder counts this instance's minutes, and keeps what it read
// of every instance's. The hot path takes one short mutex: a map lookup
// and a few adds.
type statsRecorder struct {
	now func() time.Time
	mu  sync.Mutex
	// minutes holds the current minute and any earlier one not yet
	// stored, by Unix minute.
	minutes map[int64]*minuteCounts

	// readMu serialises /v1/stats reads of the stream; seq is the last
	// stream sequence read into read, every instance's rollups of the
	// longest window. A stored minute is read once, not at every request.
	readMu sync.Mutex
	seq    uint64
	read   map[statsKey]*rollup
}

// statsKey names one instance's minute.
type statsKey struct {
	instance string
	minute   int64
}

func newStatsRecorder(now func() time.Time) *statsRecorder {
	return &statsRecorder{now: now, minutes: map[int64]*minuteCounts{}, read: map[statsKey]*rollup{}}
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

// current returns the minute counting now, marked dirty; r.mu is held.
func (r *statsRecorder) current() *minuteCounts {
	k := unixMinute(r.now())
	m := r.minutes[k]
	if m == nil {
		m = newMinuteCounts()
		r.minutes[k] = m
	}
	m.dirty = true
	return m
}

func (r *statsRecorder) eventsIn(app string, n int) {
	r.mu.Lock()
	r.current().events[app] += uint64(n)
	r.mu.Unlock()
}

// attempt counts one delivery attempt by its outcome (as deliver reports
// it; a delay sent nothing and is not counted).
func (r *statsRecorder) attempt(app, partner, outcome string, latency time.Duration) {
	var ms float64
	if latency > 0 {
		ms = float64(latency.Microseconds()) / 1000
	}
	var delivered, retried, dead uint64
	switch outcome {
	case queue.OutcomeDelivered.String():
		delivered = 1
	case queue.OutcomeRetry.String():
		retried = 1
	case queue.OutcomeDead.String():
		dead = 1
	default:
		return
	}
	b := latBucket(ms)
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.current().pair(queue.Key{App: app, Partner: partner})
	p.delivered += delivered
	p.retried += retried
	p.dead += dead
	if latency > 0 {
		p.lat[b]++
	}
}

func (r *statsRecorder) skipped(app, partner string) {
	r.mu.Lock()
	r.current().pair(queue.Key{App: app, Partner: partner}).skipped++
	r.mu.Unlock()
}

// rollup is a minute as stored in the stream (JSON). Latency is sparse:
// [bucket, count] pairs of the buckets that counted anything.
type rollup struct {
	Events map[string]uint64 `json:"events,omitempty"`
	Pairs  []rollupPair      `json:"pairs,omitempty"`
}

type rollupPair struct {
	App       string      `json:"app"`
	Partner   string      `json:"partner"`
	Delivered uint64      `json:"delivered,omitempty"`
	Retried   uint64      `json:"retried,omitempty"`
	Dead      uint64      `json:"dead,omitempty"`
	Skipped   uint64      `json:"skipped,omitempty"`
	Latency   [][2]uint64 `json:"latency,omitempty"`
}

func (m *minuteCounts) rollup() *rollup {
	ru := &rollup{Events: maps.Clone(m.events)}
	for k, p := range m.pairs {
		rp := rollupPair{App: k.App, Partner: k.Partner, Delivered: p.delivered, Retried: p.retried, Dead: p.dead, Skipped: p.skipped}
		for i, c := range p.lat {
			if c > 0 {
				rp.Latency = append(rp.Latency, [2]uint64{uint64(i), c})
			}
		}
		ru.Pairs = append(ru.Pairs, rp)
	}
	return ru
}

// snapshot is one minute of this instance.
type snapshot struct {
	minute time.Time
	ru     *rollup
}

// take copies the minutes held: with all true every one (for /v1/stats,
// which overlays them on what the stream has), else the dirty ones, which
// it marks clean (for a flush).
func (r *statsRecorder) take(all bool) []snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []snapshot
	for k, m := range r.minutes {
		if !all && !m.dirty {
			continue
		}
		if !all {
			m.dirty = false
		}
		out = append(out, snapshot{minute: time.Unix(k*60, 0).UTC(), ru: m.rollup()})
	}
	return out
}

// stored drops a minute that a flush stored, unless it is still counting
// or counted more since; failed marks one to be flushed again.
func (r *statsRecorder) stored(minute time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := unixMinute(minute)
	m := r.minutes[k]
	switch {
	case m == nil:
	case !ok:
		m.dirty = true
	case !m.dirty && k < unixMinute(r.now()):
		delete(r.minutes, k)
	}
}

// expire drops minutes that could not be stored for longer than the
// stream keeps them, so a queue down for days does not grow memory.
func (r *statsRecorder) expire(keep time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	oldest := unixMinute(r.now().Add(-keep))
	n := 0
	for k := range r.minutes {
		if k < oldest {
			delete(r.minutes, k)
			n++
		}
	}
	return n
}

// statsKeep is how long the stream keeps rollups (queue.Config's
// StatsMaxAge default); minutes older than that are not worth storing.
const statsKeep = 48 * time.Hour

// flushStats stores the minutes counted since the last flush.
func (s *Server) flushStats(ctx context.Context) {
	if n := s.stats.expire(statsKeep); n > 0 {
		s.log.Warn("stats: dropped minutes that could not be stored in time", "minutes", n)
	}
	for _, sn := range s.stats.take(false) {
		b, err := json.Marshal(sn.ru)
		if err == nil {
			err = s.q.PutStats(ctx, s.instance, sn.minute, b)
		}
		s.stats.stored(sn.minute, err == nil)
		if err != nil {
			// The queue being down is logged by the write probe; this
			// only says the minute waits for the next flush.
			s.log.Debug("stats: storing a minute failed; kept for the next flush", "minute", sn.minute, "err", err)
		}
	}
}

// runStatsFlush flushes every statsFlushEvery until ctx ends. The flush
// at shutdown is Run's, after deliveries stopped.
func (s *Server) runStatsFlush(ctx context.Context) {
	every(ctx, statsFlushEvery, func(ctx context.Context) {
		fctx, cancel := context.WithTimeout(ctx, statsFlushEvery)
		defer cancel()
		s.flushStats(fctx)
	})
}

// recordSkipped counts a postback not sent for an event. no_postback (the
// partner has no postback for the event at all) is counted in Prometheus
// only: it is the answer of every partner an event does not concern, and
// would drown the overview's skips that mean something.
func (s *Server) recordSkipped(app, partner, class string) {
	s.m.skipped.WithLabelValues(app, partner, class).Inc()
	if class != skipNoPostback {
		s.stats.skipped(app, partner)
	}
}

// Stats is the answer of GET /v1/stats.
type Stats struct {
	Window      string         `json:"window"`
	StepSeconds int            `json:"step_seconds"`
	Now         time.Time      `json:"now"`
	EventsIn    []StatsCount   `json:"events_in"`
	Partners    []PartnerStats `json:"partners"`
	Queue       *StatsQueue    `json:"queue"`
}

// StatsCount is the events received in the step starting at T.
type StatsCount struct {
	T     time.Time `json:"t"`
	Count uint64    `json:"count"`
}

// PartnerStats is one (app, partner) pair over the window.
type PartnerStats struct {
	App     string        `json:"app"`
	Partner string        `json:"partner"`
	Points  []StatsPoint  `json:"points"`
	Totals  PartnerTotals `json:"totals"`
}

// StatsPoint is one step of a pair. P50MS and P99MS are null when no
// attempt was made in the step.
type StatsPoint struct {
	T         time.Time `json:"t"`
	Delivered uint64    `json:"delivered"`
	Retried   uint64    `json:"retried"`
	Dead      uint64    `json:"dead"`
	Skipped   uint64    `json:"skipped"`
	P50MS     *float64  `json:"p50_ms"`
	P99MS     *float64  `json:"p99_ms"`
}

// PartnerTotals sums a pair's window. SuccessRatio is delivered over all
// attempts (delivered, retried, dead), null without attempts.
type PartnerTotals struct {
	Delivered    uint64   `json:"delivered"`
	Retried      uint64   `json:"retried"`
	Dead         uint64   `json:"dead"`
	Skipped      uint64   `json:"skipped"`
	SuccessRatio *float64 `json:"success_ratio"`
}

// StatsQueue is the backlog now: postbacks waiting or in flight, events
// not yet rendered by every partner, dead letters.
type StatsQueue struct {
	Pending  uint64 `json:"pending"`
	ToRender uint64 `json:"to_render"`
	Dead     uint64 `json:"dead"`
}

// statsWindow is a window /v1/stats serves: its span and step.
type statsWindow struct{ span, step time.Duration }

// statsWindows are the windows /v1/stats serves, by name.
func statsWindows() map[string]statsWindow {
	return map[string]statsWindow{
		"1h":  {time.Hour, time.Minute},
		"24h": {24 * time.Hour, 15 * time.Minute},
	}
}

// handleStats is GET /v1/stats?window=1h|24h&app=.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	window := q.Get("window")
	if window == "" {
		window = "1h"
	}
	win, ok := statsWindows()[window]
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown window %q: want 1h or 24h", window))
		return
	}
	app := q.Get("app")
	rt := s.rt.Load()
	if app != "" && rt.cfg.App(app) == nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown app %q", app))
		return
	}
	st, err := s.buildStats(r.Context(), rt, window, win.span, win.step, app)
	if err != nil {
		s.log.Warn("stats: reading the rollups failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "stats unavailable: the queue did not answer; retry later")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// statsWindowStart is the first step of a window ending with the step
// that holds now.
func statsWindowStart(now time.Time, span, step time.Duration) time.Time {
	return now.Truncate(step).Add(-(span - step))
}

// readStats returns every instance's rollups from the start of the
// longest window: what the stream has (read incrementally) with this
// instance's minutes not yet stored, or stored and still counting, laid
// over it.
func (s *Server) readStats(ctx context.Context, now time.Time) (map[statsKey]*rollup, error) {
	var since time.Time
	for _, w := range statsWindows() {
		if t := statsWindowStart(now, w.span, w.step); since.IsZero() || t.Before(since) {
			since = t
		}
	}
	r := s.stats
	r.readMu.Lock()
	defer r.readMu.Unlock()
	for k := range r.read {
		if k.minute < unixMinute(since) {
			delete(r.read, k)
		}
	}
	fresh := map[statsKey]*rollup{}
	last, reset, err := s.q.Stats(ctx, since, r.seq, func(sr queue.StatsRollup) error {
		var ru rollup
		if err := json.Unmarshal(sr.Data, &ru); err != nil {
			// One bad message must not hide the rest.
			s.log.Warn("stats: unreadable rollup skipped", "instance", sr.Instance, "minute", sr.Minute, "err", err)
			return nil
		}
		fresh[statsKey{sr.Instance, unixMinute(sr.Minute)}] = &ru
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reset {
		clear(r.read)
	}
	maps.Copy(r.read, fresh)
	r.seq = last
	out := maps.Clone(r.read)
	for _, sn := range r.take(true) {
		out[statsKey{s.instance, unixMinute(sn.minute)}] = sn.ru
	}
	return out, nil
}

func (s *Server) buildStats(ctx context.Context, rt *runtime, window string, span, step time.Duration, app string) (*Stats, error) {
	now := s.now().UTC()
	steps := int(span / step)
	first := statsWindowStart(now, span, step)
	minutes, err := s.readStats(ctx, now)
	if err != nil {
		return nil, err
	}

	idx := func(minute int64) int {
		t := time.Unix(minute*60, 0).UTC()
		if t.Before(first) {
			return -1
		}
		i := int(t.Sub(first) / step)
		if i >= steps {
			return -1
		}
		return i
	}
	events := make([]uint64, steps)
	pairs := map[queue.Key][]pairCounts{}
	series := func(k queue.Key) []pairCounts {
		p := pairs[k]
		if p == nil {
			p = make([]pairCounts, steps)
			pairs[k] = p
		}
		return p
	}
	// Every enabled pair is listed, traffic or not.
	for _, a := range rt.cfg.Apps {
		if app != "" && a.ID != app {
			continue
		}
		for _, pc := range a.Partners {
			series(queue.Key{App: a.ID, Partner: pc.ID})
		}
	}
	for k, m := range minutes {
		i := idx(k.minute)
		if i < 0 {
			continue
		}
		for a, n := range m.Events {
			if app == "" || a == app {
				events[i] += n
			}
		}
		for j := range m.Pairs {
			rp := &m.Pairs[j]
			if app == "" || rp.App == app {
				series(queue.Key{App: rp.App, Partner: rp.Partner})[i].add(rp)
			}
		}
	}

	out := &Stats{Window: window, StepSeconds: int(step / time.Second), Now: now, EventsIn: make([]StatsCount, steps), Partners: []PartnerStats{}}
	for i := range steps {
		out.EventsIn[i] = StatsCount{T: first.Add(time.Duration(i) * step), Count: events[i]}
	}
	keys := make([]queue.Key, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b queue.Key) int {
		if c := strings.Compare(a.App, b.App); c != 0 {
			return c
		}
		return strings.Compare(a.Partner, b.Partner)
	})
	for _, k := range keys {
		ps := PartnerStats{App: k.App, Partner: k.Partner, Points: make([]StatsPoint, steps)}
		for i, c := range pairs[k] {
			ps.Points[i] = StatsPoint{
				T: first.Add(time.Duration(i) * step), Delivered: c.delivered, Retried: c.retried, Dead: c.dead, Skipped: c.skipped,
				P50MS: c.lat.quantile(0.5), P99MS: c.lat.quantile(0.99),
			}
			ps.Totals.Delivered += c.delivered
			ps.Totals.Retried += c.retried
			ps.Totals.Dead += c.dead
			ps.Totals.Skipped += c.skipped
		}
		if n := ps.Totals.Delivered + ps.Totals.Retried + ps.Totals.Dead; n > 0 {
			r := math.Round(float64(ps.Totals.Delivered)/float64(n)*10000) / 10000
			ps.Totals.SuccessRatio = &r
		}
		out.Partners = append(out.Partners, ps)
	}
	d, err := s.q.Depth(ctx)
	if err != nil {
		return nil, err
	}
	out.Queue = &StatsQueue{Pending: d.Pending, ToRender: d.Events, Dead: d.Dead}
	if app != "" {
		out.Queue.Pending = 0
		for k, n := range d.ByPartner {
			if k.App == app {
				out.Queue.Pending += n
			}
		}
	}
	return out, nil
}
