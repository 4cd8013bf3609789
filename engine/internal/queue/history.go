package queue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The delivery history is a limits stream of records the gateway writes
// and reads; the queue only names, stores and scans them. Subjects:
//
//	<prefix>.hist.a.<app>.<partner>.<bucket>  attempts and render skips
//	<prefix>.hist.p.<app>.<bucket>            ingest plans
//
// bucket is a hash of the event id in historyBuckets values, so the
// records of one event are under a handful of subjects (one per partner
// and the plan) that JetStream's subject index finds without reading the
// rest, while the stream holds at most apps x (partners+1) x 256
// subjects, not one per event.
const historyBuckets = 256

// historyWindow bounds the history publishes waiting for their acks; a
// write beyond it waits historyStall, then fails (and is counted), so a
// stalled stream never grows memory or holds a delivery.
const (
	historyWindow = 4096
	historyStall  = 50 * time.Millisecond
	historyAckTTL = 10 * time.Second
)

func historyBucket(eventID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(eventID))
	b := h.Sum32() % historyBuckets
	const hexdig = "0123456789abcdef"
	return string([]byte{hexdig[b>>4], hexdig[b&15]})
}

// HistoryAttemptSubject is the subject of an attempt (or render skip) of
// a postback of app's partner for event eventID.
func (q *Queue) HistoryAttemptSubject(app, partner, eventID string) string {
	return q.cfg.Subject + ".hist.a." + escapeToken(app) + "." + escapeToken(partner) + "." + historyBucket(eventID)
}

// HistoryPlanSubject is the subject of the ingest plan of event eventID.
func (q *Queue) HistoryPlanSubject(app, eventID string) string {
	return q.cfg.Subject + ".hist.p." + escapeToken(app) + "." + historyBucket(eventID)
}

// HistoryFilter selects history records by subject; empty fields match
// any value. EventID narrows the scan to the event's bucket: the records
// read still belong to about 1/256 of the events, and the caller checks
// the event id in each.
type HistoryFilter struct {
	App, Partner, EventID string
	// Attempts and Plans select the kinds of record.
	Attempts, Plans bool
}

func (q *Queue) historySubjects(f HistoryFilter) []string {
	tok := func(v string) string {
		if v == "" {
			return "*"
		}
		return escapeToken(v)
	}
	bucket := "*"
	if f.EventID != "" {
		bucket = historyBucket(f.EventID)
	}
	var out []string
	if f.Attempts {
		out = append(out, q.cfg.Subject+".hist.a."+tok(f.App)+"."+tok(f.Partner)+"."+bucket)
	}
	if f.Plans {
		out = append(out, q.cfg.Subject+".hist.p."+tok(f.App)+"."+bucket)
	}
	return out
}

// HistoryRecord is one stored history record.
type HistoryRecord struct {
	Seq uint64
	// Time is when the stream stored it.
	Time time.Time
	// Plan says it is an ingest plan, not an attempt.
	Plan bool
	Data []byte
}

// PublishHistory stores a record without waiting for its ack: the result
// of a failed store goes to Config.OnHistoryError, as does a publish
// refused because historyWindow records already wait for theirs.
func (q *Queue) PublishHistory(subject string, data []byte) error {
	_, err := q.hjs.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data}, jetstream.WithStallWait(historyStall))
	if err != nil {
		err = fmt.Errorf("queue: history: %w", err)
		if f := q.cfg.OnHistoryError; f != nil {
			f(err)
		}
	}
	return err
}

// HistoryFlush waits, at most until ctx ends, for the acks of the history
// records published so far.
func (q *Queue) HistoryFlush(ctx context.Context) error {
	select {
	case <-q.hjs.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue: history: %d records unacknowledged: %w", q.hjs.PublishAsyncPending(), ctx.Err())
	}
}

// HistoryPage is one page of a newest-first history read.
type HistoryPage struct {
	// Records are newest first.
	Records []HistoryRecord
	// Next, when not 0, continues the read: pass it as Before.
	Next uint64
	// Scanned counts the records read to fill the page.
	Scanned int
}

// HistoryQuery is a newest-first read of the history.
type HistoryQuery struct {
	Filter HistoryFilter
	// Before reads records older than this stream sequence (0: from the
	// newest).
	Before uint64
	// Since and Until bound the records' store times (zero: open).
	Since, Until time.Time
	// Limit is the page size; MaxScan bounds the records read (a page
	// that hits it comes back short, with Next set).
	Limit, MaxScan int
	// Accept keeps a record; nil keeps every one.
	Accept func(HistoryRecord) bool
}

// historyLag is how long after its own time a record may be stored
// (written asynchronously, after the attempt): Until is widened by it
// when it becomes a stream position, and the caller compares its own
// times.
const historyLag = time.Minute

// HistoryNewest reads matching records newest first. JetStream reads
// forward only, so it reads windows of sequences backwards from Before,
// each window twice the size of the last, until the page is full, the
// start (or Since) is reached, or MaxScan records were read.
func (q *Queue) HistoryNewest(ctx context.Context, hq HistoryQuery) (HistoryPage, error) {
	st := q.st().hist
	subjects := q.historySubjects(hq.Filter)
	info, err := st.Info(ctx)
	if err != nil {
		return HistoryPage{}, fmt.Errorf("queue: history: %w", err)
	}
	if info.State.Msgs == 0 {
		return HistoryPage{}, nil
	}
	hi := info.State.LastSeq + 1
	if hq.Before != 0 && hq.Before < hi {
		hi = hq.Before
	}
	floor := info.State.FirstSeq
	if !hq.Until.IsZero() {
		s, err := q.historySeqAt(ctx, subjects, hq.Until.Add(historyLag), info.State.LastSeq+1)
		if err != nil {
			return HistoryPage{}, err
		}
		hi = min(hi, s)
	}
	if !hq.Since.IsZero() {
		s, err := q.historySeqAt(ctx, subjects, hq.Since, info.State.LastSeq+1)
		if err != nil {
			return HistoryPage{}, err
		}
		floor = max(floor, s)
	}
	var page HistoryPage
	window := uint64(max(4*hq.Limit, 256))
	for hi > floor && len(page.Records) < hq.Limit && page.Scanned < hq.MaxScan {
		// A window never holds more records than the budget left, so
		// each is read whole and the pages join without a gap.
		w := min(window, uint64(hq.MaxScan-page.Scanned))
		lo := floor
		if hi-floor > w {
			lo = hi - w
		}
		var chunk []HistoryRecord
		n, err := q.historyRead(ctx, subjects, lo, hi, hq.MaxScan-page.Scanned, func(r HistoryRecord) {
			if hq.Accept == nil || hq.Accept(r) {
				chunk = append(chunk, r)
			}
		})
		page.Scanned += n
		if err != nil {
			return page, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			page.Records = append(page.Records, chunk[i])
		}
		hi = lo
		window = min(window*2, 1<<22)
	}
	switch {
	case len(page.Records) > hq.Limit:
		page.Records = page.Records[:hq.Limit]
		page.Next = page.Records[hq.Limit-1].Seq
	case len(page.Records) == hq.Limit && hi > floor:
		page.Next = page.Records[hq.Limit-1].Seq
	case hi > floor:
		page.Next = hi
	}
	return page, nil
}

// HistoryScan calls fn for the records matching f stored at or after
// since (zero: all), oldest first, reading at most maxScan of them;
// truncated reports that it stopped there.
func (q *Queue) HistoryScan(ctx context.Context, f HistoryFilter, since time.Time, maxScan int, fn func(HistoryRecord)) (truncated bool, err error) {
	subjects := q.historySubjects(f)
	info, err := q.st().hist.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("queue: history: %w", err)
	}
	if info.State.Msgs == 0 {
		// FirstSeq may then be 0, which no consumer can start at.
		return false, nil
	}
	end := info.State.LastSeq + 1
	start := info.State.FirstSeq
	if !since.IsZero() {
		if start, err = q.historySeqAt(ctx, subjects, since, end); err != nil {
			return false, err
		}
	}
	if start >= end {
		return false, nil
	}
	// One record more than the bound tells a cut scan from a complete one.
	seen := 0
	n, err := q.historyRead(ctx, subjects, start, end, maxScan+1, func(r HistoryRecord) {
		if seen++; seen <= maxScan {
			fn(r)
		}
	})
	return n > maxScan, err
}

// historySeqAt is the sequence of the first record matching subjects
// stored at or after t, or end when there is none.
func (q *Queue) historySeqAt(ctx context.Context, subjects []string, t time.Time, end uint64) (uint64, error) {
	cons, err := q.historyConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubjects: subjects,
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &t,
	})
	if err != nil {
		return 0, err
	}
	defer q.dropHistoryConsumer(cons)
	if cons.CachedInfo().NumPending == 0 {
		return end, nil
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		return 0, fmt.Errorf("queue: history: %w", err)
	}
	if msg, ok := <-batch.Messages(); ok {
		md, err := msg.Metadata()
		if err != nil {
			return 0, fmt.Errorf("queue: history: %w", err)
		}
		return md.Sequence.Stream, nil
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return 0, fmt.Errorf("queue: history: %w", err)
	}
	return end, nil
}

// historyRead calls fn for the records matching subjects with sequences
// in [lo, hi), at most limit of them, and returns how many it read.
func (q *Queue) historyRead(ctx context.Context, subjects []string, lo, hi uint64, limit int, fn func(HistoryRecord)) (int, error) {
	cons, err := q.historyConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubjects: subjects,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    lo,
	})
	if err != nil {
		return 0, err
	}
	defer q.dropHistoryConsumer(cons)
	remaining := cons.CachedInfo().NumPending
	plan := q.cfg.Subject + ".hist.p."
	n := 0
	for remaining > 0 && n < limit {
		want := int(min(remaining, uint64(limit-n), 256, hi-lo))
		batch, err := cons.Fetch(want, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return n, fmt.Errorf("queue: history: %w", err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				return n, fmt.Errorf("queue: history: %w", err)
			}
			remaining = md.NumPending
			if md.Sequence.Stream >= hi {
				remaining = 0
				continue
			}
			n++
			subj := msg.Subject()
			fn(HistoryRecord{Seq: md.Sequence.Stream, Time: md.Timestamp, Plan: len(subj) > len(plan) && subj[:len(plan)] == plan, Data: msg.Data()})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return n, fmt.Errorf("queue: history: %w", err)
		}
		if got == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// historyConsumer is an ephemeral reader of the history: no acks, its
// state in memory and on one replica (it lives for one request), gone a
// few seconds after the request if dropHistoryConsumer could not delete
// it.
func (q *Queue) historyConsumer(ctx context.Context, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cfg.AckPolicy = jetstream.AckNonePolicy
	cfg.MemoryStorage = true
	cfg.Replicas = 1
	cfg.InactiveThreshold = 10 * time.Second
	cons, err := q.st().hist.CreateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("queue: reading history: %w", err)
	}
	return cons, nil
}

func (q *Queue) dropHistoryConsumer(c jetstream.Consumer) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = q.st().hist.DeleteConsumer(ctx, c.CachedInfo().Name)
}

// HistoryInfo is the history stream's configuration and state, for
// operators and tests.
func (q *Queue) HistoryInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	info, err := q.st().hist.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: history: %w", err)
	}
	return info, nil
}
