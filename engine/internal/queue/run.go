package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// minPrefetch is the fewest fetched jobs a worker keeps waiting for a
// slot, so a partner with a low concurrency limit still pulls in batches
// large enough to share a pull's cost, and its slots do not run dry while
// a pull is on its way.
const minPrefetch = 64

// fetchWait bounds one pull request.
const fetchWait = 2 * time.Second

// Run consumes the queue until ctx ends, calling h for every job. Each
// (app, partner) subject gets its own durable consumer and workers, found
// by looking at which subjects hold messages, so jobs enqueued by another
// process or left from a previous run are picked up too.
//
// When ctx ends Run stops pulling, waits up to Config.DrainTimeout for the
// handlers in flight, then cancels their context and waits for them to
// return. Jobs not acked stay queued for the next Run.
func (q *Queue) Run(ctx context.Context, h Handler) error {
	q.mu.Lock()
	if q.running {
		q.mu.Unlock()
		return errors.New("queue: Run is already running")
	}
	if q.closed {
		q.mu.Unlock()
		return errors.New("queue: closed")
	}
	q.running = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.running = false
		q.mu.Unlock()
	}()

	// Handlers get their own context: stopping intake must not abort a
	// delivery that is about to succeed.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()

	var (
		workers sync.WaitGroup // worker loops
		started = make(map[string]bool)
	)
	// Open read the pauses; the watch reads them again (what changed in
	// between included) and follows them.
	workers.Add(1)
	go func() {
		defer workers.Done()
		q.watchControls(ctx)
	}()
	// A handler that also renders gets a render worker per topology
	// app (rw), started and stopped as SetTopology changes it.
	var rw *renderWorkers
	discover := func() {
		subjects, err := q.pendingSubjects(ctx)
		if err != nil {
			if ctx.Err() == nil {
				q.log.Warn("queue: listing pending subjects", "err", err)
			}
			return
		}
		for _, subj := range subjects {
			if started[subj] || subj == q.probeSubject() {
				continue
			}
			key, handover, ok := q.parseWorkSubject(subj)
			if !ok {
				q.log.Warn("queue: ignoring a subject that is not adgate's", "subject", subj)
				started[subj] = true
				continue
			}
			if q.leaves(key, handover, rw != nil) {
				continue // looked at again next time, after a reload
			}
			started[subj] = true
			q.known.Store(subj, true)
			workers.Add(1)
			go func() {
				defer workers.Done()
				q.worker(ctx, hctx, subj, key, h)
			}()
		}
	}

	if r, ok := h.(Renderer); ok {
		rw = &renderWorkers{q: q, r: r, h: h, att: newRunner(), hctx: hctx, running: map[string]context.CancelFunc{}, legacy: map[Key]renderRun{}}
		q.setTopoLive(true)
		defer q.setTopoLive(false)
		rw.sync(ctx)
	}
	var topoKick chan struct{}
	if rw != nil {
		topoKick = q.topoKick
	}

	discover()
	tick := time.NewTicker(q.cfg.DiscoverEvery)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			discover()
		case <-q.kick:
			discover()
		case <-topoKick:
			rw.sync(ctx)
		}
	}

	// Workers return once their handlers did, so waiting for them waits
	// for the deliveries in flight; past the drain deadline their context
	// is cancelled.
	drained := make(chan struct{})
	go func() {
		select {
		case <-drained:
		case <-time.After(q.cfg.DrainTimeout):
			q.log.Warn("queue: drain deadline reached, cancelling in-flight deliveries", "deadline", q.cfg.DrainTimeout)
			hcancel()
		}
	}()
	workers.Wait()
	if rw != nil {
		rw.wg.Wait()
		rw.att.stop()
	}
	close(drained)
	q.known.Clear()
	return nil
}

// leaves reports whether this instance leaves a pair's subject (its
// hand-over subject when handover) to the instances sharing the queue
// whose config renders the pair; renderer says whether it renders at all.
// A pair whose renders this instance does not make: its hand-overs are
// for the instances that do, and so are its postbacks while a newer
// config runs somewhere (a rolling change that enables the partner: here
// they would be dead-lettered as not enabled). Discovery asks before it
// starts a worker, and the worker again before each pull, as a reload
// (a rollback) or a config version learnt late can change the answer.
func (q *Queue) leaves(k Key, handover, renderer bool) bool {
	if !renderer {
		return handover
	}
	return !q.renders(k) && (handover || q.superseded())
}

// pendingSubjects lists the work subjects that hold messages.
func (q *Queue) pendingSubjects(ctx context.Context) ([]string, error) {
	info, err := q.st().work.Info(ctx, jetstream.WithSubjectFilter(q.cfg.Subject+".pb.>"))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(info.State.Subjects))
	for s := range info.State.Subjects {
		out = append(out, s)
	}
	return out, nil
}

// worker consumes one subject. At most the partner's concurrency limit of
// handlers run at once; up to as many again (at least minPrefetch) wait
// for a slot, already fetched, so a slot that frees starts its next job
// without a round trip to the server. Every fetched message is kept alive from the moment it
// arrives: none sits in a client buffer where its ack deadline could run
// out behind a slow partner. Fetches ask for a batch once half of that
// window is free, so their cost is shared by many messages.
//
// Handlers run on long-lived goroutines, one per slot, fed through a
// channel: a goroutine per message paid for its creation and for growing
// its stack through the HTTP client on every postback.
func (q *Queue) worker(ctx, hctx context.Context, subj string, key Key, h Handler) {
	limit := func() int { return q.limit(h, key) }
	_, handover, _ := q.parseWorkSubject(subj)
	_, renderer := h.(Renderer)
	leaving := func() bool { return q.leaves(key, handover, renderer) }
	pairSlots := q.pairSlots(key)
	var (
		cons    jetstream.Consumer
		mu      sync.Mutex
		held    int                   // fetched, not yet settled
		slots   int                   // handler goroutines
		waiting bool                  // the fetcher waits for held to drop
		changed = make(chan struct{}) // closed and replaced when it does
		pool    sync.WaitGroup
		retry   backoff
		// work hands fetched messages to the handler goroutines; held, not
		// its capacity, bounds how many are fetched.
		work = make(chan jetstream.Msg, max(limit(), 16))
		live = newLiveSet(q.cfg.AckWait)
		// leftover holds what was fetched but not handled once stopping
		// began; it is given back (Nak) when the worker ends, after its
		// last pull has ended on the server, so a job given back is not
		// delivered straight into that pull again.
		leftover []jetstream.Msg
	)
	keep := func(msg jetstream.Msg) {
		mu.Lock()
		leftover = append(leftover, msg)
		mu.Unlock()
	}
	// settled ends one message's stay in the window.
	settled := func() {
		mu.Lock()
		held--
		if waiting {
			waiting = false
			close(changed)
			changed = make(chan struct{})
		}
		mu.Unlock()
	}
	// slot runs handlers until the limit shrinks below the slots running
	// or the worker stops.
	slot := func() {
		defer pool.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-work:
				// A paused pair's fetched jobs wait here, kept alive,
				// and go on once it is resumed: no attempt is spent.
				if ctx.Err() != nil || !q.waitResumed(ctx, key) {
					keep(msg) // stopping: given back when the worker ends
					return
				}
				if leaving() {
					// Fetched before a reload left the pair to others:
					// given back for them (which costs it one delivery),
					// once the pull of ours it came in has ended (it would
					// take it again, and again).
					live.remove(msg)
					_ = msg.NakWithDelay(fetchWait)
					settled()
					continue
				}
				if !pairSlots.acquire(ctx, limit) {
					keep(msg)
					return
				}
				q.handle(hctx, msg, key, h, live)
				pairSlots.release(false)
				settled()
				mu.Lock()
				if slots > limit() {
					slots--
					mu.Unlock()
					return
				}
				mu.Unlock()
			}
		}
	}
	stopKeepAlive := live.run()
	defer func() {
		// The last pull has ended and the slots have returned: whatever
		// was fetched and not handled is given back at once rather than
		// after AckWait.
		pool.Wait()
		for len(work) > 0 {
			leftover = append(leftover, <-work)
		}
		for _, msg := range leftover {
			live.remove(msg)
			_ = msg.Nak()
		}
		stopKeepAlive()
	}()
	for ctx.Err() == nil {
		// Paused: no pull, so the jobs wait in the stream and nothing is
		// delivered (or given back) to this worker.
		if !q.waitResumed(ctx, key) {
			return
		}
		// Left to others since it started (see leaves): no pull, looked
		// at again as often as discovery looks.
		if leaving() {
			if !sleepCtx(ctx, q.cfg.DiscoverEvery) {
				return
			}
			continue
		}
		if cons == nil {
			c, err := q.consumer(ctx, subj)
			if err != nil {
				if ctx.Err() == nil {
					q.log.Warn("queue: creating consumer", "app", key.App, "partner", key.Partner, "err", err)
				}
				if !retry.wait(ctx) {
					return
				}
				continue
			}
			cons = c
		}
		n := limit()
		window := n + max(n, minPrefetch)
		mu.Lock()
		for slots < n {
			slots++
			pool.Add(1)
			go slot()
		}
		free := window - held
		ch := changed
		waiting = free < (window+1)/2
		mu.Unlock()
		if free < (window+1)/2 {
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
			continue
		}
		// While stopping, the pull runs to its end (at most fetchWait):
		// once the batch is over the server holds no open pull for us, and
		// only then are the jobs kept back given back. Given back into a
		// pull still open, a job was delivered to it again at once, given
		// back again, and so on, each round using up one of its deliveries.
		batch, err := cons.Fetch(free, jetstream.FetchMaxWait(fetchWait))
		if err == nil {
			for msg := range batch.Messages() {
				if ctx.Err() != nil {
					live.add(msg)
					keep(msg)
					continue
				}
				live.add(msg)
				mu.Lock()
				held++
				mu.Unlock()
				select {
				case work <- msg:
				default:
					// Every slot is busy and the channel is full (the limit
					// grew since it was made): wait for a slot on the side,
					// so the rest of the batch does not sit in the client's
					// buffer without progress signals.
					pool.Add(1)
					go func() {
						defer pool.Done()
						select {
						case work <- msg:
						case <-ctx.Done():
							keep(msg)
						}
					}()
				}
			}
			err = batch.Error()
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			q.log.Warn("queue: fetch", "app", key.App, "partner", key.Partner, "err", err)
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

// lostConsumer reports whether err means the consumer or stream is gone
// (an external server restarted without its state), re-creating the
// streams in that case.
func (q *Queue) lostConsumer(ctx context.Context, err error) bool {
	if !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrConsumerDeleted) &&
		!errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, nats.ErrNoResponders) {
		return false
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, nats.ErrNoResponders) {
		if serr := q.ensureStreams(ctx); serr != nil && ctx.Err() == nil {
			q.log.Warn("queue: re-creating streams", "err", serr)
		}
	}
	return true
}

func (q *Queue) consumer(ctx context.Context, subj string) (jetstream.Consumer, error) {
	c, err := q.ensureConsumer(ctx, q.st().work, jetstream.ConsumerConfig{
		Durable:       consumerName(subj),
		Description:   "adgate delivery for " + subj,
		FilterSubject: subj,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		// Unlimited on the server: with WorkQueue retention a message past
		// the server's MaxDeliver would stay in the stream, never delivered
		// nor dead-lettered. handle enforces Config.MaxDeliver from the
		// delivery count JetStream keeps, and dead-letters instead.
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 10000,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if serr := q.ensureStreams(ctx); serr != nil {
			return nil, serr
		}
		return q.consumer(ctx, subj)
	}
	return c, err
}

// handle runs one delivery and settles the message.
// It stops the message's progress signals (live) before settling it.
func (q *Queue) handle(ctx context.Context, msg jetstream.Msg, key Key, h Handler, live *liveSet) {
	md, err := msg.Metadata()
	if err != nil {
		q.reportLoss(Loss{Stream: q.cfg.Stream, Reason: "no_metadata", Msgs: 1, Bytes: uint64(len(msg.Data())), Detail: err.Error()})
		live.remove(msg)
		_ = msg.Term()
		return
	}
	if msg.Headers().Get(hdrRenderSeq) != "" {
		q.handleRender(ctx, msg, md, key, h, live)
		return
	}
	seq := md.Sequence.Stream
	attempt := int(md.NumDelivered) - q.delays.get(seq)
	j, err := decodeJob(msg.Data())
	if err != nil {
		q.reportLoss(Loss{Stream: q.cfg.Stream, Reason: "undecodable", Msgs: 1, Seqs: []uint64{md.Sequence.Stream}, Bytes: uint64(len(msg.Data())), Detail: err.Error()})
		j = Job{App: key.App, Partner: key.Partner}
		q.bury(ctx, msg, md, j, Outcome{Reason: "undecodable job: " + err.Error(), Class: ClassOther}, attempt, live)
		return
	}
	// Queued after a first attempt that asked for a delay: waiting for it
	// is not an attempt.
	if wait := time.Until(j.NotBefore); wait > 0 {
		q.delays.add(seq)
		q.giveBack(ctx, msg, j, wait, live)
		return
	}
	attempt += j.Attempts
	if attempt > q.cfg.MaxDeliver {
		// Deliveries that never reached an outcome (the process died
		// mid-attempt) still count; this stops a job that crashes us.
		q.bury(ctx, msg, md, j, Outcome{Reason: fmt.Sprintf("delivered %d times without an outcome (max %d)", attempt-1, q.cfg.MaxDeliver), Class: ClassBudgetExhausted}, attempt-1, live)
		return
	}

	out := q.call(ctx, h, j, attempt)

	switch out.Kind {
	case OutcomeDelivered:
		live.remove(msg)
		q.delays.forget(seq)
		q.ack(msg, j)
	case OutcomeDead:
		q.bury(ctx, msg, md, j, out, attempt, live)
	case OutcomeDelay:
		q.delays.add(seq)
		q.giveBack(ctx, msg, j, out.After, live)
	default: // OutcomeRetry, or a handler bug: keep the job
		if q.deliveriesSpent(attempt, &out) {
			q.bury(ctx, msg, md, j, out, attempt, live)
			return
		}
		q.giveBack(ctx, msg, j, out.After, live)
	}
}

// deliveriesSpent reports whether attempt was the last MaxDeliver
// allows, saying so in out's reason: a retry is then a dead letter.
func (q *Queue) deliveriesSpent(attempt int, out *Outcome) bool {
	if attempt < q.cfg.MaxDeliver {
		return false
	}
	out.Reason = fmt.Sprintf("max deliveries (%d) reached: %s", q.cfg.MaxDeliver, out.Reason)
	return true
}

// giveBack returns msg to the stream to be delivered again after wait,
// or at once when stopping (available to the next run). It stops the
// message's progress signals first.
func (q *Queue) giveBack(ctx context.Context, msg jetstream.Msg, j Job, wait time.Duration, live *liveSet) {
	live.remove(msg)
	if ctx.Err() != nil {
		_ = msg.Nak()
		return
	}
	if err := msg.NakWithDelay(max(wait, 0)); err != nil {
		q.log.Warn("queue: nak", "postback_id", j.ID, "err", err)
	}
}

// call runs the handler, turning a panic into a retry: the job is kept
// (and dead-lettered by MaxDeliver if it always panics) and the other
// partners' deliveries go on.
func (q *Queue) call(ctx context.Context, h Handler, j Job, attempt int) (out Outcome) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("queue: handler panicked", "postback_id", j.ID, "app", j.App, "partner", j.Partner, "panic", fmt.Sprint(r))
			out = Retry(time.Second, "internal error: handler panicked")
		}
	}()
	return h.Handle(ctx, j, attempt)
}

// liveSet keeps the messages a worker holds alive: it tells JetStream
// they are still being worked on, so a slow partner (or a wait for its
// rate limit or for a slot) does not cause a second concurrent delivery.
// One ticker serves every message of the worker: most messages are settled
// long before their first signal is due, and a timer per message cost more
// than the signals.
type liveSet struct {
	every time.Duration
	mu    sync.Mutex
	msgs  map[jetstream.Msg]time.Time // held since, or last signalled at
}

func newLiveSet(ackWait time.Duration) *liveSet {
	return &liveSet{every: max(ackWait/3, 10*time.Millisecond), msgs: make(map[jetstream.Msg]time.Time)}
}

func (l *liveSet) add(msg jetstream.Msg) {
	now := time.Now()
	l.mu.Lock()
	l.msgs[msg] = now
	l.mu.Unlock()
}

// remove stops the signals for msg; none is sent after remove returns, so
// remove it before settling it.
func (l *liveSet) remove(msg jetstream.Msg) {
	l.mu.Lock()
	delete(l.msgs, msg)
	l.mu.Unlock()
}

// run signals progress for every message held for longer than a third of
// the ack wait, until stop is called.
func (l *liveSet) run() (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		// Ticking at half the signal interval, a message is signalled at
		// most every (1.5 x AckWait/3) = AckWait/2.
		t := time.NewTicker(max(l.every/2, 5*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				l.mu.Lock()
				for msg, since := range l.msgs {
					if now.Sub(since) >= l.every {
						// Under the lock, so no signal follows a remove (and
						// the ack after it). InProgress only buffers a publish.
						_ = msg.InProgress()
						l.msgs[msg] = now
					}
				}
				l.mu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func (q *Queue) ack(msg jetstream.Msg, j Job) {
	// Not a confirmed (double) ack: it would hold the slot for a round
	// trip on every job. An ack lost with the connection only means the
	// job is delivered again, with the same Idempotency-Key.
	if err := msg.Ack(); err != nil {
		q.log.Warn("queue: ack failed; the postback may be delivered again", "postback_id", j.ID, "err", err)
	}
}

// Dead-letter headers.
const (
	hdrReason   = "Adgate-Reason"
	hdrAttempts = "Adgate-Attempts"
	hdrWorkSeq  = "Adgate-Work-Seq"
	// The verdict's error class, the partner's status code and the policy
	// rule that decided; dead letters from before they existed have none
	// (ErrorClass infers the class from the reason).
	hdrClass     = "Adgate-Error-Class"
	hdrStatus    = "Adgate-Status-Code"
	hdrDecidedBy = "Adgate-Decided-By"
)

// bury stores the job in the dead-letter stream, then removes it from the
// work stream. If storing fails the job stays queued and is tried again.
// The message stays alive (live) until it is settled.
func (q *Queue) bury(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata, j Job, out Outcome, attempts int, live *liveSet) {
	reason := out.Reason
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	seq := strconv.FormatUint(md.Sequence.Stream, 10)
	dm := q.deadLetter(j, msg.Data(), out, attempts)
	dm.Header.Set(hdrWorkSeq, seq)
	// The work sequence makes the id unique per queued instance and stable
	// if we crash between publishing and acking.
	if _, err := q.js.PublishMsg(pctx, dm, jetstream.WithMsgID("dead."+j.ID+"."+seq)); err != nil {
		q.log.Error("queue: storing dead letter failed; keeping the job queued", "postback_id", j.ID, "err", err)
		live.remove(msg)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	q.log.Warn("queue: dead letter", "postback_id", j.ID, "app", j.App, "partner", j.Partner, "attempts", attempts, "reason", reason)
	live.remove(msg)
	// Before the ack, so once the job is gone its count is too.
	q.delays.forget(md.Sequence.Stream)
	q.ack(msg, j)
}
