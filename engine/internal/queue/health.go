package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// eventProbeSubject is inside the event stream's subjects but has two
// tokens where an event subject has one (its app): no render consumer is
// interested in it, so interest retention drops it once stored.
func (q *Queue) eventProbeSubject() string { return q.cfg.Subject + ".ev.probe.probe" }

// Probe checks that the event and work streams accept a write now: it
// stores a small message in each (deleting the work stream's again). An error means a
// publish of events or an enqueue of postbacks would fail too (a full
// disk, a stream without a leader, JetStream disabled after a storage
// error), whatever the state of the connection. It also looks for data
// the store reports lost since the last look, and reports it as a Loss.
func (q *Queue) Probe(ctx context.Context) error {
	// No consumer is interested in the event probe: the stream drops it
	// itself once stored.
	_, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: q.eventProbeSubject(), Data: []byte("probe")})
	if err != nil {
		return fmt.Errorf("queue: write probe to stream %s: %w", q.cfg.EventStream, err)
	}
	ack, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: q.probeSubject(), Data: []byte("probe")})
	if err != nil {
		return fmt.Errorf("queue: write probe to stream %s: %w", q.cfg.Stream, err)
	}
	if err := q.st().work.DeleteMsg(ctx, ack.Sequence); err != nil {
		return fmt.Errorf("queue: deleting write probe %d from stream %s: %w", ack.Sequence, q.cfg.Stream, err)
	}
	return q.checkLost(ctx)
}

// checkLost reports the messages each stream says it lost that were not
// reported before (the server keeps its list until the stream is purged
// or restarted, so each is reported once per process), then records the
// streams' state for the next start (see checkMarks).
func (q *Queue) checkLost(ctx context.Context) error {
	marks := map[string]streamMark{}
	for _, st := range []jetstream.Stream{q.st().work, q.st().dead, q.st().events} {
		info, err := st.Info(ctx)
		if err != nil {
			return fmt.Errorf("queue: stream info: %w", err)
		}
		name := info.Config.Name
		marks[name] = streamMark{LastSeq: info.State.LastSeq, Msgs: info.State.Msgs}
		lost := info.State.Lost
		if lost == nil || len(lost.Msgs) == 0 {
			continue
		}
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
	q.writeMarks(queueMarks{Streams: marks})
	return nil
}

// The embedded server does not always know what it lost: a message block
// found corrupted when the server starts is truncated, with a warning in
// its log, and the stream carries on with fewer messages and a lower last
// sequence, its Lost list empty. So the queue records each stream's last
// sequence and message count in the data directory (every probe, and
// marked clean at Close) and compares at the next Open: a last sequence
// lower than recorded means the messages after it are gone; after a clean
// Close, nothing consumes the streams until Open, so fewer messages than
// recorded means messages are gone (corrupted, or expired by MaxAge while
// stopped).
const marksFile = "queue-marks.json"

type streamMark struct {
	LastSeq uint64 `json:"last_seq"`
	Msgs    uint64 `json:"msgs"`
}

type queueMarks struct {
	Clean   bool                  `json:"clean"`
	Streams map[string]streamMark `json:"streams"`
}

// marksPath is the marks file, or "" for an external server: its streams
// are shared and outlive this process's view of them.
func (q *Queue) marksPath() string {
	if q.cfg.URL != "" || q.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(q.cfg.DataDir, marksFile)
}

// writeMarks replaces the marks file. A failure (a full disk) is only
// logged at debug level: the probe reports the disk, and the previous
// marks stay valid for the check.
func (q *Queue) writeMarks(m queueMarks) {
	path := q.marksPath()
	if path == "" {
		return
	}
	b, err := json.Marshal(m)
	if err == nil {
		tmp := path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		q.log.Debug("queue: recording stream marks", "err", err)
	}
}

// checkMarks compares the streams with the marks the last run recorded
// and reports what is missing.
func (q *Queue) checkMarks(ctx context.Context) error {
	path := q.marksPath()
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue: reading %s: %w", path, err)
	}
	var m queueMarks
	if err := json.Unmarshal(b, &m); err != nil {
		q.log.Warn("queue: ignoring unreadable stream marks", "file", path, "err", err)
		return nil
	}
	for _, st := range []jetstream.Stream{q.st().work, q.st().dead, q.st().events} {
		info, err := st.Info(ctx)
		if err != nil {
			return fmt.Errorf("queue: stream info: %w", err)
		}
		name := info.Config.Name
		mark, ok := m.Streams[name]
		if !ok {
			continue
		}
		cur := info.State
		switch {
		case cur.LastSeq < mark.LastSeq:
			// Every sequence after the current last is gone; after a
			// crash some of them may have been delivered and acked
			// first, so the count is an upper bound then.
			n := mark.LastSeq - cur.LastSeq
			if m.Clean {
				n = min(n, mark.Msgs)
			}
			seqs := make([]uint64, 0, min(n, maxLossSeqs))
			for s := cur.LastSeq + 1; s <= mark.LastSeq && len(seqs) < maxLossSeqs; s++ {
				seqs = append(seqs, s)
			}
			detail := "the stream ends at sequence " + strconv.FormatUint(cur.LastSeq, 10) + ", the last run recorded " + strconv.FormatUint(mark.LastSeq, 10)
			if !m.Clean {
				detail += " (the last run did not close cleanly: some of these may have been delivered)"
			}
			q.reportLoss(Loss{Stream: name, Reason: "store", Msgs: int(n), Seqs: seqs, Detail: detail})
		case m.Clean && cur.Msgs < mark.Msgs:
			q.reportLoss(Loss{Stream: name, Reason: "store", Msgs: int(mark.Msgs - cur.Msgs),
				Detail: fmt.Sprintf("%d messages at the last clean close, %d now (corrupted store, or expired by max age while stopped)", mark.Msgs, cur.Msgs)})
		}
	}
	return nil
}

// markClean records the streams' state as of a clean close.
func (q *Queue) markClean(ctx context.Context) {
	if q.marksPath() == "" || q.st().work == nil {
		return
	}
	marks := map[string]streamMark{}
	for _, st := range []jetstream.Stream{q.st().work, q.st().dead, q.st().events} {
		info, err := st.Info(ctx)
		if err != nil {
			q.log.Warn("queue: recording stream marks at close", "err", err)
			return
		}
		marks[info.Config.Name] = streamMark{LastSeq: info.State.LastSeq, Msgs: info.State.Msgs}
	}
	q.writeMarks(queueMarks{Clean: true, Streams: marks})
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
