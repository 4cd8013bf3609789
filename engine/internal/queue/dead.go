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
	// Class is the error class (see ErrorClass); StatusCode the last
	// answer's status (0: none, or a dead letter from before it was kept);
	// DecidedBy the policy rule that made the verdict, when known.
	Class      string
	StatusCode int
	DecidedBy  string
}

// ReplayFilter selects dead letters. Empty fields match everything; IDs
// match Job.ID (the postback id); Since and Until bound DeadAt.
type ReplayFilter struct {
	IDs          []string
	App, Partner string
	Since, Until time.Time
	// ErrorClass, when set, matches DeadLetter.Class.
	ErrorClass string
	// From starts the scan at this dead-letter sequence (a page cursor).
	From uint64
	// Limit stops after this many matches; 0 means no limit.
	Limit int
}

func (f *ReplayFilter) match(d *DeadLetter) bool {
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, d.Job.ID) {
		return false
	}
	if f.ErrorClass != "" && d.Class != f.ErrorClass {
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

// DeadLetterPage lists up to f.Limit dead letters matching f, oldest
// first, and the sequence the next page starts at (0: there is none).
func (q *Queue) DeadLetterPage(ctx context.Context, f ReplayFilter) ([]DeadLetter, uint64, error) {
	limit := f.Limit
	if limit > 0 {
		// One more than asked: it tells whether a next page exists, so no
		// cursor ever leads to an empty page.
		f.Limit++
	}
	list, err := q.DeadLetters(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	if limit > 0 && len(list) > limit {
		return list[:limit], list[limit].Seq, nil
	}
	return list, 0, nil
}

// ReplayFailure is a dead letter Replay could not send again: it stays a
// dead letter.
type ReplayFailure struct {
	ID    string
	Seq   uint64
	Error string
}

// ReplayResult is what Replay did.
type ReplayResult struct {
	Replayed int
	Failed   []ReplayFailure
	// ReplayedIDs lists the replayed jobs' ids when the filter named ids
	// (so the caller can tell which were not found).
	ReplayedIDs []string
}

// Rework makes the job a dead letter is replayed as (rendering it again,
// say). An error leaves the dead letter in place and is reported per id.
type Rework func(ctx context.Context, d DeadLetter) (Job, error)

// Replay enqueues the dead letters matching f again and removes them from
// the dead letters. A replayed job keeps its Job.ID, so the partner sees
// the same Idempotency-Key, but is published under a new message id so the
// duplicate window does not drop it; its retry budget starts afresh.
// Replaying one dead letter twice (say after a crash between the two
// steps) enqueues it once. rework, if not nil, makes the job to enqueue
// from each dead letter.
func (q *Queue) Replay(ctx context.Context, f ReplayFilter, rework Rework) (ReplayResult, error) {
	var res ReplayResult
	err := q.scanDead(ctx, f, func(d DeadLetter) error {
		if d.Job.ID == "" {
			return nil // undecodable: left for inspection
		}
		j := d.Job
		// Sent as it was rendered: its own config version is the one it
		// is replayed of, whatever an earlier rerender recorded.
		j.OriginalConfigVersion = ""
		if rework != nil {
			var err error
			if j, err = rework(ctx, d); err != nil {
				res.Failed = append(res.Failed, ReplayFailure{ID: d.Job.ID, Seq: d.Seq, Error: err.Error()})
				return nil
			}
		}
		j.Replays = d.Job.Replays + 1
		j.EnqueuedAt = time.Now().UTC()
		// Attempts start over, at once.
		j.Attempts, j.NotBefore = 0, time.Time{}
		if err := q.Enqueue(ctx, j); err != nil {
			return err
		}
		if err := q.st().dead.DeleteMsg(ctx, d.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("queue: replay %s: removing dead letter: %w", j.ID, err)
		}
		res.Replayed++
		if len(f.IDs) > 0 {
			res.ReplayedIDs = append(res.ReplayedIDs, j.ID)
		}
		return nil
	})
	return res, err
}

// ScanDead calls fn for each dead letter matching f, oldest first,
// without changing anything (a dry run of Replay).
func (q *Queue) ScanDead(ctx context.Context, f ReplayFilter, fn func(DeadLetter) error) error {
	return q.scanDead(ctx, f, fn)
}

// scanDead calls fn for each matching dead letter, reading the stream with
// an ordered consumer filtered by app and partner.
func (q *Queue) scanDead(ctx context.Context, f ReplayFilter, fn func(DeadLetter) error) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{q.deadFilter(f.App, f.Partner)},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute,
	}
	switch {
	case f.From > 0:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = f.From
	case !f.Since.IsZero():
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
	d := DeadLetter{Seq: md.Sequence.Stream, DeadAt: md.Timestamp, Reason: h.Get(hdrReason), DecidedBy: h.Get(hdrDecidedBy)}
	d.Attempts, _ = strconv.Atoi(h.Get(hdrAttempts))
	d.StatusCode, _ = strconv.Atoi(h.Get(hdrStatus))
	d.Class = ErrorClass(h.Get(hdrClass), d.StatusCode, d.Reason)
	// An undecodable job (zero Job) is listed for inspection but cannot
	// be replayed; its reason says so already.
	d.Job, _ = decodeJob(data)
	return d
}
