package gateway

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/adgate/adgate/engine/internal/queue"
)

// metrics are the gateway's Prometheus series, on a registry of its own so
// that two servers in one process (tests) never share counters.
type metrics struct {
	reg *prometheus.Registry

	eventsAccepted   *prometheus.CounterVec
	eventsRejected   *prometheus.CounterVec
	planned          *prometheus.CounterVec
	skipped          *prometheus.CounterVec
	delivered        *prometheus.CounterVec
	retried          *prometheus.CounterVec
	deadLettered     *prometheus.CounterVec
	deliveryLatency  *prometheus.HistogramVec
	ingestLatency    prometheus.Histogram
	reloads          *prometheus.CounterVec
	configInfo       *prometheus.GaugeVec
	inflightRequests prometheus.Gauge
	queueWritable    prometheus.Gauge
	queueLost        *prometheus.CounterVec
	historyFailures  prometheus.Counter

	// series are the children of delivered, retried, deadLettered and
	// deliveryLatency that attempts counted in so far.
	series seriesCache
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.series.m = m
	m.series.cur.Store(&map[seriesKey]series{})
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	byApp := []string{"app"}
	byPartner := []string{"app", "partner"}
	byStatus := []string{"app", "partner", "status_class"}
	m.eventsAccepted = m.counter("adgate_events_accepted_total", "Events accepted (202) and durably enqueued.", byApp)
	m.eventsRejected = m.counter("adgate_events_rejected_total", "Events or requests rejected, by reason (auth, invalid, too_large, saturated, backlog, unavailable); requests for an unknown app count as auth with an empty app label.", []string{"app", "reason"})
	m.planned = m.counter("adgate_postbacks_planned_total", "Postbacks rendered and enqueued.", byPartner)
	m.skipped = m.counter("adgate_postbacks_skipped_total", "Postbacks not sent for an event, by reason class (no_postback, scope, window, filter, country, disabled, unmapped, render).", []string{"app", "partner", "reason"})
	m.delivered = m.counter("adgate_postbacks_delivered_total", "Postbacks the partner accepted.", byStatus)
	m.retried = m.counter("adgate_postbacks_retried_total", "Failed attempts that will be retried.", byStatus)
	m.deadLettered = m.counter("adgate_postbacks_dead_lettered_total", "Postbacks moved to the dead letters.", byStatus)
	m.deliveryLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "adgate_delivery_duration_seconds",
		Help:    "Duration of one delivery attempt, request sent to answer read.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10},
	}, byPartner)
	m.ingestLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "adgate_ingest_duration_seconds",
		Help:    "Duration of an ingest request, body read to durable enqueue.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.reloads = m.counter("adgate_config_reloads_total", "Config and partner reloads, by result (ok, failed).", []string{"result"})
	m.configInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "adgate_config_info", Help: "1 for the loaded config version (hash of gateway.yaml and the partner specs)."}, []string{"hash"})
	m.inflightRequests = prometheus.NewGauge(prometheus.GaugeOpts{Name: "adgate_ingest_inflight", Help: "Ingest requests being processed."})
	m.queueWritable = prometheus.NewGauge(prometheus.GaugeOpts{Name: "adgate_queue_writable", Help: "1 while the last write probe to the queue's work and event streams (every 500 ms) succeeded, else 0; /readyz answers 503 while it is 0."})
	m.queueLost = m.counter("adgate_queue_lost_total", "Queue messages lost or unreadable, by stream and reason (store: the store reports them lost; undecodable: the job could not be read and was dead-lettered raw; no_metadata: terminated; unrenderable: an event no render worker could read or render, dropped after queue max deliveries).", []string{"stream", "reason"})
	m.historyFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "adgate_history_write_failures_total", Help: "Delivery history records (attempts, skipped postbacks, ingest plans) not written: the writer was behind or the history stream refused them. Deliveries and ingest go on regardless."})
	m.reg.MustRegister(m.deliveryLatency, m.ingestLatency, m.configInfo, m.inflightRequests, m.queueWritable, m.historyFailures)
	return m
}

func (m *metrics) counter(name, help string, labels []string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

// statusClass buckets an HTTP status for metric labels: "2xx".."5xx", or
// "error" when no answer came back.
func statusClass(code int) string {
	// Constants, not strconv: this runs on every attempt.
	switch statusClassIndex(code) {
	case 1:
		return "1xx"
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return "error"
}

// statusClassIndex is code's hundreds, or 0 for statusClass "error".
func statusClassIndex(code int) uint8 {
	if code < 100 || code > 599 {
		return 0
	}
	return uint8(code / 100)
}

// attempt counts one delivery attempt (as deliver reports it) in the
// outcome counters and the latency histogram.
func (m *metrics) attempt(app, partner, outcome string, code int, latency time.Duration) {
	var vec uint8
	switch outcome {
	case queue.OutcomeDelivered.String():
		vec = seriesDelivered
	case queue.OutcomeRetry.String():
		vec = seriesRetried
	case queue.OutcomeDead.String():
		vec = seriesDead
	}
	if vec != 0 {
		m.series.get(seriesKey{app: app, partner: partner, vec: vec, class: statusClassIndex(code)}).counter.Inc()
	}
	if latency > 0 {
		m.series.get(seriesKey{app: app, partner: partner, vec: seriesLatency}).observer.Observe(latency.Seconds())
	}
}

// seriesCache keeps the metric children attempts count in, by their
// labels. WithLabelValues hashes the label values and takes the vector's
// lock on every call; an attempt made two such calls. The map is copied
// on write and read without a lock: it grows once per (app, partner,
// outcome, status class) ever seen, as the vectors do (nothing deletes
// their children), and is read on every attempt.
type seriesCache struct {
	m   *metrics
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[map[seriesKey]series]
}

// seriesKey names one child: vec is one of the series* constants, class
// a statusClassIndex (0 for the latency histogram, which has no class).
type seriesKey struct {
	app, partner string
	vec, class   uint8
}

const (
	seriesDelivered = 1 + iota
	seriesRetried
	seriesDead
	seriesLatency
)

// series is a counter child, or the histogram's for seriesLatency.
type series struct {
	counter  prometheus.Counter
	observer prometheus.Observer
}

func (c *seriesCache) get(k seriesKey) series {
	if s, ok := (*c.cur.Load())[k]; ok {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.cur.Load()
	if s, ok := old[k]; ok {
		return s
	}
	var s series
	m, class := c.m, statusClass(int(k.class)*100)
	switch k.vec {
	case seriesDelivered:
		s.counter = m.delivered.WithLabelValues(k.app, k.partner, class)
	case seriesRetried:
		s.counter = m.retried.WithLabelValues(k.app, k.partner, class)
	case seriesDead:
		s.counter = m.deadLettered.WithLabelValues(k.app, k.partner, class)
	case seriesLatency:
		s.observer = m.deliveryLatency.WithLabelValues(k.app, k.partner)
	}
	next := make(map[seriesKey]series, len(old)+1)
	maps.Copy(next, old)
	next[k] = s
	c.cur.Store(&next)
	return s
}

// stateCollector reads the queue backlog and the breaker states when
// Prometheus scrapes, so the values are never stale and nothing polls.
type stateCollector struct {
	s                                *Server
	depth, pending, dead, breakerDsc *prometheus.Desc
	events                           *prometheus.Desc
	paused                           *prometheus.Desc
}

func newStateCollector(s *Server) *stateCollector {
	return &stateCollector{
		s:          s,
		depth:      prometheus.NewDesc("adgate_queue_depth", "Postbacks waiting or in flight, by app and partner.", []string{"app", "partner"}, nil),
		pending:    prometheus.NewDesc("adgate_queue_pending", "Postbacks waiting or in flight, in total.", nil, nil),
		dead:       prometheus.NewDesc("adgate_dead_letters", "Postbacks in the dead-letter stream.", nil, nil),
		events:     prometheus.NewDesc("adgate_events_unrendered", "Accepted events not yet rendered by every partner of their app.", nil, nil),
		breakerDsc: prometheus.NewDesc("adgate_breaker_state", "Circuit breaker state per partner host: 0 closed, 1 open, 2 half-open.", []string{"partner", "host"}, nil),
		paused:     prometheus.NewDesc("adgate_partner_paused", "1 while the (app, partner) pair is paused (POST /v1/apps/{app}/partners/{partner}/pause), else 0.", []string{"app", "partner"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.pending
	ch <- c.dead
	ch <- c.events
	ch <- c.breakerDsc
	ch <- c.paused
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if d, err := c.s.q.Depth(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(d.Pending))
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(d.Dead))
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(d.Events))
		for k, n := range d.ByPartner {
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), k.App, k.Partner)
		}
		// An enabled pair with nothing queued reads 0, not "no data":
		// dashboards and alerts see it and its drop to zero.
		for _, a := range c.s.rt.Load().cfg.Apps {
			for _, p := range a.Partners {
				if _, ok := d.ByPartner[queue.Key{App: a.ID, Partner: p.ID}]; !ok {
					ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, 0, a.ID, p.ID)
				}
			}
		}
	}
	for _, b := range c.s.dlv.snd.Breakers() {
		ch <- prometheus.MustNewConstMetric(c.breakerDsc, prometheus.GaugeValue, float64(b.State), b.Partner, b.Host)
	}
	rt := c.s.rt.Load()
	for k := range rt.policies {
		v := 0.0
		if p, ok := c.s.q.Control(k); ok && p.Paused {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, v, k.App, k.Partner)
	}
}
