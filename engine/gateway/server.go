// Package gateway is `adgate serve`: an HTTP service that accepts Branch
// events for many apps, plans every enabled partner's postbacks by the
// partner specs' selection rules, stores each event once in the queue
// before answering, and then renders and delivers every partner's
// postbacks in that partner's own workers, with retries, isolation and
// dead letters.
//
// Ingest answers 202 only after JetStream has acknowledged every event of
// the request, so an accepted event is never lost: a crash after the
// answer leaves the events (or the postbacks already rendered from them)
// queued for the next start, and a crash before it leaves the sender to
// retry (event and postback ids are stable, so the retry is
// de-duplicated). No partner template runs in the ingest request: a slow
// or failing template delays or skips only its own partner's postbacks.
package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/console"
	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/spec"
)

// Options configure a Server. Listen and DataDir override the config file.
type Options struct {
	ConfigPath string
	Listen     string
	DataDir    string
	// DeliverTo, when set, sends every postback to this base URL instead of
	// the partner's host, keeping path and query and putting the original
	// host in X-Adgate-Original-Host (staging, demos, tests). Its host is
	// allowed even when it is a loopback address.
	DeliverTo string
	// Logger receives JSON logs; credentials are redacted from every
	// record. Nil discards logs.
	Logger *slog.Logger
	// LookupEnv resolves ${env:NAME} in the config; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// OnAttempt, if set, is called after every delivery attempt with the
	// redacted attempt (the demo prints them).
	OnAttempt func(Attempt)
	// WatchEvery is how often the config file and partners dir are polled
	// for changes; 0 means 2s, negative disables watching.
	WatchEvery time.Duration
	// Queue tunes the queue beyond what the config says (tests shorten
	// AckWait and DiscoverEvery). URL and DataDir come from the config.
	Queue queue.Config
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// wrapHandler, when set, wraps the HTTP API; the package's tests
	// check every response against the OpenAPI document with it.
	wrapHandler func(http.Handler) http.Handler
}

// Server is a running gateway.
type Server struct {
	opt Options
	log *slog.Logger
	cat *catalog.Catalog
	rt  atomic.Pointer[runtime]
	q   *queue.Queue
	m   *metrics
	// hist writes the delivery history (see history.go).
	hist *history
	sem  chan struct{}
	// signedSem bounds signed ingest requests while their body is read
	// and verified (see handleIngest).
	signedSem chan struct{}
	// decoy stands in for an unknown app so it is refused like a failed
	// authentication: its bearer token and HMAC secret are random.
	decoy config.App
	valid *event.Validator
	dlv   *delivery
	// sample keeps the redacted event sample (config sample:).
	sample   *sampler
	instance string
	// con is the web console at /console/; loader checks the
	// playground's specs.
	con    *console.Console
	loader *spec.Loader

	draining atomic.Bool
	// pending is the queue backlog as last sampled, for backpressure.
	pending     atomic.Int64
	failedStamp atomic.Pointer[string]
	ready       atomic.Bool
	// writable is the last write probe's verdict (see probeQueue).
	writable atomic.Bool
	reloadMu sync.Mutex

	// stats counts this instance's minutes for GET /v1/stats.
	stats *statsRecorder

	ln   net.Listener
	http *http.Server
}

// New loads the config and partner specs and opens the queue. It does not
// listen yet; call Run. A config with errors returns a diag.ListError
// naming every finding.
func New(ctx context.Context, opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{opt: opt, m: newMetrics()}
	s.instance = newInstanceID()
	s.hist = newHistory(s)
	base := opt.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	s.log = slog.New(&redactHandler{h: base.Handler(), red: s.redactorNow})
	var err error
	if s.cat, err = catalog.Load(); err != nil {
		return nil, fmt.Errorf("gateway: load Branch parameter catalog: %w", err)
	}
	if s.valid, err = event.NewValidator(); err != nil {
		return nil, fmt.Errorf("gateway: compile event schema: %w", err)
	}
	if s.sample, err = newSampler(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if s.con, err = s.newConsole(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if s.loader, err = spec.NewLoader(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	rt, ds, err := loadRuntime(ctx, opt.ConfigPath, config.Options{LookupEnv: opt.LookupEnv}, s.cat)
	if err != nil {
		return nil, fmt.Errorf("gateway: %s: %w", opt.ConfigPath, err)
	}
	s.installRuntime(rt, ds)
	s.stats = newStatsRecorder(opt.Now)
	cfg := rt.cfg
	if opt.Listen == "" {
		s.opt.Listen = cfg.Listen
	}
	if opt.DataDir == "" {
		s.opt.DataDir = cfg.DataDir
	}
	s.sem = make(chan struct{}, cfg.Limits.MaxConcurrentIngest)
	s.signedSem = make(chan struct{}, signedSlots(cfg.Limits.MaxConcurrentIngest))
	s.decoy = config.App{Ingest: config.Ingest{
		BearerTokens:       []string{rand.Text()},
		HMACSecret:         rand.Text(),
		TimestampTolerance: config.DefaultTimestampTolerance,
	}}
	qc := opt.Queue
	cq := cfg.Queue
	qc.URL = cq.URL
	qc.Replicas = cq.Replicas
	if cq.PlacementCluster != "" || len(cq.PlacementTags) > 0 {
		qc.Placement = &queue.Placement{Cluster: cq.PlacementCluster, Tags: cq.PlacementTags}
	}
	qc.TokenFile, qc.CredsFile, qc.NKeySeedFile = cq.TokenFile, cq.CredsFile, cq.NKeySeedFile
	qc.TLS = queue.TLS{CAFile: cq.TLSCAFile, CertFile: cq.TLSCertFile, KeyFile: cq.TLSKeyFile, ServerName: cq.TLSServerName}
	onLoss := qc.OnLoss
	qc.OnLoss = func(l queue.Loss) {
		s.m.queueLost.WithLabelValues(l.Stream, l.Reason).Add(float64(l.Msgs))
		if onLoss != nil {
			onLoss(l)
		}
	}
	qc.DataDir = s.opt.DataDir
	qc.HistoryMaxAge, qc.HistoryMaxBytes = cfg.Retention.HistoryMaxAge, cfg.Retention.HistoryMaxBytes
	// The config's events_max_* left out (zero) keep what the embedder's
	// Options.Queue says, and that the queue's default.
	if cfg.Retention.EventsMaxAge > 0 {
		qc.ArchiveMaxAge = cfg.Retention.EventsMaxAge
	}
	if cfg.Retention.EventsMaxBytes > 0 {
		qc.ArchiveMaxBytes = cfg.Retention.EventsMaxBytes
	}
	qc.OnHistoryError = s.hist.onQueueError
	if qc.DrainTimeout == 0 {
		qc.DrainTimeout = cfg.Limits.ShutdownTimeout
	}
	if s.q, err = queue.Open(ctx, qc, s.log.With("component", "queue")); err != nil {
		return nil, fmt.Errorf("gateway: open queue: %w", err)
	}
	if err := s.q.SetTopology(ctx, topology(rt)); err != nil {
		_ = s.q.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if s.dlv, err = newDelivery(s); err != nil {
		_ = s.q.Close()
		return nil, err
	}
	// Writing from here on: a Handler served without Run (tests,
	// benchmarks) records too.
	go s.hist.run()
	s.m.reg.MustRegister(newStateCollector(s))
	// Writable until a probe says otherwise, so the first failure is
	// logged as a change.
	s.setWritable(nil)
	return s, nil
}

// Close releases a server that New created but Run never ran (Run closes
// the queue itself on its way out).
func (s *Server) Close() error {
	if s.ln != nil {
		_ = s.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	s.hist.close(ctx)
	cancel()
	return s.q.Close()
}

// signedSlots is how many signed ingest requests may be read and verified
// at once: a quarter of the ingest slots, at least one.
func signedSlots(maxConcurrent int) int { return max(1, maxConcurrent/4) }

func (s *Server) now() time.Time { return s.opt.Now() }

func (s *Server) redactorNow() *redactor {
	if rt := s.rt.Load(); rt != nil {
		return rt.red
	}
	return nil
}

func (s *Server) installRuntime(rt *runtime, ds diag.List) {
	old := s.rt.Swap(rt)
	for _, d := range ds {
		s.log.Warn("config finding", "diagnostic", d.String())
	}
	if old != nil {
		s.m.configInfo.DeleteLabelValues(old.version)
	}
	s.m.configInfo.WithLabelValues(rt.version).Set(1)
}

// Reload loads the config and partner specs again. On any error the
// running generation stays live and the diagnostics are logged. Deliveries
// in flight finish with the generation they started with.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.rt.Load()
	rt, ds, err := loadRuntime(ctx, s.opt.ConfigPath, config.Options{LookupEnv: s.opt.LookupEnv}, s.cat)
	if err != nil {
		s.m.reloads.WithLabelValues("failed").Inc()
		// Only errors reject a reload; warnings are logged as they are
		// on a successful one.
		for _, d := range ds {
			switch {
			case d.Severity == diag.Error && d.File != s.opt.ConfigPath:
				// The spec exists and is what is wrong; say so rather
				// than let it read as a missing partner.
				s.log.Error("reload rejected: invalid partner spec", "partner", diag.Escape(spec.SpecID(d.File)), "diagnostic", d.String())
			case d.Severity == diag.Error:
				s.log.Error("reload rejected: config error", "diagnostic", d.String())
			default:
				s.log.Warn("config finding", "diagnostic", d.String())
			}
		}
		s.log.Error("reload rejected; keeping the running config", "version", old.version, "err", err)
		// Remember the broken files so the watcher does not retry them
		// until they change again.
		s.markStamp(fingerprint(s.opt.ConfigPath, old.cfg.PartnersDir))
		return err
	}
	if rt.cfg.Listen != old.cfg.Listen || rt.cfg.DataDir != old.cfg.DataDir || !reflect.DeepEqual(rt.cfg.Queue, old.cfg.Queue) ||
		rt.cfg.Limits.MaxConcurrentIngest != old.cfg.Limits.MaxConcurrentIngest || rt.cfg.Retention != old.cfg.Retention {
		s.log.Warn("listen, data_dir, queue, retention and limits.max_concurrent_ingest changes take effect at the next start")
	}
	// The new pairs render (their apps' consumers exist) before ingest
	// plans with the new config, so no event planned for them is stored
	// without them; the pairs it drops stop once it is live, and the
	// consumers of apps left without partners go, with their unrendered
	// events.
	if err := s.q.SetTopology(ctx, topology(old, rt)); err != nil {
		s.m.reloads.WithLabelValues("failed").Inc()
		s.log.Error("reload rejected: cannot create the render consumers; keeping the running config", "version", old.version, "err", err)
		return err
	}
	s.installRuntime(rt, ds)
	s.m.reloads.WithLabelValues("ok").Inc()
	topo := topology(rt)
	topo.Remove = dropped(old, rt)
	if err := s.q.SetTopology(ctx, topo); err != nil {
		s.log.Warn("reload: removing the render consumers of apps no longer enabled failed; retried at the next reload", "err", err)
	}
	s.log.Info("config reloaded", "version", rt.version, "previous", old.version, "apps", len(rt.cfg.Apps), "partners", len(rt.partners))
	return nil
}

// lastStamp is the fingerprint the watcher compares against; a failed
// reload records the broken files' stamp here.
func (s *Server) markStamp(stamp string) { s.failedStamp.Store(&stamp) }

// Addr is the address the server listens on, once Run has started it.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Listen binds the listen address, so a caller (or a test using port 0)
// knows the address before Run.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.opt.Listen)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", s.opt.Listen, err)
	}
	s.ln = ln
	return nil
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	switch {
	case s.draining.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	case !s.ready.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
	case !s.q.Connected():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "queue disconnected"})
	case !s.writable.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "queue not writable"})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "config_version": s.rt.Load().version})
	}
}

// Run serves until ctx ends, then shuts down: it stops intake (new ingest
// requests get 503 and the listener closes), lets in-flight ingest requests
// finish, gives in-flight deliveries until the shutdown timeout, and leaves
// everything else queued for the next start.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	h := s.Handler()
	if s.opt.wrapHandler != nil {
		h = s.opt.wrapHandler(h)
	}
	s.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	deliverCtx, stopDelivering := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDelivering()
	var wg sync.WaitGroup
	qerr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		qerr <- s.q.Run(deliverCtx, s.dlv)
	}()
	bgCtx, stopBG := context.WithCancel(ctx)
	defer stopBG()
	// Ready only once a write went through: a full disk must not be
	// reported ready at start either.
	s.probeOnce(bgCtx)
	wg.Add(4)
	go func() { defer wg.Done(); s.runStatsFlush(bgCtx) }()
	go func() { defer wg.Done(); s.watch(bgCtx) }()
	go func() { defer wg.Done(); s.sampleBacklog(bgCtx) }()
	go func() { defer wg.Done(); s.probeQueue(bgCtx) }()

	herr := make(chan error, 1)
	go func() { herr <- s.http.Serve(s.ln) }()
	s.ready.Store(true)
	rt := s.rt.Load()
	s.log.Info("adgate gateway listening", "addr", s.Addr(), "config_version", rt.version, "apps", len(rt.cfg.Apps), "partners", len(rt.partners), "data_dir", s.opt.DataDir)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-herr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("gateway: http server: %w", err)
		}
	case err := <-qerr:
		if err != nil {
			runErr = fmt.Errorf("gateway: queue consumer stopped: %w", err)
		}
	}
	s.log.Info("shutting down: intake stopped, draining in-flight deliveries", "deadline", rt.cfg.Limits.ShutdownTimeout)
	s.draining.Store(true)
	shCtx, cancel := context.WithTimeout(context.Background(), rt.cfg.Limits.ShutdownTimeout)
	if err := s.http.Shutdown(shCtx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	cancel()
	stopBG()
	stopDelivering()
	wg.Wait()
	// Deliveries have stopped: this flush stores the last counts.
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	s.flushStats(fctx)
	fcancel()
	// Ingest and deliveries have stopped: what they recorded is written
	// before the connection goes.
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	s.hist.close(hctx)
	hcancel()
	if err := s.q.Close(); err != nil {
		s.log.Warn("closing queue", "err", err)
	}
	s.log.Info("shutdown complete")
	return runErr
}

// watch polls the config file and partners dir and reloads on change.
func (s *Server) watch(ctx context.Context) {
	period := s.opt.WatchEvery
	if period < 0 {
		return
	}
	if period == 0 {
		period = 2 * time.Second
	}
	every(ctx, period, func(ctx context.Context) {
		rt := s.rt.Load()
		cur := fingerprint(s.opt.ConfigPath, rt.cfg.PartnersDir)
		if cur == rt.stamp {
			return
		}
		if f := s.failedStamp.Load(); f != nil && *f == cur {
			return
		}
		s.log.Info("config or partner files changed; reloading")
		_ = s.Reload(ctx)
	})
}

// sampleBacklog keeps s.pending current for ingest's backpressure check;
// asking JetStream on every request would cost a round trip each.
func (s *Server) sampleBacklog(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if d, err := s.q.Depth(ctx); err == nil {
			s.pending.Store(int64(d.Pending))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probeEvery is how often probeQueue writes to the queue, and probeTimeout
// bounds one probe: a queue that stops accepting writes just after a
// probe succeeded fails the next one within probeEvery+probeTimeout
// (1.5 s), inside the 2 s /readyz promises. The timeout stays at a second
// so an R3 write slowed by a loaded node does not flap readiness.
const (
	probeEvery   = 500 * time.Millisecond
	probeTimeout = time.Second
)

// probeQueue keeps s.writable current: the connection being up says
// nothing about whether the stream can store (a full disk, a stream
// without a leader), which is what ingest needs.
func (s *Server) probeQueue(ctx context.Context) {
	every(ctx, probeEvery, s.probeOnce)
}

// every calls f once per period until ctx ends, the first time a period
// after it starts: the gateway's background loops.
func every(ctx context.Context, period time.Duration, f func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f(ctx)
	}
}

func (s *Server) probeOnce(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err := s.q.Probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	s.setWritable(err)
}

// setWritable records whether the queue accepts writes, logging changes.
func (s *Server) setWritable(err error) {
	ok := err == nil
	was := s.writable.Swap(ok)
	if ok {
		s.m.queueWritable.Set(1)
	} else {
		s.m.queueWritable.Set(0)
	}
	switch {
	case was && !ok:
		s.log.Error("queue stopped accepting writes; ingest answers 503 and /readyz is not ready", "err", err)
	case !was && ok && s.ready.Load():
		s.log.Info("queue accepts writes again")
	}
}
