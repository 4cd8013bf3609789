package queue

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Loss is queue data that can no longer be delivered as it was enqueued:
// messages the store lost (a corrupted or truncated file found on
// recovery) or a message whose job could not be read.
type Loss struct {
	// Stream names the stream (Config.Stream or Config.DeadStream).
	Stream string
	// Reason is "store" (the server reports the messages lost),
	// "undecodable" (the job's bytes do not decode; the raw message is
	// kept as a dead letter) or "no_metadata" (a delivered message without
	// JetStream metadata, terminated).
	Reason string
	// Msgs counts the messages; Seqs are their stream sequences, where
	// known (at most maxLossSeqs of them).
	Msgs  int
	Seqs  []uint64
	Bytes uint64
	// Detail is the decoding error, for the undecodable and no_metadata
	// reasons.
	Detail string
}

// maxLossSeqs bounds the sequences one Loss (and its log line) carries.
const maxLossSeqs = 100

// probeSubject is inside the work stream's subjects, so a probe write
// takes the same path to the same stream leader and store as an enqueue,
// but it is not a work subject (those have an app and a partner token):
// no worker ever consumes it.
func (q *Queue) probeSubject() string { return q.cfg.Subject + ".pb.probe" }

// Probe checks that the work stream accepts a write now: it stores a small
// message and deletes it again. An error means an enqueue would fail too
// (a full disk, a stream without a leader, JetStream disabled after a
// storage error), whatever the state of the connection. It also looks for
// data the store reports lost since the last look, and reports it as a
// Loss.
func (q *Queue) Probe(ctx context.Context) error {
	ack, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: q.probeSubject(), Data: []byte("probe")})
	if err != nil {
		return fmt.Errorf("queue: write probe to stream %s: %w", q.cfg.Stream, err)
	}
	if err := q.work.DeleteMsg(ctx, ack.Sequence); err != nil {
		return fmt.Errorf("queue: deleting write probe %d from stream %s: %w", ack.Sequence, q.cfg.Stream, err)
	}
	return q.checkLost(ctx)
}

// checkLost reports the messages each stream says it lost that were not
// reported before. The server keeps its list until the stream is purged
// or restarted, so each message is reported once per process.
func (q *Queue) checkLost(ctx context.Context) error {
	for _, st := range []jetstream.Stream{q.work, q.dead} {
		info, err := st.Info(ctx)
		if err != nil {
			return fmt.Errorf("queue: stream info: %w", err)
		}
		lost := info.State.Lost
		if lost == nil || len(lost.Msgs) == 0 {
			continue
		}
		name := info.Config.Name
		q.lostMu.Lock()
		if q.lostSeen == nil {
			q.lostSeen = map[string]map[uint64]bool{}
		}
		seen := q.lostSeen[name]
		if seen == nil {
			seen = map[uint64]bool{}
			q.lostSeen[name] = seen
		}
		var fresh []uint64
		for _, s := range lost.Msgs {
			if !seen[s] {
				seen[s] = true
				fresh = append(fresh, s)
			}
		}
		q.lostMu.Unlock()
		if len(fresh) == 0 {
			continue
		}
		slices.Sort(fresh)
		// Bytes is the stream's running total; attribute it only when
		// every lost message is new.
		var bytes uint64
		if len(fresh) == len(lost.Msgs) {
			bytes = lost.Bytes
		}
		q.reportLoss(Loss{Stream: name, Reason: "store", Msgs: len(fresh), Seqs: fresh[:min(len(fresh), maxLossSeqs)], Bytes: bytes})
	}
	return nil
}

// reportLoss logs a loss as an error, saying what was lost, and hands it to
// Config.OnLoss.
func (q *Queue) reportLoss(l Loss) {
	seqs := make([]string, len(l.Seqs))
	for i, s := range l.Seqs {
		seqs[i] = strconv.FormatUint(s, 10)
	}
	what := "postbacks"
	if l.Stream == q.cfg.DeadStream {
		what = "dead letters"
	}
	q.log.Error("queue: "+what+" lost", "stream", l.Stream, "reason", l.Reason, "messages", l.Msgs,
		"sequences", seqs, "bytes", l.Bytes, "detail", l.Detail)
	if q.cfg.OnLoss != nil {
		q.cfg.OnLoss(l)
	}
}
