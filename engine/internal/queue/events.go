package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Events are stored once per accepted event, in the event stream, on the
// subject <prefix>.ev.<app>. Every (app, partner) pair of the topology has
// a durable consumer on its app's subject, and JetStream's interest
// retention keeps an event until each of those consumers has acked it:
// each partner renders its own postbacks from the event in its own
// worker, so ingest stores one message whatever the number of partners,
// and a slow or failing template holds back only its own partner.

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
}

// Event headers; the app is the subject's.
const (
	hdrEventID  = "Adgate-Event-Id"
	hdrReceived = "Adgate-Received"
	hdrConfig   = "Adgate-Config-Version"
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

// eventConsumerPrefix starts the name of every render consumer, so
// SetTopology can tell its own consumers from an operator's.
const eventConsumerPrefix = "ev-"

// renderConsumerName is the durable consumer of one (app, partner) pair on
// the event stream.
func renderConsumerName(k Key) string {
	name := consumerName(escapeToken(k.App) + "." + escapeToken(k.Partner))
	return eventConsumerPrefix + strings.TrimPrefix(name, "pb-")
}

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
		f, err := q.js.PublishMsgAsync(msg, jetstream.WithMsgID(eventMsgID(ev.App, ev.ID)))
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
}

// SetTopology makes the streams and the render consumers match t: it
// creates the streams if missing, a consumer for every pair of Partners,
// and deletes those of Remove. Run starts and stops the render workers to
// match Partners.
//
// A reload that changes the pairs calls it twice: with the union of the
// old and new pairs before the new config takes ingest traffic, so no
// event planned for a pair is published before that pair's consumer
// exists, and with the new pairs, removing the dropped ones, after.
func (q *Queue) SetTopology(ctx context.Context, t Topology) error {
	if err := q.ensureStreams(ctx); err != nil {
		return err
	}
	keys := slices.Clone(t.Partners)
	slices.SortFunc(keys, func(a, b Key) int {
		return strings.Compare(a.App+"\x00"+a.Partner, b.App+"\x00"+b.Partner)
	})
	keys = slices.Compact(keys)
	known := make(map[string]bool, len(keys)+len(t.Remove))
	for _, k := range keys {
		if _, err := q.renderConsumer(ctx, k); err != nil {
			return fmt.Errorf("queue: render consumer for %s/%s: %w", k.App, k.Partner, err)
		}
		known[renderConsumerName(k)] = true
	}
	for _, k := range t.Remove {
		name := renderConsumerName(k)
		if known[name] {
			continue
		}
		known[name] = true
		if err := q.st().events.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("queue: deleting render consumer %s: %w", name, err)
		}
		q.log.Info("queue: render consumer removed; its unrendered events are dropped", "app", k.App, "partner", k.Partner, "consumer", name)
	}
	names := q.st().events.ConsumerNames(ctx)
	for name := range names.Name() {
		if strings.HasPrefix(name, eventConsumerPrefix) && !known[name] {
			q.log.Warn("queue: a render consumer no partner of this config uses keeps its events until they expire", "stream", q.cfg.EventStream, "consumer", name,
				"fix", "if no other adgate instance sharing this queue renders for it (a partner disabled while adgate was stopped), delete it: nats consumer rm "+q.cfg.EventStream+" "+name)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("queue: listing render consumers: %w", err)
	}
	q.topoMu.Lock()
	q.topo = keys
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

// topology returns the pairs that render and, when a SetTopology waits
// for them to be applied, the channel to close once they are.
func (q *Queue) topology() ([]Key, chan struct{}) {
	q.topoMu.Lock()
	defer q.topoMu.Unlock()
	applied := q.topoApplied
	q.topoApplied = nil
	return q.topo, applied
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

// renderConsumer makes sure the render consumer of k exists, through
// ensureConsumer like every consumer: the event stream's replicas, an
// operator's changes kept, concurrent starts retried.
func (q *Queue) renderConsumer(ctx context.Context, k Key) (jetstream.Consumer, error) {
	return q.ensureConsumer(ctx, q.st().events, jetstream.ConsumerConfig{
		Durable:       renderConsumerName(k),
		Description:   "adgate rendering for app " + k.App + ", partner " + k.Partner,
		FilterSubject: q.eventSubject(k.App),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		// A consumer made by a reload that enables a partner renders the
		// events accepted from then on, not those still kept for the
		// app's other partners, which were planned without it.
		DeliverPolicy: jetstream.DeliverNewPolicy,
		MaxDeliver:    -1, // renderWorker bounds deliveries itself
		MaxAckPending: 10000,
	})
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
// waits for others to join its batch. gatebench at 1,000 events/s and
// one partner: 19% less CPU per event for 5 ms more delivery latency
// (docs/benchmarks.md); 20 ms saved no more.
const renderLinger = 5 * time.Millisecond

// renderWorker renders the events of one (app, partner) pair: it fetches a
// batch, renders each event, makes the first attempts of the postbacks
// (firstAttempts), and acks an event only once each of its postbacks was
// delivered, dead-lettered or stored, so a crash at any point leaves the
// event to be rendered again (the postback ids, and so the
// de-duplication, are the same).
func (q *Queue) renderWorker(ctx, hctx context.Context, k Key, r Renderer, h Handler, att *runner) {
	var cons jetstream.Consumer
	var retry backoff
	live := newLiveSet(q.cfg.AckWait)
	stop := live.run()
	defer stop()
	// Batches whose first attempts are still under way: their events
	// stay alive (live) until they are settled.
	var pending sync.WaitGroup
	defer pending.Wait()
	for ctx.Err() == nil {
		if cons == nil {
			c, err := q.renderConsumer(ctx, k)
			if err != nil {
				if ctx.Err() == nil {
					q.log.Warn("queue: render consumer", "app", k.App, "partner", k.Partner, "err", err)
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
			spent := q.renderMsgs(ctx, hctx, k, r, h, att, msgs, live, &pending)
			// A partner whose templates are slow gets at most a
			// 1/renderShare share of a CPU: it waits renderShare-1 times
			// what it rendered for, so the process keeps its CPU for
			// ingest and the other partners. Templates that render in
			// microseconds never wait.
			if spent > slowRender {
				sleepCtx(ctx, time.Duration(renderShare-1)*spent)
			}
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			q.log.Warn("queue: fetch events", "app", k.App, "partner", k.Partner, "err", err)
			if q.lostConsumer(ctx, err) {
				cons = nil
			}
			if !retry.wait(ctx) {
				return
			}
			continue
		}
		retry.reset()
	}
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

// renderShare and slowRender bound what one partner's slow templates take
// from the others: a batch that rendered for longer than slowRender makes
// its worker pause renderShare-1 times as long.
const (
	renderShare = 4
	slowRender  = 5 * time.Millisecond
)

// renderMsgs renders one fetched batch, makes the first attempts of its
// postbacks (firstAttempts), and returns the time spent rendering. The
// batch's events are settled once its postbacks are, on a goroutine that
// pending tracks.
func (q *Queue) renderMsgs(ctx, hctx context.Context, k Key, r Renderer, h Handler, att *runner, msgs []jetstream.Msg, live *liveSet, pending *sync.WaitGroup) (spent time.Duration) {
	var (
		jobs  []Job
		owner []int           // owner[i] is the index in done of jobs[i]'s event
		done  []jetstream.Msg // rendered: acked once their jobs are settled
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
		ev, err := decodeEvent(msg, k.App)
		if err == nil {
			if md, merr := msg.Metadata(); merr == nil && int(md.NumDelivered) > q.cfg.MaxDeliver {
				err = fmt.Errorf("delivered %d times without being rendered (max %d)", md.NumDelivered-1, q.cfg.MaxDeliver)
			}
		}
		if err != nil {
			// Nothing renders it; keeping it would only hold the stream.
			q.log.Error("queue: dropping an event that cannot be rendered", "app", k.App, "partner", k.Partner, "event_id", ev.ID, "err", err)
			q.reportLoss(Loss{Stream: q.cfg.EventStream, Reason: "unrenderable", Msgs: 1, Bytes: uint64(len(msg.Data())), Detail: err.Error()})
			live.remove(msg)
			_ = msg.Term()
			continue
		}
		t0 := time.Now()
		js, err := q.render(hctx, r, k, ev)
		spent += time.Since(t0)
		if err != nil {
			q.log.Warn("queue: rendering deferred", "app", k.App, "partner", k.Partner, "event_id", ev.ID, "err", err)
			settle(msg, false, time.Second)
			continue
		}
		for i := range js {
			// What finds the event again in the archive, for a replay
			// that renders anew.
			js[i].EventSeq = ev.Seq
			owner = append(owner, len(done))
		}
		jobs = append(jobs, js...)
		done = append(done, msg)
	}
	// settleAll acks the events whose postbacks were all settled, and
	// has the others (unsaved: a postback of theirs may not be stored)
	// rendered again, alone: an event whose postbacks were delivered is
	// not sent again for another's failure.
	settleAll := func(unsaved []bool, err error) {
		again := make([]bool, len(done))
		n := 0
		for i, u := range unsaved {
			if u && !again[owner[i]] {
				again[owner[i]] = true
				n++
			}
		}
		if err != nil {
			q.log.Warn("queue: storing rendered postbacks failed; rendering their events again later", "app", k.App, "partner", k.Partner, "events", n, "err", err)
		}
		for i, msg := range done {
			settle(msg, !again[i], time.Second)
		}
	}
	if len(jobs) == 0 {
		settleAll(nil, nil)
		return spent
	}
	q.firstAttempts(ctx, hctx, k, h, att, jobs, pending, settleAll)
	return spent
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

// renderWorkers keeps one render worker per topology pair while Run runs.
type renderWorkers struct {
	q       *Queue
	r       Renderer
	h       Handler
	att     *runner // runs the first attempts
	hctx    context.Context
	wg      sync.WaitGroup
	running map[Key]context.CancelFunc
}

// sync starts the workers of new pairs and stops those of removed ones.
func (w *renderWorkers) sync(ctx context.Context) {
	keys, applied := w.q.topology()
	if applied != nil {
		// The workers of dropped pairs are cancelled below, before any
		// event published after SetTopology returns can reach them:
		// renderMsgs checks its context before each event.
		defer close(applied)
	}
	want := map[Key]bool{}
	for _, k := range keys {
		want[k] = true
		if w.running[k] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w.running[k] = cancel
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.q.renderWorker(wctx, w.hctx, k, w.r, w.h, w.att)
		}()
	}
	for k, cancel := range w.running {
		if !want[k] {
			cancel()
			delete(w.running, k)
		}
	}
}
