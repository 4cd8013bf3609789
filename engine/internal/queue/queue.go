// Package queue is the gateway's durable postback queue, built on NATS
// JetStream. With no URL configured it runs an embedded nats-server that
// stores its streams under the data directory, so a single adgate process
// needs nothing else installed; with a URL it talks to an external NATS
// cluster through the same code.
//
// JetStream does the hard parts: Nats-Msg-Id de-duplication makes Enqueue
// idempotent, acks and NakWithDelay give redelivery with backoff, MaxDeliver
// bounds a poison message, and dead letters live in a second stream from
// which Replay sends them again. Accepted events wait in a third stream,
// stored once and kept until every (app, partner) render consumer of their
// app has rendered them (see Publish, SetTopology). Every (app, partner)
// pair has its own render consumer and its own work subject and durable
// consumer, consumed by its own workers, so a partner that hangs, or whose
// templates are slow, only ever holds its own messages. A KV bucket holds
// the pairs an operator paused (see Pause), which every process sharing
// the queue watches.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Job is one postback to deliver: a fully rendered HTTP request plus where
// it came from.
type Job struct {
	// ID is the postback id, stable from (event id, partner, postback). It is
	// the JetStream Nats-Msg-Id (so enqueueing twice stores it once) and the
	// Idempotency-Key the partner sees on every attempt and replay.
	ID       string `json:"id"`
	App      string `json:"app"`
	Partner  string `json:"partner"`
	Postback string `json:"postback"`
	EventID  string `json:"event_id"`

	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`

	// ConfigVersion identifies the config and partner specs that rendered
	// the request, so an attempt can be traced back to them.
	ConfigVersion string `json:"config_version,omitempty"`
	// EnqueuedAt starts the retry budget's age clock. Replay resets it, so a
	// replayed postback gets a fresh budget.
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Replays counts how many times the job was replayed from the dead
	// letters.
	Replays int `json:"replays,omitempty"`
	// WindowEnd, when set, is when the postback window closes (the
	// attributed touch plus the partner's window): an attempt after it is
	// dead-lettered instead of sent, however long the retries took. Replay
	// keeps it, so a replayed postback past its window is not sent either.
	WindowEnd time.Time `json:"window_end,omitzero"`
	// EventSeq is the event's sequence in the event stream (and so in its
	// archive, which mirrors it): what finds the event again to render
	// the postback anew on a replay. 0 for jobs not rendered from a
	// stored event.
	EventSeq uint64 `json:"event_seq,omitempty"`
	// OriginalConfigVersion is set on a postback rendered again by a
	// replay: the config version that rendered the one that died.
	OriginalConfigVersion string `json:"original_config_version,omitempty"`
	// Attempts counts the attempts made before the job was queued: its
	// render worker makes the first attempt itself and queues the job
	// only for what follows. Attempt numbers and MaxDeliver count on
	// from it.
	Attempts int `json:"attempts,omitempty"`
	// NotBefore, when set, is the earliest time of the next attempt: the
	// delay that the attempt made before queueing asked for.
	NotBefore time.Time `json:"not_before,omitzero"`
}

func (j *Job) validate() error {
	switch {
	case j.ID == "":
		return errors.New("job has no id")
	case j.App == "":
		return fmt.Errorf("job %s has no app", j.ID)
	case j.Partner == "":
		return fmt.Errorf("job %s has no partner", j.ID)
	case j.URL == "":
		return fmt.Errorf("job %s has no url", j.ID)
	}
	return nil
}

// Config configures the queue. Zero values take the defaults noted.
type Config struct {
	// URL of an external NATS server or cluster (nats://host:4222,...).
	// Empty runs an embedded nats-server storing its data in DataDir.
	URL string
	// Token, TokenFile (a file holding the token), CredsFile and
	// NKeySeedFile authenticate to an external server. None of them is
	// ever logged.
	Token        string
	TokenFile    string
	CredsFile    string
	NKeySeedFile string
	// TLS configures TLS to an external server; the zero value uses TLS
	// only when a URL says tls://.
	TLS TLS

	// Replicas is the replica count of every stream and consumer adgate
	// creates (0: not configured, streams are created with one and an
	// existing stream keeps its count). Existing streams are scaled up to
	// it, never down.
	Replicas int
	// Placement, when set, places the streams on a cluster and on servers
	// with all of its tags.
	Placement *Placement

	// DataDir holds the embedded server's JetStream files and its generated
	// auth token (nats.token). Required when URL is empty.
	DataDir string
	// Listen, when set (host:port), makes the embedded server also accept
	// network clients there, authenticated with the token in
	// DataDir/nats.token. Empty: no network listener at all; adgate talks to
	// the server in process.
	Listen string
	// SyncAlways fsyncs every write of the embedded server. Without it data
	// survives a process crash (the OS has it) but not a power loss.
	SyncAlways bool

	// Stream, DeadStream, EventStream and HistoryStream name the work,
	// dead-letter, event and delivery history streams; Subject is the
	// subject prefix (default ADGATE_PB, ADGATE_DEAD, ADGATE_EV,
	// ADGATE_HIST, adgate).
	Stream        string
	DeadStream    string
	EventStream   string
	HistoryStream string
	Subject       string

	// HistoryMaxAge and HistoryMaxBytes bound the delivery history
	// (default 7 days; 0 bytes: no size limit).
	HistoryMaxAge   time.Duration
	HistoryMaxBytes int64
	// ArchiveStream names the event archive (default ADGATE_EV_ARCHIVE):
	// a mirror of the event stream that keeps every accepted event for
	// ArchiveMaxAge (default 7 days) and at most ArchiveMaxBytes (0: no
	// size bound), so a replay can render a dead postback again from its
	// event after the event stream let it go.
	ArchiveStream   string
	ArchiveMaxAge   time.Duration
	ArchiveMaxBytes int64
	// ControlBucket names the KV bucket of the pause controls (default
	// ADGATE_CONTROL; its stream is KV_<name>).
	ControlBucket string
	// SessionBucket names the KV bucket of logged-out console sessions
	// (default ADGATE_SESSIONS), kept SessionMaxAge (default 9h, longer
	// than a session lives) so every instance refuses a session one of
	// them logged out.
	SessionBucket string
	SessionMaxAge time.Duration
	// StatsStream names the stream of per-minute delivery rollups
	// (default ADGATE_STATS); StatsMaxAge keeps them this long (default
	// 48h, the longest window GET /v1/stats serves plus a day).
	StatsStream string
	StatsMaxAge time.Duration

	// DuplicateWindow is how long an enqueued job ID is remembered for
	// de-duplication (default 10m). Memory grows with rate x window.
	DuplicateWindow time.Duration
	// MaxAge drops work older than this (default 7 days); DeadMaxAge keeps
	// dead letters this long (default 14 days).
	MaxAge     time.Duration
	DeadMaxAge time.Duration
	// AckWait is how long a delivered message may go without an ack or a
	// progress signal before JetStream redelivers it (default 10s). Workers
	// signal progress while a handler runs, so this bounds only how fast a
	// crashed process's in-flight messages come back.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one message (default 25). A handler
	// asking for a retry on the last one dead-letters the job instead.
	MaxDeliver int
	// Workers is the per (app, partner) concurrency when the handler does
	// not say (see Concurrencer); default 4.
	Workers int
	// DrainTimeout is how long Run waits for in-flight handlers after its
	// context ends before cancelling them (default 10s).
	DrainTimeout time.Duration
	// DiscoverEvery is how often Run looks for new (app, partner) subjects
	// with pending work (default 2s); jobs enqueued by this process are
	// picked up at once.
	DiscoverEvery time.Duration
	// OnLoss, if set, is called for every Loss found (after it is logged),
	// so the caller can count it.
	OnLoss func(Loss)
	// OnHistoryError, if set, is called for every history record that
	// could not be stored (see PublishHistory). It must not block.
	OnHistoryError func(error)
}

// TLS names the files of a TLS connection to NATS.
type TLS struct {
	// CAFile verifies the servers (default: the system roots).
	CAFile string
	// CertFile and KeyFile are the client certificate and its key, for
	// servers that verify clients.
	CertFile string
	KeyFile  string
	// ServerName is the name expected in the servers' certificates, when
	// it is not the host in the URL.
	ServerName string
}

func (t TLS) set() bool { return t != TLS{} }

// Placement places streams on a cluster and on servers carrying tags.
type Placement struct {
	Cluster string
	Tags    []string
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Stream == "" {
		c.Stream = "ADGATE_PB"
	}
	if c.DeadStream == "" {
		c.DeadStream = "ADGATE_DEAD"
	}
	if c.EventStream == "" {
		c.EventStream = "ADGATE_EV"
	}
	if c.HistoryStream == "" {
		c.HistoryStream = "ADGATE_HIST"
	}
	if c.ArchiveStream == "" {
		c.ArchiveStream = "ADGATE_EV_ARCHIVE"
	}
	if c.Subject == "" {
		c.Subject = "adgate"
	}
	def(&c.HistoryMaxAge, 7*24*time.Hour)
	def(&c.ArchiveMaxAge, 7*24*time.Hour)
	if c.ControlBucket == "" {
		c.ControlBucket = "ADGATE_CONTROL"
	}
	if c.SessionBucket == "" {
		c.SessionBucket = "ADGATE_SESSIONS"
	}
	def(&c.SessionMaxAge, 9*time.Hour)
	if c.StatsStream == "" {
		c.StatsStream = "ADGATE_STATS"
	}
	def(&c.StatsMaxAge, 48*time.Hour)
	def(&c.DuplicateWindow, 10*time.Minute)
	def(&c.MaxAge, 7*24*time.Hour)
	def(&c.DeadMaxAge, 14*24*time.Hour)
	def(&c.AckWait, 10*time.Second)
	def(&c.DrainTimeout, 10*time.Second)
	def(&c.DiscoverEvery, 2*time.Second)
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 25
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	return c
}

// OutcomeKind says what became of one delivery attempt.
type OutcomeKind int

// The outcomes a Handler reports.
const (
	OutcomeDelivered OutcomeKind = iota + 1
	OutcomeRetry
	OutcomeDead
	// OutcomeDelay: nothing was sent (an open circuit breaker, a stop
	// while waiting for a slot). The job comes back after After, and the
	// delivery does not count as an attempt.
	OutcomeDelay
)

func (k OutcomeKind) String() string {
	switch k {
	case OutcomeDelivered:
		return "delivered"
	case OutcomeRetry:
		return "retry"
	case OutcomeDead:
		return "dead"
	case OutcomeDelay:
		return "delayed"
	}
	return "unknown"
}

// Outcome is a Handler's verdict on one attempt.
type Outcome struct {
	Kind OutcomeKind
	// After is the delay before the next attempt (Retry only).
	After time.Duration
	// Reason says why the attempt failed (Retry, Dead); it is stored with a
	// dead letter, so it must not contain credentials.
	Reason string
	// Class is the failure's error class (see ErrorClass), set by the
	// handler that knows why it gave up; StatusCode is the partner's
	// answer, 0 when there was none.
	Class      string
	StatusCode int
	// DecidedBy names the delivery policy rule that made the verdict
	// (kept with a dead letter, shown in the history).
	DecidedBy string
}

// Delivered reports success: the message is acked and removed.
func Delivered() Outcome { return Outcome{Kind: OutcomeDelivered} }

// Retry asks for another attempt after d.
func Retry(after time.Duration, reason string) Outcome {
	return Outcome{Kind: OutcomeRetry, After: after, Reason: reason}
}

// Delay offers the job again after d without counting this delivery as an
// attempt: the handler sent nothing.
func Delay(after time.Duration, reason string) Outcome {
	return Outcome{Kind: OutcomeDelay, After: after, Reason: reason}
}

// Dead moves the job to the dead letters with reason.
func Dead(reason string) Outcome { return Outcome{Kind: OutcomeDead, Reason: reason} }

// Handler delivers one job. attempt is 1 on the first delivery and counts
// every delivery since the job was (re)enqueued, except those that ended in
// a Delay (counted in this process only: after a restart, earlier delays
// count as attempts). Handle must return soon after ctx ends.
type Handler interface {
	Handle(ctx context.Context, j Job, attempt int) Outcome
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j Job, attempt int) Outcome

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, j Job, attempt int) Outcome {
	return f(ctx, j, attempt)
}

// Concurrencer is implemented by handlers that know how many jobs of one
// (app, partner) may be in flight at once; it is asked again on every pull,
// so a config reload takes effect without restarting the workers.
type Concurrencer interface {
	Concurrency(app, partner string) int
}

// Queue is an open queue. Its methods are safe for concurrent use.
type Queue struct {
	cfg Config
	log *slog.Logger
	srv *server.Server // nil with an external URL
	nc  *nats.Conn
	js  jetstream.JetStream
	// hjs publishes history records: a context of its own, so their
	// window of unacknowledged publishes never stalls an Enqueue.
	hjs jetstream.JetStream
	// ejs publishes accepted events, in a window of its own too: render
	// workers storing many postbacks at once (a paused or slow partner
	// at 60 partners) filled js's, and ingest answered 503 ("stalled
	// with too many outstanding async published messages").
	ejs jetstream.JetStream
	// streams holds the stream handles; ensureStreams replaces them (a
	// stream deleted behind our back, a reload's SetTopology) while
	// workers read them, so they are swapped whole (see st).
	streams atomic.Pointer[streamSet]

	// topo is the (app, partner) pairs that render events (SetTopology);
	// topoKick tells Run it changed. While Run's render workers run
	// (topoLive), topoApplied is closed once they follow the topo set
	// before it was made, so SetTopology returns only when the workers of
	// pairs it dropped have stopped taking events.
	topoMu sync.Mutex
	topo   []Key
	// topoVersion is the config version of topo (Topology.Version).
	topoVersion string
	// drains maps each pair whose per-pair render consumer (of an
	// earlier version) is being drained to the last event it renders.
	// Replaced whole, never changed in place.
	drains      map[Key]uint64
	topoKick    chan struct{}
	topoLive    bool
	topoApplied chan struct{}

	// kick wakes Run's discovery when this process enqueues to a subject
	// that has no worker yet (known holds those that have one).
	kick  chan struct{}
	known sync.Map
	// slots holds each pair's *pairSlots: the attempts in flight, first
	// and queued, under the partner's concurrency limit.
	slots sync.Map

	mu      sync.Mutex
	running bool
	closed  bool

	// delays counts, per work-stream sequence, the deliveries of a queued
	// job that ended in a Delay, which JetStream's delivery count includes.
	delays delayCounts
	// lostSeen holds, per stream, the sequences already reported lost.
	lostMu   sync.Mutex
	lostSeen map[string]map[uint64]bool

	// ctl is this process's copy of the control bucket (pauses).
	ctl *controls

	// dialErr is the last failed attempt to reach an external server,
	// what a startup that cannot reach it reports.
	dialErr atomic.Pointer[string]
}

// delayCounts maps a work-stream sequence to its delays. An entry lives
// while its job is queued: settling the job removes it.
type delayCounts struct {
	mu sync.Mutex
	m  map[uint64]int
}

func (d *delayCounts) get(seq uint64) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[seq]
}

func (d *delayCounts) add(seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[uint64]int)
	}
	d.m[seq]++
}

func (d *delayCounts) forget(seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, seq)
}

// Open starts (or connects to) NATS and makes sure both streams exist.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Queue, error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{cfg: cfg, log: log, kick: make(chan struct{}, 1), topoKick: make(chan struct{}, 1), ctl: newControls()}
	var err error
	switch {
	case cfg.URL == "" && (cfg.Replicas > 1 || cfg.Placement != nil):
		return nil, errors.New("queue: replicas above 1 and placement need an external NATS cluster (queue.url)")
	case cfg.URL != "" && cfg.Replicas == 0:
		log.Warn("queue: replicas not configured: new streams get one replica, so one NATS node holds every queued postback and losing it stops ingest (and loses them with its disk); set queue.replicas (3 on a 3-node cluster)")
	}
	if cfg.URL == "" {
		q.srv, q.nc, err = startEmbedded(ctx, cfg, log)
	} else {
		q.nc, err = connectExternal(cfg, log, func(err error) {
			msg := err.Error()
			q.dialErr.Store(&msg)
		})
	}
	if err != nil {
		return nil, err
	}
	q.js, err = jetstream.New(q.nc)
	if err != nil {
		q.shutdown()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	q.ejs, err = jetstream.New(q.nc)
	if err != nil {
		q.shutdown()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	q.hjs, err = jetstream.New(q.nc,
		jetstream.WithPublishAsyncMaxPending(historyWindow),
		jetstream.WithPublishAsyncTimeout(historyAckTTL),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			if f := q.cfg.OnHistoryError; f != nil {
				f(fmt.Errorf("queue: history: %w", err))
			}
		}))
	if err != nil {
		q.shutdown()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	if err := q.ensureStreams(ctx); err != nil {
		// An external server that never answered shows up here as a
		// timeout on the stream request; name the real cause.
		if cfg.URL != "" && !q.nc.IsConnected() {
			cause := "no connection"
			if last := q.dialErr.Load(); last != nil {
				cause = *last
			}
			err = fmt.Errorf("queue: cannot reach NATS at %s (%s): %w", serverHosts(cfg.URL), cause, err)
		}
		q.shutdown()
		return nil, err
	}
	if err := q.checkMarks(ctx); err != nil {
		q.shutdown()
		return nil, err
	}
	q.awaitArchive(ctx)
	// The pauses are known before Run starts any worker, so a paused pair
	// sends nothing after a restart either.
	if err := q.loadControls(ctx); err != nil {
		q.shutdown()
		return nil, err
	}
	return q, nil
}

func (q *Queue) ensureStreams(ctx context.Context) error {
	storage := jetstream.FileStorage
	work, err := q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        q.cfg.Stream,
		Description: "adgate postbacks waiting for delivery",
		Subjects:    []string{q.cfg.Subject + ".pb.>"},
		// WorkQueue: a message is removed once acked; the per-subject
		// consumers never overlap, which WorkQueue requires.
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    storage,
		MaxAge:     q.cfg.MaxAge,
		Duplicates: q.cfg.DuplicateWindow,
		Discard:    jetstream.DiscardNew,
	})
	if err != nil {
		return err
	}
	dead, err := q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        q.cfg.DeadStream,
		Description: "adgate postbacks that failed permanently or exhausted their retries",
		Subjects:    []string{q.cfg.Subject + ".dead.>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     storage,
		MaxAge:      q.cfg.DeadMaxAge,
		Duplicates:  q.cfg.DuplicateWindow,
	})
	if err != nil {
		return err
	}
	events, err := q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        q.cfg.EventStream,
		Description: "adgate events waiting to be rendered by each enabled partner",
		Subjects:    []string{q.cfg.Subject + ".ev.>"},
		// Interest: an event stays until every (app, partner) consumer
		// on its app's subject has rendered it, and is stored only once
		// however many there are.
		Retention:  jetstream.InterestPolicy,
		Storage:    storage,
		MaxAge:     q.cfg.MaxAge,
		Duplicates: q.cfg.DuplicateWindow,
		Discard:    jetstream.DiscardNew,
	})
	if err != nil {
		return err
	}
	hist, err := q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        q.cfg.HistoryStream,
		Description: "adgate delivery history: attempts, skipped postbacks and ingest plans",
		Subjects:    []string{q.cfg.Subject + ".hist.>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     storage,
		MaxAge:      q.cfg.HistoryMaxAge,
		MaxBytes:    q.cfg.HistoryMaxBytes,
		// Full: the oldest records make room, history never refuses.
		Discard: jetstream.DiscardOld,
	})
	if err != nil {
		return err
	}
	archive, err := q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        q.cfg.ArchiveStream,
		Description: "adgate accepted events, kept for rendering dead postbacks again on replay",
		// A mirror: the server copies every event as it is stored, so
		// ingest publishes once, and keeps the event stream's sequence
		// numbers, which jobs record (Job.EventSeq) to find it again.
		// Events only (<prefix>.ev.<app>): the write probe's subject has
		// one token more, and a mirror of it would keep it in the event
		// stream, which drops it at once for want of interest.
		Mirror:    &jetstream.StreamSource{Name: q.cfg.EventStream, FilterSubject: q.cfg.Subject + ".ev.*"},
		Retention: jetstream.LimitsPolicy,
		Storage:   storage,
		MaxAge:    q.cfg.ArchiveMaxAge,
		MaxBytes:  q.cfg.ArchiveMaxBytes,
	})
	if err != nil {
		return err
	}
	control, err := q.ensureKV(ctx, q.cfg.ControlBucket, "adgate controls: which (app, partner) pairs are paused", 0)
	if err != nil {
		return err
	}
	sessions, err := q.ensureKV(ctx, q.cfg.SessionBucket, "adgate console: logged-out sessions, until they would have expired", q.cfg.SessionMaxAge)
	if err != nil {
		return err
	}
	stats, err := q.ensureStatsStream(ctx)
	if err != nil {
		return err
	}
	q.streams.Store(&streamSet{work: work, dead: dead, events: events, hist: hist, archive: archive, control: control, sessions: sessions, stats: stats})
	return nil
}

// streamSet is the work, dead-letter, event, history and archive
// streams and the control bucket.
type streamSet struct {
	work, dead jetstream.Stream
	// events holds accepted events until every partner rendered them.
	events jetstream.Stream
	// hist is the delivery history (see history.go).
	hist jetstream.Stream
	// archive mirrors events, for replays that render again.
	archive jetstream.Stream
	// control holds the pauses (see control.go).
	control jetstream.KeyValue
	// sessions holds the logged-out console sessions (see sessions.go).
	sessions jetstream.KeyValue
	// stats holds the gateway instances' per-minute rollups.
	stats jetstream.Stream
}

// st returns the current stream handles (empty before the first setup).
func (q *Queue) st() *streamSet {
	if s := q.streams.Load(); s != nil {
		return s
	}
	return &streamSet{}
}

// Enqueue stores jobs durably. It returns nil only once JetStream has
// acknowledged every one; a job whose ID was enqueued within the duplicate
// window is stored once. On error some jobs may be stored: enqueueing the
// same jobs again is safe.
func (q *Queue) Enqueue(ctx context.Context, jobs ...Job) error {
	for i := range jobs {
		if err := jobs[i].validate(); err != nil {
			return fmt.Errorf("queue: enqueue: %w", err)
		}
	}
	now := time.Now().UTC()
	msgs := make([]workMsg, len(jobs))
	for i, j := range jobs {
		if j.EnqueuedAt.IsZero() {
			j.EnqueuedAt = now
		}
		msgs[i] = workMsg{
			msg: &nats.Msg{Subject: q.workSubject(j.App, j.Partner), Data: encodeJob(&j), Header: nats.Header{}},
			id:  j.msgID(), what: j.ID,
		}
	}
	return q.storeWork(ctx, msgs)
}

// workMsg is one message for the work stream: a job, or a deferred
// render. id is its Nats-Msg-Id; what names it in errors.
type workMsg struct {
	msg      *nats.Msg
	id, what string
	// others says that no worker of this instance takes it (a hand-over
	// to the instances that render its pair): storing it wakes no
	// discovery, which would only look and start nothing.
	others bool
}

// storeWork publishes msgs to the work stream and returns nil once
// JetStream has acknowledged every one, waking Run's discovery for a
// subject that has no worker yet.
func (q *Queue) storeWork(ctx context.Context, msgs []workMsg) error {
	wake := false
	// Publish asynchronously and collect the acks in chunks: one round trip
	// per chunk instead of per message, within the client's limit on
	// pending async publishes.
	const chunk = 1024
	futures := make([]jetstream.PubAckFuture, 0, min(len(msgs), chunk))
	for start := 0; start < len(msgs); start += chunk {
		futures = futures[:0]
		batch := msgs[start:min(start+chunk, len(msgs))]
		for _, m := range batch {
			if _, ok := q.known.Load(m.msg.Subject); !ok && !m.others {
				wake = true
			}
			f, err := q.js.PublishMsgAsync(m.msg, jetstream.WithMsgID(m.id))
			if err != nil {
				return fmt.Errorf("queue: enqueue %s: %w", m.what, err)
			}
			futures = append(futures, f)
		}
		for i, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("queue: enqueue %s: %w", batch[i].what, err)
			case <-ctx.Done():
				return fmt.Errorf("queue: enqueue: waiting for acks: %w", ctx.Err())
			}
		}
	}
	if wake {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// msgID is the de-duplication id. A replayed job carries its replay count
// so the duplicate window does not drop it, while Job.ID (and so the
// Idempotency-Key) stays the same.
func (j *Job) msgID() string {
	if j.Replays == 0 {
		return j.ID
	}
	return j.ID + ".replay." + strconv.Itoa(j.Replays)
}

// Depth is the queue's backlog, for metrics.
type Depth struct {
	// Pending counts jobs waiting or in flight; Dead counts dead letters.
	Pending uint64
	Dead    uint64
	// ByPartner splits Pending by (app, partner).
	ByPartner map[Key]uint64
	// Events counts accepted events not yet rendered by every partner of
	// their app.
	Events uint64
}

// Key names one (app, partner) pair.
type Key struct{ App, Partner string }

// Depth reports the backlog.
func (q *Queue) Depth(ctx context.Context) (Depth, error) {
	wi, err := q.st().work.Info(ctx, jetstream.WithSubjectFilter(q.cfg.Subject+".pb.>"))
	if err != nil {
		return Depth{}, fmt.Errorf("queue: depth: %w", err)
	}
	di, err := q.st().dead.Info(ctx)
	if err != nil {
		return Depth{}, fmt.Errorf("queue: depth: %w", err)
	}
	ei, err := q.st().events.Info(ctx)
	if err != nil {
		return Depth{}, fmt.Errorf("queue: depth: %w", err)
	}
	// A write probe in flight is not a postback.
	d := Depth{Events: ei.State.Msgs, Pending: wi.State.Msgs - min(wi.State.Msgs, wi.State.Subjects[q.probeSubject()]), Dead: di.State.Msgs, ByPartner: make(map[Key]uint64)}
	for subj, n := range wi.State.Subjects {
		if k, _, ok := q.parseWorkSubject(subj); ok {
			d.ByPartner[k] += n
		}
	}
	// First attempts in flight are postbacks too, though not (yet) in the
	// work stream; in a cluster, each instance counts its own.
	for k, n := range q.firstInFlight() {
		d.ByPartner[k] += uint64(n)
		d.Pending += uint64(n)
	}
	return d, nil
}

// Backlog is one (app, partner) pair's waiting work.
type Backlog struct {
	// Queued counts its postbacks in the work stream, waiting or in
	// flight (a paused pair's wait there), and the first attempts this
	// process has in flight.
	Queued uint64
	// ToRender counts the accepted events its render worker has not
	// rendered yet (less those whose first attempt is in flight).
	ToRender uint64
}

// Backlogs reports the backlog of each of keys.
func (q *Queue) Backlogs(ctx context.Context, keys []Key) (map[Key]Backlog, error) {
	st := q.st()
	wi, err := st.work.Info(ctx, jetstream.WithSubjectFilter(q.cfg.Subject+".pb.>"))
	if err != nil {
		return nil, fmt.Errorf("queue: backlog: %w", err)
	}
	first := q.firstInFlight()
	// unrendered counts the events a consumer has not settled yet.
	unrendered := func(name string) (uint64, error) {
		c, err := st.events.Consumer(ctx, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		ci := c.CachedInfo()
		return ci.NumPending + uint64(ci.NumAckPending), nil
	}
	apps := map[string]uint64{}
	drains := q.drainsNow()
	out := make(map[Key]Backlog, len(keys))
	for _, k := range keys {
		n := uint64(first[k])
		b := Backlog{Queued: wi.State.Subjects[q.workSubject(k.App, k.Partner)] + wi.State.Subjects[q.handoverSubject(k.App, k.Partner)] + n}
		app, ok := apps[k.App]
		if !ok {
			if app, err = unrendered(appConsumerName(k.App)); err != nil {
				return nil, fmt.Errorf("queue: backlog of %s/%s: %w", k.App, k.Partner, err)
			}
			apps[k.App] = app
		}
		pending := app
		if _, ok := drains[k]; ok {
			old, err := unrendered(renderConsumerName(k))
			if err != nil {
				return nil, fmt.Errorf("queue: backlog of %s/%s: %w", k.App, k.Partner, err)
			}
			pending += old
		}
		b.ToRender = pending - min(n, pending)
		out[k] = b
	}
	return out, nil
}

// Connected reports whether the queue's NATS connection is up, for
// readiness checks.
func (q *Queue) Connected() bool { return q.nc.IsConnected() }

// Close disconnects from NATS, draining pending publishes and acks, and
// shuts an embedded server down. Stop Run (cancel its context and wait for
// it) first so in-flight deliveries finish.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	running := q.running
	q.mu.Unlock()
	if !running {
		// Nothing consumes now: the marks are exact (see checkMarks).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		q.markClean(ctx)
		cancel()
	}
	return q.shutdown()
}

func (q *Queue) shutdown() error {
	var err error
	if q.nc != nil && !q.nc.IsClosed() {
		done := make(chan struct{})
		q.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
		if derr := q.nc.Drain(); derr != nil {
			q.nc.Close()
			err = fmt.Errorf("queue: drain: %w", derr)
		} else {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				q.nc.Close()
			}
		}
	}
	if q.srv != nil {
		q.srv.Shutdown()
		q.srv.WaitForShutdown()
	}
	return err
}
