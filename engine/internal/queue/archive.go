package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotArchived is ArchivedEvent's answer for an event the archive no
// longer (or never) held: older than its retention, or accepted before
// the archive existed.
var ErrNotArchived = errors.New("event no longer archived")

// ArchivedEvent returns the event app accepted as id, stored at sequence
// seq of the event stream, from the event archive.
func (q *Queue) ArchivedEvent(ctx context.Context, app, id string, seq uint64) (Event, error) {
	if seq == 0 {
		return Event{}, fmt.Errorf("%w: the postback does not record its event (rendered before the archive existed)", ErrNotArchived)
	}
	msg, err := q.st().archive.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Event{}, fmt.Errorf("%w: event %s (sequence %d) is past the archive's retention", ErrNotArchived, id, seq)
	}
	if err != nil {
		return Event{}, fmt.Errorf("queue: reading the event archive: %w", err)
	}
	// The sequence came from a job: check it still names this event (an
	// archive recreated from scratch numbers anew).
	if msg.Subject != q.eventSubject(app) || msg.Header.Get(hdrEventID) != id {
		return Event{}, fmt.Errorf("%w: sequence %d of the archive holds another event", ErrNotArchived, seq)
	}
	ev, err := eventOf(app, msg.Header, msg.Data, seq)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrNotArchived, err)
	}
	return ev, nil
}

// awaitArchive waits (a few seconds at most) until the archive's mirror
// runs. The mirror is not an interest of the event stream: an event every
// partner rendered before the mirror copied it is not archived, which on a
// fresh start (the mirror sets up within a few hundred milliseconds) is a
// real race; once it runs, the server copies each event as it is stored.
func (q *Queue) awaitArchive(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		info, err := q.st().archive.Info(ctx)
		if err == nil && info.Mirror != nil && info.Mirror.Active >= 0 && info.Mirror.Error == nil {
			return
		}
		select {
		case <-ctx.Done():
			q.log.Warn("queue: the event archive's mirror is not running yet; events rendered meanwhile cannot be rendered again on replay", "stream", q.cfg.ArchiveStream)
			return
		case <-time.After(25 * time.Millisecond):
		}
	}
}
