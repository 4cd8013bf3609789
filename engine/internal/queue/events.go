package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Events are stored once per accepted event, in the event stream, on the
// subject <prefix>.ev.<app>. Every app of the topology has one durable
// render consumer on its app's subject, and JetStream's interest retention
// keeps an event until it has been acked: the app's render worker renders
// each event once for every partner of the app, makes their first
// attempts, and acks it once they are settled. Ingest so stores one
// message whatever the number of partners, and the server keeps one
// consumer's state per app, not per partner (with a consumer per pair, at
// 60 partners, nats-server rewrote 60 state files ten times a second and
// delivered and took an ack for every event 60 times).
//
// A partner whose templates are slow does not hold the others back: once
// its renders took more than slowRender in one batch, its render worker
// stops rendering for it for slowFor, and stores the event for it in the
// work stream instead (a deferred render, see deferRender), where the
// pair's delivery worker renders it, at most 1/renderShare of a CPU.
//
// Before this, every (app, partner) pair had a render consumer of its
// own. SetTopology retires those it finds: the app's consumer starts
// after the last event stored then, and each old consumer renders what it
// had not rendered up to that event (its "until", kept in its metadata),
// then is deleted (drainLegacy).

// Event is one accepted event waiting to be rendered by every partner of
// its app.
type Event struct {
	App string
	// ID is the event id the postback ids derive from.
	ID string
	// Received is when ingest accepted the event: the time the postbacks
	// are planned at (windows, EnqueuedAt), whenever they are rendered.
	Received time.Time
	// Raw is the event's JSON, as validated at ingest.
	Raw []byte
	// Seq is the event's sequence in the event stream, set for Render:
	// the same number for every partner rendering the same stored event.
	Seq uint64
	// ConfigVersion is the config that planned the event at ingest, so a
	// render worker can tell that a reload came in between.
	ConfigVersion string
	// Partners are those ingest planned postbacks for. A render worker
	// renders the event for every partner of its app; a planned partner
	// it does not have is left to the instances that have it when the
	// event's config is the newer one (see leaveToOthers). Nil for an
	// event stored by an earlier version.
	Partners []string
}

// Event headers; the app is the subject's.
const (
	hdrEventID  = "Adgate-Event-Id"
	hdrReceived = "Adgate-Received"
	hdrConfig   = "Adgate-Config-Version"
	// hdrPartners is repeated, one planned partner each (escapeToken).
	hdrPartners = "Adgate-Partners"
)

func (q *Queue) eventSubject(app string) string {
	return q.cfg.Subject + ".ev." + escapeToken(app)
}

// eventMsgID de-duplicates a re-sent event within the duplicate window,
// as the postback ids it would produce are.
func eventMsgID(app, id string) string {
	sum := sha256.Sum256([]byte(app + "\x00" + id))
	return "ev-" + hex.EncodeToString(sum[:16])
}

// appConsumerPrefix starts the name of every app's render consumer and
// eventConsumerPrefix that of every per-pair render consumer of earlier
// versions, so SetTopology can tell its own consumers from an operator's.
const (
	appConsumerPrefix   = "eva-"
	eventConsumerPrefix = "ev-"
)

// appConsumerName is the durable render consumer of one app on the event
// stream.
func appConsumerName(app string) string {
	return appConsumerPrefix + strings.TrimPrefix(consumerName(escapeToken(app)), "pb-")
}

// renderConsumerName is the per-pair render consumer of earlier versions.
func renderConsumerName(k Key) string {
	name := consumerName(escapeToken(k.App) + "." + escapeToken(k.Partner))
	return eventConsumerPrefix + strings.TrimPrefix(name, "pb-")
}

// mdUntil is the metadata key of a per-pair render consumer being
// retired: the last event sequence it renders.
const mdUntil = "adgate_render_until"

// Publish stores events durably, once each whatever the number of
// partners their app enables. It returns nil only once JetStream has
// acknowledged every one; an event whose (app, id) was published within
// the duplicate window is stored once. An event of an app with no
// consumer in the topology is not kept (interest retention): set the
// topology first.
func (q *Queue) Publish(ctx context.Context, evs ...Event) error {
	futures := make([]jetstream.PubAckFuture, 0, len(evs))
	for _, ev := range evs {
		if ev.App == "" || ev.ID == "" {
			return errors.New("queue: publish: event without app or id")
		}
		msg := &nats.Msg{Subject: q.eventSubject(ev.App), Data: ev.Raw, Header: nats.Header{}}
		msg.Header.Set(hdrEventID, ev.ID)
		msg.Header.Set(hdrReceived, strconv.FormatInt(ev.Received.UnixNano(), 10))
		if ev.ConfigVersion != "" {
			msg.Header.Set(hdrConfig, ev.ConfigVersion)
		}
		for _, p := range ev.Partners {
			msg.Header.Add(hdrPartners, escapeToken(p))
		}
		f, err := q.ejs.PublishMsgAsync(msg, jetstream.WithMsgID(eventMsgID(ev.App, ev.ID)))
		if err != nil {
			return fmt.Errorf("queue: publish event %s: %w", ev.ID, err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("queue: publish event %s: %w", evs[i].ID, err)
		case <-ctx.Done():
			return fmt.Errorf("queue: publish: waiting for acks: %w", ctx.Err())
		}
	}
	return nil
}

func decodeEvent(msg jetstream.Msg, app string) (Event, error) {
	md, err := msg.Metadata()
	if err != nil {
		return Event{}, fmt.Errorf("event message without metadata: %w", err)
	}
	return eventOf(app, msg.Headers(), msg.Data(), md.Sequence.Stream)
}

// eventOf reads a stored event: the event stream's messages and the
// archive's are the same.
func eventOf(app string, h nats.Header, data []byte, seq uint64) (Event, error) {
	ev := Event{App: app, ID: h.Get(hdrEventID), Raw: data, ConfigVersion: h.Get(hdrConfig), Seq: seq}
	ns, err := strconv.ParseInt(h.Get(hdrReceived), 10, 64)
	if err != nil || ev.ID == "" {
		return Event{}, fmt.Errorf("event message without %s or %s header", hdrEventID, hdrReceived)
	}
	ev.Received = time.Unix(0, ns).UTC()
	if ps := h.Values(hdrPartners); len(ps) > 0 {
		ev.Partners = make([]string, len(ps))
		for i, t := range ps {
			p, ok := unescapeToken(t)
			if !ok {
				return Event{}, fmt.Errorf("event message with a bad %s header %q", hdrPartners, t)
			}
			ev.Partners[i] = p
		}
	}
	return ev, nil
}

// Topology is the set of (app, partner) pairs that render events: one
// durable consumer each on the event stream.
type Topology struct {
	// Partners are the pairs this process renders: each gets a consumer
	// and, while Run runs, a render worker.
	Partners []Key
	// Remove are pairs whose consumers are deleted, with the events they
	// had not rendered yet: the pairs a reload disabled. A consumer in
	// neither list is left alone (another instance sharing the queue may
	// use it), and reported.
	Remove []Key
	// Version is the config version the pairs are of. SetTopology
	// records when it first went live (in the control bucket, for every
	// instance sharing the queue), and the render workers compare it with
	// the version that planned each event (leaveToOthers). Empty: this
	// process leaves every planned partner it does not have to others.
	Version string
}

// SetTopology makes the streams and the render consumers match t: it
// creates the streams if missing, a render consumer for every app of
// Partners, and deletes those of apps left without partners. Run starts
// and stops the render workers to match Partners; an app's worker renders
// for the partners listed now, read for every event.
//
// A reload that changes the pairs calls it twice: with the union of the
// old and new pairs before the new config takes ingest traffic, so no
// event planned for a pair is published before it renders, and with the
// new pairs, removing the dropped ones, after.
func (q *Queue) SetTopology(ctx context.Context, t Topology) error {
	if err := q.ensureStreams(ctx); err != nil {
		return err
	}
	keys := slices.Clone(t.Partners)
	slices.SortFunc(keys, compareKeys)
	keys = slices.Compact(keys)
	apps := map[string]bool{}
	for _, k := range keys {
		apps[k.App] = true
	}
	known := make(map[string]bool, len(apps))
	appInfo := make(map[string]*jetstream.ConsumerInfo, len(apps))
	for app := range apps {
		c, err := q.appConsumer(ctx, app)
		if err != nil {
			return fmt.Errorf("queue: render consumer for app %s: %w", app, err)
		}
		ci := c.CachedInfo()
		appInfo[app] = ci
		known[ci.Name] = true
	}
	for _, k := range t.Remove {
		if apps[k.App] || known[appConsumerName(k.App)] {
			continue
		}
		name := appConsumerName(k.App)
		known[name] = true
		if err := q.st().events.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("queue: deleting render consumer %s: %w", name, err)
		}
		q.log.Info("queue: render consumer removed; its unrendered events are dropped", "app", k.App, "consumer", name)
	}
	// The per-pair consumers of earlier versions: those of pairs still
	// rendered are drained, those of removed pairs deleted.
	pairs := map[string]Key{}
	for _, k := range append(slices.Clone(keys), t.Remove...) {
		pairs[renderConsumerName(k)] = k
	}
	drains := map[Key]uint64{}
	names := q.st().events.ConsumerNames(ctx)
	for name := range names.Name() {
		k, isPair := pairs[name]
		switch {
		case isPair && slices.Contains(keys, k):
			until, err := q.retireLegacy(ctx, name, appInfo[k.App])
			if err != nil {
				return fmt.Errorf("queue: retiring render consumer %s of %s/%s: %w", name, k.App, k.Partner, err)
			}
			drains[k] = until
			known[name] = true
		case isPair:
			if err := q.st().events.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return fmt.Errorf("queue: deleting render consumer %s: %w", name, err)
			}
			q.log.Info("queue: render consumer removed; its unrendered events are dropped", "app", k.App, "partner", k.Partner, "consumer", name)
			known[name] = true
		case (strings.HasPrefix(name, eventConsumerPrefix) || strings.HasPrefix(name, appConsumerPrefix)) && !known[name]:
			q.log.Warn("queue: a render consumer no app of this config uses keeps its events until they expire", "stream", q.cfg.EventStream, "consumer", name,
				"fix", "if no other adgate instance sharing this queue renders for it (an app or partner disabled while adgate was stopped), delete it: nats consumer rm "+q.cfg.EventStream+" "+name)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("queue: listing render consumers: %w", err)
	}
	if t.Version != "" {
		if err := q.registerConfig(ctx, t.Version, time.Now().UTC()); err != nil {
			return err
		}
	}
	q.topoMu.Lock()
	q.topo = keys
	q.topoVersion = t.Version
	q.drains = drains
	var applied chan struct{}
	if q.topoLive {
		if q.topoApplied == nil {
			q.topoApplied = make(chan struct{})
		}
		applied = q.topoApplied
	}
	q.topoMu.Unlock()
	select {
	case q.topoKick <- struct{}{}:
	default:
	}
	if applied == nil {
		return nil
	}
	select {
	case <-applied:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue: waiting for the render workers to follow the topology: %w", ctx.Err())
	}
}

// topology returns the pairs that render, the per-pair consumers being
// drained and, when a SetTopology waits for them to be applied, the
// channel to close once they are.
func (q *Queue) topology() ([]Key, map[Key]uint64, chan struct{}) {
	q.topoMu.Lock()
	defer q.topoMu.Unlock()
	applied := q.topoApplied
	q.topoApplied = nil
	return q.topo, q.drains, applied
}

// drainsNow returns the per-pair consumers being drained.
func (q *Queue) drainsNow() map[Key]uint64 {
	q.topoMu.Lock()
	defer q.topoMu.Unlock()
	return q.drains
}

// partnersOf appends the partners of app that render now to dst, and
// returns the config version they are of.
func (q *Queue) partnersOf(app string, dst []string) ([]string, string) {
	q.topoMu.Lock()
	defer q.topoMu.Unlock()
	i, _ := slices.BinarySearchFunc(q.topo, app, func(k Key, app string) int { return strings.Compare(k.App, app) })
	for ; i < len(q.topo) && q.topo[i].App == app; i++ {
		dst = append(dst, q.topo[i].Partner)
	}
	return dst, q.topoVersion
}

// renders reports whether k is a pair of the topology.
func (q *Queue) renders(k Key) bool {
	q.topoMu.Lock()
	defer q.topoMu.Unlock()
	_, ok := slices.BinarySearchFunc(q.topo, k, compareKeys)
	return ok
}

// compareKeys orders the topology's pairs by app, then partner.
func compareKeys(a, b Key) int {
	if c := strings.Compare(a.App, b.App); c != 0 {
		return c
	}
	return strings.Compare(a.Partner, b.Partner)
}

// drained records that the per-pair consumer of k is gone.
func (q *Queue) drained(k Key) {
	q.topoMu.Lock()
	defer q.topoMu.Unlock()
	if _, ok := q.drains[k]; ok {
		d := maps.Clone(q.drains)
		delete(d, k)
		q.drains = d
	}
}

// setTopoLive records whether Run's render workers follow the topology;
// when they stop, a SetTopology waiting for them is released.
func (q *Queue) setTopoLive(live bool) {
	q.topoMu.Lock()
	defer q.topoMu.Unlock()
	q.topoLive = live
	if !live && q.topoApplied != nil {
		close(q.topoApplied)
		q.topoApplied = nil
	}
}

// appConsumer makes sure the render consumer of app exists, through
// ensureConsumer like every consumer: the event stream's replicas, an
// operator's changes kept, concurrent starts retried. A new one starts
// after the last event stored now, which the per-pair consumers of
// earlier versions render (retireLegacy); it records that sequence as its
// start.
func (q *Queue) appConsumer(ctx context.Context, app string) (jetstream.Consumer, error) {
	info, err := q.st().events.Info(ctx)
	if err != nil {
		return nil, err
	}
	return q.ensureConsumer(ctx, q.st().events, jetstream.ConsumerConfig{
		Durable:       appConsumerName(app),
		Description:   "adgate rendering for app " + app,
		FilterSubject: q.eventSubject(app),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		// A consumer made by a reload that enables an app renders the
		// events accepted from then on.
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   info.State.LastSeq + 1,
		MaxDeliver:    -1, // the render worker bounds deliveries itself
		MaxAckPending: 10000,
	})
}

// retireLegacy marks a per-pair render consumer of an earlier version to
// render up to the event before start, where its app's consumer begins,
// and returns that last sequence. One that already has its mark keeps it;
// one made after the app's consumer (an instance of an earlier version
// sharing the queue made it again) renders up to the last event stored
// now: the events in between are rendered by both, at least once.
func (q *Queue) retireLegacy(ctx context.Context, name string, app *jetstream.ConsumerInfo) (uint64, error) {
	c, err := q.st().events.Consumer(ctx, name)
	if err != nil {
		return 0, err
	}
	ci := c.CachedInfo()
	if v, ok := ci.Config.Metadata[mdUntil]; ok {
		if until, err := strconv.ParseUint(v, 10, 64); err == nil {
			return until, nil
		}
	}
	start := app.Config.OptStartSeq
	until := start - min(start, 1)
	if ci.Created.After(app.Created) {
		info, err := q.st().events.Info(ctx)
		if err != nil {
			return 0, err
		}
		until = info.State.LastSeq
	}
	cfg := ci.Config
	cfg.Metadata = maps.Clone(cfg.Metadata)
	if cfg.Metadata == nil {
		cfg.Metadata = map[string]string{}
	}
	cfg.Metadata[mdUntil] = strconv.FormatUint(until, 10)
	if _, err := q.st().events.UpdateConsumer(ctx, cfg); err != nil {
		return 0, err
	}
	q.log.Info("queue: retiring a per-partner render consumer: it renders what it had not up to its last event, then is deleted", "consumer", name, "until", until)
	return until, nil
}

// Renderer turns an event into the postbacks of one (app, partner) pair.
// It returns the jobs to enqueue (none when the partner sends nothing for
// the event: it records why itself), or an error to have the event
// delivered again later. It must return soon after ctx ends.
type Renderer interface {
	Render(ctx context.Context, k Key, ev Event) ([]Job, error)
}

// renderBatch is the most events one render worker takes at once; what
// their postbacks leave to the work stream is enqueued together.
const renderBatch = 64

// renderLinger is how long a render worker that found a single event
// waits for others to join its batch, for 5 ms more delivery latency.
// gatebench, one partner at 1,000 events/s, 3 rounds against the same
// build without it: 713 to 577 us of CPU per event; 20 ms saved no more.
const renderLinger = 5 * time.Millisecond

// slowRender, slowFor and renderShare bound what one partner's slow
// templates take from the others: a partner whose renders took more than
// slowRender of CPU in one batch has its events deferred (stored for its
// delivery worker to render) for slowFor, and a delivery worker whose
// render took more than slowRender/renderShare of CPU pauses
// renderShare-1 times as long, so a slow partner gets at most
// 1/renderShare of a CPU. Templates
// that render in microseconds never come near: 64 of them take a
// millisecond, and a render worker preempted once or twice stays below.
const (
	slowRender  = 20 * time.Millisecond
	slowFor     = 30 * time.Second
	renderShare = 4
)

// renderSource is what one render worker consumes: its app's consumer,
// or a per-pair consumer of an earlier version being drained (legacy),
// which renders the events up to until for its partner only.
type renderSource struct {
	app    string
	legacy *Key
	until  uint64
	// slowUntil is, per partner, until when its events are deferred.
	slowUntil map[string]time.Time
	// handedOver is, per partner handed over, until when that is not
	// logged again.
	handedOver map[string]time.Time
	// settled lists, per event given back because another partner's
	// postbacks could not be stored, the partners whose share of it was
	// settled (delivered, dead-lettered or stored): its next delivery
	// renders it for the others only, so a partner's delivered postback
	// is not sent again for another's failure. Lost on a restart: the
	// event is then rendered for every partner again, at least once.
	// An entry whose event another instance took (a cluster) is never
	// forgotten by its settling here: past settledKeep entries, those
	// older than settledAge go.
	mu      sync.Mutex
	settled map[uint64]settledShare
}

// settledShare is the partners whose share of one event is settled.
type settledShare struct {
	partners []string
	at       time.Time
}

// settledKeep and settledAge bound renderSource.settled: an event given
// back is delivered again within a second, by this instance or another.
const (
	settledKeep = 4096
	settledAge  = time.Hour
)

// settledFor returns the partners whose share of the event seq is settled.
func (src *renderSource) settledFor(seq uint64) []string {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.settled[seq].partners
}

// setSettled records the partners whose share of the event seq is
// settled; none forgets the event.
func (src *renderSource) setSettled(seq uint64, partners []string) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(partners) == 0 {
		delete(src.settled, seq)
		return
	}
	if src.settled == nil {
		src.settled = map[uint64]settledShare{}
	}
	now := time.Now()
	if len(src.settled) >= settledKeep {
		for s, e := range src.settled {
			if now.Sub(e.at) > settledAge {
				delete(src.settled, s)
			}
		}
	}
	src.settled[seq] = settledShare{partners, now}
}

// partners appends the partners src renders to dst, and returns the
// config version they are of ("" for a legacy source).
func (src *renderSource) partners(q *Queue, dst []string) ([]string, string) {
	if src.legacy != nil {
		return append(dst, src.legacy.Partner), ""
	}
	return q.partnersOf(src.app, dst)
}

// deferring reports whether partner's events are deferred now.
func (src *renderSource) deferring(partner string, now time.Time) bool {
	return now.Before(src.slowUntil[partner])
}

// renderWorker renders the events of one source: it fetches a batch,
// renders each event for every partner, makes the first attempts of the
// postbacks (firstAttempts), and acks an event only once each of its
// postbacks was delivered, dead-lettered or stored, so a crash at any
// point leaves the event to be rendered again (the postback ids, and so
// the de-duplication, are the same).
func (q *Queue) renderWorker(ctx, hctx context.Context, src *renderSource, r Renderer, h Handler, att *runner) {
	var cons jetstream.Consumer
	var retry backoff
	live := newLiveSet(q.cfg.AckWait)
	stop := live.run()
	defer stop()
	// Batches whose first attempts are still under way: their events
	// stay alive (live) until they are settled.
	var pending sync.WaitGroup
	defer pending.Wait()
	src.slowUntil = map[string]time.Time{}
	src.handedOver = map[string]time.Time{}
	var checked time.Time // when a legacy source last looked whether it is done
	for ctx.Err() == nil {
		if cons == nil {
			c, err := q.renderSourceConsumer(ctx, src)
			if src.legacy != nil && errors.Is(err, jetstream.ErrConsumerNotFound) {
				q.drained(*src.legacy)
				return
			}
			if err != nil {
				if ctx.Err() == nil {
					q.log.Warn("queue: render consumer", "app", src.app, "err", err)
				}
				if !retry.wait(ctx) {
					return
				}
				continue
			}
			cons = c
		}
		// Wait for one event, then take what else is there without
		// waiting: a batch that waited to fill would hold its first event
		// back for the whole pull. When nothing else is there yet, linger
		// for renderLinger first: at a moderate rate each event came
		// alone, and paid for a pull, a wake-up of every stage and its
		// own ack round trips by itself.
		msgs, err := q.fetch(cons, 1, false, live, nil)
		if err == nil && len(msgs) > 0 {
			more := morePending(msgs[0])
			if !more {
				more = sleepCtx(ctx, renderLinger)
			}
			if more {
				msgs, err = q.fetch(cons, renderBatch-1, true, live, msgs)
			}
		}
		if len(msgs) > 0 {
			q.renderMsgs(ctx, hctx, src, r, h, att, msgs, live, &pending)
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			q.log.Warn("queue: fetch events", "app", src.app, "err", err)
			if q.lostConsumer(ctx, err) {
				cons = nil
			}
			if !retry.wait(ctx) {
				return
			}
			continue
		}
		retry.reset()
		if src.legacy != nil && time.Since(checked) > time.Second {
			checked = time.Now()
			if q.legacyDone(ctx, cons, src) {
				return
			}
		}
	}
}

// renderSourceConsumer returns the consumer src reads.
func (q *Queue) renderSourceConsumer(ctx context.Context, src *renderSource) (jetstream.Consumer, error) {
	if src.legacy == nil {
		return q.appConsumer(ctx, src.app)
	}
	return q.st().events.Consumer(ctx, renderConsumerName(*src.legacy))
}

// legacyDone deletes a per-pair consumer that has rendered every event up
// to its until, and reports whether it did.
func (q *Queue) legacyDone(ctx context.Context, cons jetstream.Consumer, src *renderSource) bool {
	ci, err := cons.Info(ctx)
	// Done once every event up to until was delivered (or none is left
	// to deliver: the stream's last events may be other apps') and none
	// waits for its ack or a redelivery.
	if err != nil || (ci.Delivered.Stream < src.until && ci.NumPending > 0) || ci.NumAckPending > 0 || ci.NumRedelivered > 0 {
		return false
	}
	if err := q.st().events.DeleteConsumer(ctx, ci.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		q.log.Warn("queue: deleting a drained per-partner render consumer", "consumer", ci.Name, "err", err)
		return false
	}
	q.log.Info("queue: per-partner render consumer drained and deleted; its app's consumer renders for it", "app", src.legacy.App, "partner", src.legacy.Partner, "consumer", ci.Name)
	q.drained(*src.legacy)
	return true
}

// morePending reports whether the consumer had more events when msg was
// delivered, so a second pull can only come back empty when it did not.
func morePending(msg jetstream.Msg) bool {
	md, err := msg.Metadata()
	return err != nil || md.NumPending > 0
}

// fetch appends up to n events to msgs, waiting for the first one unless
// noWait, and keeps them alive from their arrival.
func (q *Queue) fetch(cons jetstream.Consumer, n int, noWait bool, live *liveSet, msgs []jetstream.Msg) ([]jetstream.Msg, error) {
	var (
		batch jetstream.MessageBatch
		err   error
	)
	if noWait {
		batch, err = cons.FetchNoWait(n)
	} else {
		batch, err = cons.Fetch(n, jetstream.FetchMaxWait(fetchWait))
	}
	if err != nil {
		return msgs, err
	}
	for msg := range batch.Messages() {
		live.add(msg)
		msgs = append(msgs, msg)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return msgs, err
	}
	return msgs, nil
}

// renderMsgs renders one fetched batch for every partner of its source,
// makes the first attempts of the postbacks (firstAttempts, under each
// partner's concurrency limit) and stores the deferred renders
// (deferRender). With several partners each renders on a goroutine of
// its own, so a partner whose render does not return within renderStuck
// holds the others back no longer: its events are deferred, and what it
// renders late is dropped. It waits for the partners' first attempts to
// be under way for startWait at most (they may wait up to stuckAfter for
// a partner's slots): the next batch goes on for the others meanwhile.
// The batch's events are settled once all of that is, on goroutines that
// pending tracks.
func (q *Queue) renderMsgs(ctx, hctx context.Context, src *renderSource, r Renderer, h Handler, att *runner, msgs []jetstream.Msg, live *liveSet, pending *sync.WaitGroup) {
	var (
		evs  []Event
		done []jetstream.Msg // rendered: acked once their postbacks are settled
	)
	settle := func(msg jetstream.Msg, ack bool, delay time.Duration) {
		live.remove(msg)
		if ack {
			_ = msg.Ack()
		} else {
			_ = msg.NakWithDelay(delay)
		}
	}
	for _, msg := range msgs {
		if ctx.Err() != nil {
			settle(msg, false, 0) // stopping: rendered by the next run
			continue
		}
		ev, err := decodeEvent(msg, src.app)
		if err == nil && src.legacy != nil && ev.Seq > src.until {
			// The app's consumer renders it (however often this one
			// was given it: no loss to report).
			settle(msg, true, 0)
			continue
		}
		if err == nil {
			if md, merr := msg.Metadata(); merr == nil && int(md.NumDelivered) > q.cfg.MaxDeliver {
				err = fmt.Errorf("delivered %d times without being rendered (max %d)", md.NumDelivered-1, q.cfg.MaxDeliver)
			}
		}
		if err != nil {
			// Nothing renders it; keeping it would only hold the stream.
			q.log.Error("queue: dropping an event that cannot be rendered", "app", src.app, "event_id", ev.ID, "err", err)
			q.reportLoss(Loss{Stream: q.cfg.EventStream, Reason: "unrenderable", Msgs: 1, Bytes: uint64(len(msg.Data())), Detail: err.Error()})
			if md, merr := msg.Metadata(); merr == nil {
				src.setSettled(md.Sequence.Stream, nil)
			}
			live.remove(msg)
			_ = msg.Term()
			continue
		}
		evs = append(evs, ev)
		done = append(done, msg)
	}
	if len(done) == 0 {
		return
	}
	// Read after the fetch: a partner a reload dropped renders nothing
	// fetched once SetTopology returned.
	partners, version := src.partners(q, nil)
	local := len(partners)

	// todo[p] lists the events partner p renders: those whose share
	// for p an earlier delivery did not settle (src.settled). A partner
	// an event was planned for that this instance does not render, by a
	// newer config of another instance, is added to partners after the
	// local ones, and its share handed over: stored for the pair's
	// hand-over worker, which only instances that render the pair run.
	todo := make(map[string][]int, len(partners))
	for i, ev := range evs {
		had := src.settledFor(ev.Seq)
		for _, p := range partners[:local] {
			if !slices.Contains(had, p) {
				todo[p] = append(todo[p], i)
			}
		}
		if src.legacy != nil || len(ev.Partners) == 0 {
			continue
		}
		for _, p := range ev.Partners {
			if slices.Contains(partners[:local], p) || slices.Contains(had, p) || !q.leaveToOthers(ev.ConfigVersion, version) {
				continue
			}
			if len(todo[p]) == 0 {
				partners = append(partners, p)
			}
			todo[p] = append(todo[p], i)
		}
	}

	// The batch's events are settled once every part reported: each
	// partner's first attempts, and the deferred renders. A part reports
	// which of its postbacks may not be stored; an event with one of
	// those is rendered again, for the partners they are of (again): an
	// event whose postbacks were all settled is not sent again for
	// another's failure, nor a partner's share of an event for another
	// partner's. parts starts at 1, the hold of this function, released
	// once every part was added: a group's, when its renders are used.
	var (
		mu    sync.Mutex
		parts = 1
		again = make([][]string, len(done))
		errs  []error
	)
	addPart := func() {
		mu.Lock()
		parts++
		mu.Unlock()
	}
	finish := func(owner func(int) (int, string), unsaved []bool, err error) {
		mu.Lock()
		for x, u := range unsaved {
			if i, p := owner(x); u && !slices.Contains(again[i], p) {
				again[i] = append(again[i], p)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
		parts--
		last := parts == 0
		mu.Unlock()
		if !last {
			return
		}
		if len(errs) > 0 {
			n := 0
			for _, a := range again {
				if len(a) > 0 {
					n++
				}
			}
			q.log.Warn("queue: storing rendered postbacks failed; rendering their events again later", "app", src.app, "events", n, "err", errors.Join(errs...))
		}
		for i, msg := range done {
			var ok []string
			if len(again[i]) > 0 {
				for _, p := range partners {
					if !slices.Contains(again[i], p) {
						ok = append(ok, p)
					}
				}
			}
			src.setSettled(evs[i].Seq, ok)
			settle(msg, len(again[i]) == 0, time.Second)
		}
	}

	var deferred []deferredRender
	deferAll := func(k Key, idx []int) {
		for _, i := range idx {
			deferred = append(deferred, deferredRender{k: k, ev: evs[i], owner: i})
		}
	}
	handOver := func(k Key, idx []int) {
		for _, i := range idx {
			deferred = append(deferred, deferredRender{k: k, ev: evs[i], owner: i, handover: true})
		}
	}
	now := time.Now()
	var groups []*renderGroup
	for x, p := range partners {
		k := Key{src.app, p}
		if len(todo[p]) == 0 {
			continue
		}
		if x >= local {
			handOver(k, todo[p])
			if now.After(src.handedOver[p]) {
				src.handedOver[p] = now.Add(time.Minute)
				q.log.Info("queue: events planned by a newer config for a partner this instance does not render: handing its share over to the instances that do (logged once a minute)",
					"app", src.app, "partner", p, "config_version", version)
			}
			continue
		}
		if src.deferring(p, now) {
			deferAll(k, todo[p])
			continue
		}
		g := &renderGroup{k: k, idx: todo[p], rendered: make(chan struct{}), started: make(chan struct{})}
		groups = append(groups, g)
		run := func() {
			defer close(g.started)
			// The part and pending are added before the worker learns
			// the renders are used, so neither the batch's settling nor
			// the worker's end can come before the first attempts.
			used := g.render(q, hctx, r, evs, func() {
				if len(g.jobs) > 0 {
					addPart()
					pending.Add(1)
				}
			})
			if !used || len(g.jobs) == 0 {
				return // abandoned (its events were deferred), or nothing to send
			}
			defer pending.Done()
			q.firstAttempts(ctx, hctx, g.k, h, att, g.jobs, pending, func(unsaved []bool, err error) {
				finish(func(i int) (int, string) { return g.owner[i], g.k.Partner }, unsaved, err)
			})
		}
		if local == 1 {
			// Nothing to hold back: no goroutine.
			run()
		} else {
			att.run(run)
		}
	}
	stuck := time.NewTimer(renderStuck)
	defer stuck.Stop()
	for _, g := range groups {
		select {
		case <-g.rendered:
		case <-stuck.C:
			// Expired: every later group is asked without waiting.
			stuck.Reset(0)
		}
		if g.abandon() {
			q.log.Warn("queue: a partner's render did not return in time: its events are rendered by its delivery worker for a while", "app", g.k.App, "partner", g.k.Partner, "waited", renderStuck.String(), "for", slowFor.String())
			src.slowUntil[g.k.Partner] = time.Now().Add(slowFor)
			deferAll(g.k, g.idx)
			continue
		}
		if g.slow >= 0 {
			q.log.Warn("queue: a partner's templates are slow: its events are rendered by its delivery worker for a while", "app", g.k.App, "partner", g.k.Partner, "for", slowFor.String())
			src.slowUntil[g.k.Partner] = time.Now().Add(slowFor)
			deferAll(g.k, g.idx[g.slow:])
		}
		for _, i := range g.failed {
			deferred = append(deferred, deferredRender{k: g.k, ev: evs[i], owner: i})
		}
	}
	if len(deferred) > 0 {
		addPart()
		pending.Add(1)
		go func() {
			defer pending.Done()
			unsaved, err := q.deferRender(hctx, deferred)
			finish(func(i int) (int, string) { return deferred[i].owner, deferred[i].k.Partner }, unsaved, err)
		}()
	}
	finish(nil, nil, nil)
	// The next batch waits until the partners' first attempts are under
	// way, for startWait at most: when the attempts cannot keep up (the
	// CPU is the limit), fetching on would only pile postbacks up for the
	// work stream; a partner that alone is slower than its events goes on
	// waiting for its slots in the background, and holds the others back
	// by startWait a batch at most.
	wait := time.NewTimer(startWait)
	defer wait.Stop()
	for _, g := range groups {
		select {
		case <-g.started:
		case <-wait.C:
			return
		}
	}
}

// startWait bounds how long an app's render worker waits for a batch's
// first attempts to be under way before it fetches the next batch.
const startWait = 250 * time.Millisecond

// renderStuck is how long an app's render worker waits for one partner's
// renders of a batch before it goes on without them.
const renderStuck = time.Second

// renderGroup is one partner's part of a batch.
type renderGroup struct {
	k Key
	// idx are the indexes of the batch's events it renders.
	idx []int
	// jobs are its postbacks; owner[i] is the index of jobs[i]'s event.
	jobs  []Job
	owner []int
	// failed lists the events whose render failed; slow, when not -1,
	// is the place in idx of the first event not rendered because the
	// partner's renders took more than slowRender.
	failed []int
	slow   int
	// rendered is closed once the renders are done and used, started
	// once the first attempts are under way (or none is to be made).
	rendered, started chan struct{}
	mu                sync.Mutex
	finished          bool // renders done in time
	abandoned         bool // the worker went on without them
}

// render renders g's events of evs for g's partner and reports whether
// its results are used: false if the worker went on without them
// (abandon). used runs, when they are, before the worker can tell.
func (g *renderGroup) render(q *Queue, ctx context.Context, r Renderer, evs []Event, used func()) bool {
	g.slow = -1
	// CPU time, not the clock's: on a busy machine a render that waited
	// for a CPU is not slow (see threadCPU). The clock, which costs no
	// system call, says when to look.
	runtime.LockOSThread()
	cpu0, t0 := threadCPU(), time.Now()
	spent := func() time.Duration { return threadCPU() - cpu0 }
	for x, i := range g.idx {
		if time.Since(t0) > slowRender && spent() > slowRender {
			g.slow = x
			break
		}
		ev := evs[i]
		js, err := q.render(ctx, r, g.k, ev)
		if err != nil {
			// Its delivery worker renders it again, with retries.
			q.log.Warn("queue: rendering deferred", "app", g.k.App, "partner", g.k.Partner, "event_id", ev.ID, "err", err)
			g.failed = append(g.failed, i)
			continue
		}
		for j := range js {
			// What finds the event again in the archive, for a
			// replay that renders anew.
			js[j].EventSeq = ev.Seq
			g.owner = append(g.owner, i)
		}
		g.jobs = append(g.jobs, js...)
	}
	if g.slow < 0 && time.Since(t0) > slowRender && spent() > slowRender {
		g.slow = len(g.idx) // nothing left in this batch; the next ones are deferred
	}
	runtime.UnlockOSThread()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.abandoned {
		return false
	}
	g.finished = true
	used()
	close(g.rendered)
	return true
}

// abandon gives up on g's renders unless they are done, and reports
// whether it did.
func (g *renderGroup) abandon() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.finished {
		g.abandoned = true
	}
	return g.abandoned
}

// render calls the renderer, turning a panic into an error: the event is
// rendered again later, and dropped after MaxDeliver deliveries.
func (q *Queue) render(ctx context.Context, r Renderer, k Key, ev Event) (jobs []Job, err error) {
	defer func() {
		if p := recover(); p != nil {
			q.log.Error("queue: renderer panicked", "app", k.App, "partner", k.Partner, "event_id", ev.ID, "panic", fmt.Sprint(p))
			jobs, err = nil, errors.New("internal error: renderer panicked")
		}
	}()
	return r.Render(ctx, k, ev)
}

// renderWorkers keeps one render worker per topology app, and one per
// per-pair consumer being drained, while Run runs.
type renderWorkers struct {
	q       *Queue
	r       Renderer
	h       Handler
	att     *runner // runs the first attempts
	hctx    context.Context
	wg      sync.WaitGroup
	running map[string]context.CancelFunc // by app
	// legacy are the workers draining per-pair consumers. One ends by
	// itself once its consumer is drained and deleted (done is then
	// closed); a consumer of the pair made again later (by an instance
	// of the earlier version) needs a worker of its own.
	legacy map[Key]renderRun
}

// renderRun is one render worker started by sync.
type renderRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// ended reports whether the worker returned by itself.
func (l renderRun) ended() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// sync starts the workers of new apps and stops those of removed ones.
func (w *renderWorkers) sync(ctx context.Context) {
	keys, drains, applied := w.q.topology()
	if applied != nil {
		// The workers of dropped apps are cancelled below, before any
		// event published after SetTopology returns can reach them:
		// renderMsgs checks its context before each event.
		defer close(applied)
	}
	start := func(src *renderSource) renderRun {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer close(done)
			w.q.renderWorker(wctx, w.hctx, src, w.r, w.h, w.att)
		}()
		return renderRun{cancel, done}
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k.App] = true
		if w.running[k.App] == nil {
			w.running[k.App] = start(&renderSource{app: k.App}).cancel
		}
	}
	for app, cancel := range w.running {
		if !want[app] {
			cancel()
			delete(w.running, app)
		}
	}
	for k, until := range drains {
		if l, ok := w.legacy[k]; !ok || l.ended() {
			w.legacy[k] = start(&renderSource{app: k.App, legacy: &k, until: until})
		}
	}
	for k, l := range w.legacy {
		if _, ok := drains[k]; !ok {
			l.cancel()
			delete(w.legacy, k)
		}
	}
}
