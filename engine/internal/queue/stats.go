package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stats rollups are <prefix>.stats.<instance>.<minute>, one message per
// gateway instance and minute. The stream keeps one message per subject,
// so flushing a minute again replaces the earlier flush instead of adding
// to it: the last flush of a minute is the whole minute.

// statsMinuteLayout is the minute token of a stats subject (UTC), readable
// in `nats stream subjects`.
const statsMinuteLayout = "200601021504"

func (q *Queue) ensureStatsStream(ctx context.Context) (jetstream.Stream, error) {
	return q.ensureStream(ctx, jetstream.StreamConfig{
		Name:              q.cfg.StatsStream,
		Description:       "adgate per-minute delivery rollups of every gateway instance, for GET /v1/stats",
		Subjects:          []string{q.cfg.Subject + ".stats.>"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxAge:            q.cfg.StatsMaxAge,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
		// Rollups carry no message id; set so the server's default does
		// not read as a change at every setup.
		Duplicates: q.cfg.DuplicateWindow,
	})
}

func (q *Queue) statsSubject(instance string, minute time.Time) string {
	return q.cfg.Subject + ".stats." + escapeToken(instance) + "." + minute.UTC().Format(statsMinuteLayout)
}

func (q *Queue) parseStatsSubject(subj string) (instance string, minute time.Time, ok bool) {
	rest, ok := strings.CutPrefix(subj, q.cfg.Subject+".stats.")
	if !ok {
		return "", time.Time{}, false
	}
	inst, m, ok := strings.Cut(rest, ".")
	if !ok {
		return "", time.Time{}, false
	}
	instance, ok = unescapeToken(inst)
	if !ok {
		return "", time.Time{}, false
	}
	minute, err := time.Parse(statsMinuteLayout, m)
	if err != nil {
		return "", time.Time{}, false
	}
	return instance, minute, true
}

// StatsRollup is one instance's rollup of one minute, as PutStats stored
// it. Data is the caller's encoding; the queue does not read it. Seq is
// its stream sequence: a later flush of the same minute has a higher one.
type StatsRollup struct {
	Instance string
	Minute   time.Time
	Data     []byte
	Seq      uint64
}

// PutStats stores instance's rollup of the minute starting at minute,
// replacing any earlier one of the same instance and minute.
func (q *Queue) PutStats(ctx context.Context, instance string, minute time.Time, data []byte) error {
	if instance == "" {
		return errors.New("queue: stats rollup without an instance")
	}
	if _, err := q.js.Publish(ctx, q.statsSubject(instance, minute), data); err != nil {
		return fmt.Errorf("queue: storing the stats of %s for %s: %w", instance, minute.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// Stats calls fn, in stream order, for the rollups stored after stream
// sequence after, or with after 0 for every stored rollup of a minute at or
// after since. It returns the last sequence read (after, when nothing is
// new), so a caller keeping what it read asks only for what changed since.
// reset says the stream is no longer the one after came from (deleted and
// created again, purged): the caller drops what it kept, and fn was given
// every rollup from since, as with after 0.
func (q *Queue) Stats(ctx context.Context, since time.Time, after uint64, fn func(StatsRollup) error) (last uint64, reset bool, err error) {
	st := q.st().stats
	if st == nil {
		return 0, false, errors.New("queue: reading stats: stream not set up")
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("queue: reading stats: %w", err)
	}
	if after > info.State.LastSeq {
		after, reset = 0, true
	}
	if after > 0 && after == info.State.LastSeq {
		return after, false, nil
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{q.cfg.Subject + ".stats.>"},
		InactiveThreshold: time.Minute,
	}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	} else {
		// A rollup is stored during or after its minute, by the NATS
		// server's clock; the margin covers an instance whose clock runs
		// ahead of it.
		start := since.Add(-5 * time.Minute)
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &start
	}
	last = after
	err = q.readOrdered(ctx, st, cfg, func(msg jetstream.Msg, md *jetstream.MsgMetadata) (bool, error) {
		last = md.Sequence.Stream
		inst, minute, ok := q.parseStatsSubject(msg.Subject())
		if !ok || minute.Before(since) {
			return true, nil
		}
		return true, fn(StatsRollup{Instance: inst, Minute: minute, Data: msg.Data(), Seq: md.Sequence.Stream})
	})
	if err != nil {
		return 0, false, fmt.Errorf("queue: reading stats: %w", err)
	}
	// Everything up to the last sequence at the start was read, whether
	// or not the newest rollups were still there.
	return max(last, info.State.LastSeq), reset, nil
}

// readOrdered reads st through an ordered consumer made from cfg, calling
// fn for each message until the messages pending when it started are
// read, fn returns false, or fn fails.
func (q *Queue) readOrdered(ctx context.Context, st jetstream.Stream, cfg jetstream.OrderedConsumerConfig, fn func(jetstream.Msg, *jetstream.MsgMetadata) (bool, error)) error {
	if st == nil {
		return errors.New("stream not set up")
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	// Removed at once rather than left to expire: a console polling a
	// list would otherwise pile up consumers until the server's limit.
	defer func() {
		if info := cons.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = st.DeleteConsumer(dctx, info.Name)
		}
	}()
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	remaining := info.NumPending
	for remaining > 0 {
		batch, err := cons.Fetch(int(min(remaining, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				return err
			}
			remaining = md.NumPending
			more, err := fn(msg, md)
			if err != nil || !more {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if got == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
