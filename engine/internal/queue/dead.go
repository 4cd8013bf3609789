package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is a job that failed permanently or ran out of retries.
type DeadLetter struct {
	// Seq is the dead letter's sequence in the dead-letter stream.
	Seq      uint64
	Job      Job
	Reason   string
	Attempts int
	// DeadAt is when the job was dead-lettered.
	DeadAt time.Time
}

// ReplayFilter selects dead letters. Empty fields match everything; IDs
// match Job.ID (the postback id); Since and Until bound DeadAt.
type ReplayFilter struct {
	IDs          []string
	App, Partner string
	Since, Until time.Time
	// Limit stops after this many matches; 0 means no limit.
	Limit int
}

func (f *ReplayFilter) match(d *DeadLetter) bool {
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, d.Job.ID) {
		return false
	}
	if !f.Until.IsZero() && d.DeadAt.After(f.Until) {
		return false
	}
	return f.Since.IsZero() || !d.DeadAt.Before(f.Since)
}

// DeadLetters lists the dead letters matching f, oldest first.
func (q *Queue) DeadLetters(ctx context.Context, f ReplayFilter) ([]DeadLetter, error) {
	var out []DeadLetter
	err := q.scanDead(ctx, f, func(d DeadLetter) error {
		out = append(out, d)
		return nil
	})
	return out, err
}

// Replay enqueues the dead letters matching f again and removes them from
// the dead letters. A replayed job keeps its Job.ID, so the partner sees
// the same Idempotency-Key, but is published under a new message id so the
// duplicate window does not drop it; its retry budget starts afresh.
// Replaying one dead letter twice (say after a crash between the two
// steps) enqueues it once.
func (q *Queue) Replay(ctx context.Context, f ReplayFilter) (int, error) {
	n := 0
	err := q.scanDead(ctx, f, func(d DeadLetter) error {
		j := d.Job
		if j.ID == "" {
			return nil // undecodable: left for inspection
		}
		j.Replays++
		j.EnqueuedAt = time.Now().UTC()
		if err := q.Enqueue(ctx, j); err != nil {
			return err
		}
		if err := q.st().dead.DeleteMsg(ctx, d.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("queue: replay %s: removing dead letter: %w", j.ID, err)
		}
		n++
		return nil
	})
	return n, err
}

// scanDead calls fn for each matching dead letter, reading the stream with
// an ordered consumer filtered by app and partner.
func (q *Queue) scanDead(ctx context.Context, f ReplayFilter, fn func(DeadLetter) error) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{q.deadFilter(f.App, f.Partner)},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute,
	}
	if !f.Since.IsZero() {
		since := f.Since
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
	}
	found := 0
	var fnErr error
	err := q.readOrdered(ctx, q.st().dead, cfg, func(msg jetstream.Msg, md *jetstream.MsgMetadata) (bool, error) {
		d := decodeDead(msg.Data(), msg.Headers(), md)
		if !f.match(&d) {
			return true, nil
		}
		found++
		if fnErr = fn(d); fnErr != nil {
			return false, fnErr
		}
		return f.Limit <= 0 || found < f.Limit, nil
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil, ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// fn's errors say what they are; a cancelled read was asked for.
		return err
	}
	return fmt.Errorf("queue: reading dead letters: %w", err)
}

func decodeDead(data []byte, h nats.Header, md *jetstream.MsgMetadata) DeadLetter {
	d := DeadLetter{Seq: md.Sequence.Stream, DeadAt: md.Timestamp, Reason: h.Get(hdrReason)}
	d.Attempts, _ = strconv.Atoi(h.Get(hdrAttempts))
	// An undecodable job (zero Job) is listed for inspection but cannot
	// be replayed; its reason says so already.
	d.Job, _ = decodeJob(data)
	return d
}
