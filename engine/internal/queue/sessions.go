package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RevokeSession records that console session id was logged out; it stays
// refused until, at the latest, SessionMaxAge later (the bucket's time to
// live, longer than a session lives).
func (q *Queue) RevokeSession(ctx context.Context, id string, until time.Time) error {
	if _, err := q.streams.Load().sessions.Put(ctx, id, []byte(strconv.FormatInt(until.Unix(), 10))); err != nil {
		return fmt.Errorf("queue: revoking a console session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether console session id was logged out by
// any instance sharing the queue.
func (q *Queue) SessionRevoked(ctx context.Context, id string) (bool, error) {
	_, err := q.streams.Load().sessions.Get(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("queue: reading the console's logged-out sessions: %w", err)
	}
}
