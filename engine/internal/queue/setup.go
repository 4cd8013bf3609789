package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Every stream and consumer adgate creates goes through ensureStream and
// ensureConsumer, so each gets the configured replicas and placement and
// the same rules for what already exists:
//
//   - what is missing is created; "already exists" from a concurrent
//     start is success, and creation is retried until setupDeadline on the
//     errors a cluster gives while it elects leaders;
//   - what exists is compared field by field: the fields adgate owns are
//     updated, everything else an operator set (limits, mirrors, ...) is
//     kept; a difference adgate cannot live with (subjects, retention,
//     storage) refuses the start with a SetupError naming it;
//   - replicas, max age and max bytes only ever go up: an operator's R5
//     stays R5, a longer retention is never shortened (that would drop
//     messages).

// SetupError is a stream or consumer whose existing configuration adgate
// cannot use and will not change.
type SetupError struct {
	// Kind is "stream" or "consumer"; Name is its name (stream/consumer
	// for a consumer).
	Kind, Name string
	// Field is the JetStream configuration field; Have is what the
	// server has, Want what adgate needs.
	Field, Have, Want string
}

func (e *SetupError) Error() string {
	fix := "change it with `nats " + e.Kind + " edit`"
	switch e.Field {
	case "retention", "storage":
		// JetStream cannot edit these in place.
		fix = "JetStream cannot edit " + e.Field + " in place: move its messages elsewhere, then remove it (`nats stream rm`) and adgate creates it anew"
	case "filter_subject", "ack_policy":
		// A work-queue consumer holds no messages, only their ack state.
		fix = "remove it (`nats consumer rm`): its messages stay in the stream, and adgate creates the consumer anew"
	}
	return fmt.Sprintf("queue: %s %s exists with %s %s, adgate needs %s; adgate leaves it as it is: %s",
		e.Kind, e.Name, e.Field, e.Have, e.Want, fix)
}

// setupDeadline bounds the retries of one stream or consumer setup when
// the caller's context has no earlier deadline. A fresh R3 stream on a
// cluster that is still forming its meta group can take seconds.
const setupDeadline = time.Minute

// setupAttempt bounds one try of a setup within setupDeadline.
const setupAttempt = 10 * time.Second

// retrySetup calls f until it succeeds, fails in a way retrying cannot
// fix, or the deadline passes. Several adgate instances starting at once
// race to create the same streams; the loser sees "already exists" (which
// f treats as success) or a timeout while the winner's stream elects its
// leader (retried).
func retrySetup(ctx context.Context, what string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, setupDeadline)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		// Each attempt has its own bound: a request lost while the
		// cluster elects a leader must not use up the whole deadline
		// (seen on a loaded machine: one hung create, then no retry).
		actx, acancel := context.WithTimeout(ctx, setupAttempt)
		err := f(actx)
		acancel()
		if err == nil {
			return nil
		}
		if se := (*SetupError)(nil); errors.As(err, &se) || !transient(err) {
			return err
		}
		// Jitter so instances that collided do not collide again.
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("queue: %s: still failing at the setup deadline: %w", what, err)
		case <-t.C:
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// transient reports whether a setup error may go away by itself: a
// timeout, no responders while JetStream starts, a cluster without a meta
// leader, a connection being re-established.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503: JetStream temporarily unavailable, no meta leader,
		// insufficient resources while peers join; 408: request timeout
		// inside the cluster.
		return apiErr.Code == 503 || apiErr.Code == 408 ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamNameInUse ||
			apiErr.ErrorCode == jetstream.JSErrCodeConsumerNameExists ||
			apiErr.ErrorCode == jetstream.JSErrCodeConsumerExists ||
			apiErr.ErrorCode == jetstream.JSErrCodeConsumerAlreadyExists
	}
	return false
}

// ensureStream makes sure stream want.Name exists as adgate needs it and
// returns it. want carries adgate's fields; replicas and placement come
// from the queue config.
func (q *Queue) ensureStream(ctx context.Context, want jetstream.StreamConfig) (jetstream.Stream, error) {
	want.Replicas = max(q.cfg.Replicas, 1)
	if p := q.cfg.Placement; p != nil {
		want.Placement = &jetstream.Placement{Cluster: p.Cluster, Tags: p.Tags}
	}
	var st jetstream.Stream
	err := retrySetup(ctx, "stream "+want.Name, func(ctx context.Context) error {
		s, err := q.js.Stream(ctx, want.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			s, err = q.js.CreateStream(ctx, want)
			if err == nil {
				// The server also answers success when an identical
				// stream exists (another instance just made it).
				q.log.Info("queue: stream created (or found identical)", "stream", want.Name, "replicas", want.Replicas)
				st = s
				return nil
			}
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				// Another instance won the race: compare with theirs.
				s, err = q.js.Stream(ctx, want.Name)
			}
		}
		if err != nil {
			return err
		}
		have := s.CachedInfo().Config
		merged, err := mergeStream(have, want, q.cfg.Replicas > 0, q.cfg.Placement != nil)
		if err != nil {
			return err
		}
		if diff := streamChanges(have, merged); diff != "" {
			s, err = q.js.UpdateStream(ctx, merged)
			if err != nil {
				return fmt.Errorf("queue: updating stream %s (%s): %w", want.Name, diff, err)
			}
			q.log.Info("queue: updated stream", "stream", want.Name, "changes", diff)
		}
		if q.cfg.Replicas > 0 && have.Replicas > q.cfg.Replicas {
			q.log.Info("queue: stream keeps more replicas than configured", "stream", want.Name, "replicas", have.Replicas, "configured", q.cfg.Replicas)
		}
		st = s
		return nil
	})
	if err != nil {
		var se *SetupError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("queue: stream %s: %w", want.Name, err)
	}
	return st, nil
}

// ensureKV makes sure KV bucket name exists and returns it. A bucket is
// a stream (KV_<name>), so it goes through ensureStream with the
// configuration the client would give it: the configured replicas and
// placement, and what an operator changed (history, limits) kept.
// maxAge, when not 0, is the keys' time to live.
func (q *Queue) ensureKV(ctx context.Context, name, description string, maxAge time.Duration) (jetstream.KeyValue, error) {
	_, err := q.ensureStream(ctx, jetstream.StreamConfig{
		MaxAge:            maxAge,
		Name:              "KV_" + name,
		Description:       description,
		Subjects:          []string{"$KV." + name + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxMsgsPerSubject: 1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgSize:        -1,
		MaxConsumers:      -1,
		AllowRollup:       true,
		DenyDelete:        true,
		AllowDirect:       true,
		Duplicates:        2 * time.Minute,
		Discard:           jetstream.DiscardNew,
	})
	if err != nil {
		return nil, err
	}
	kv, err := q.js.KeyValue(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("queue: KV bucket %s: %w", name, err)
	}
	return kv, nil
}

// mergeStream is have with the fields adgate owns taken from want, or a
// SetupError for a difference adgate needs and will not force.
// withReplicas and withPlacement say whether the config sets them.
func mergeStream(have, want jetstream.StreamConfig, withReplicas, withPlacement bool) (jetstream.StreamConfig, error) {
	refuse := func(field, h, w string) error {
		return &SetupError{Kind: "stream", Name: want.Name, Field: field, Have: h, Want: w}
	}
	for _, s := range want.Subjects {
		if !slices.Contains(have.Subjects, s) {
			return have, refuse("subjects", fmt.Sprintf("%q", have.Subjects), fmt.Sprintf("%q among them", s))
		}
	}
	if have.Retention != want.Retention {
		return have, refuse("retention", have.Retention.String(), want.Retention.String())
	}
	if have.Storage != want.Storage {
		return have, refuse("storage", have.Storage.String(), want.Storage.String())
	}
	// The write probe and replay delete messages; a sealed stream takes
	// no writes at all. A KV bucket's stream denies deletes by design (its
	// keys are deleted with markers), and asks for it.
	if have.DenyDelete && !want.DenyDelete {
		return have, refuse("deny_delete", "set", "unset")
	}
	if have.Sealed {
		return have, refuse("sealed", "set", "unset")
	}
	// A KV bucket needs at least one value per key; the client refuses a
	// bucket without. More history is the operator's choice.
	if want.MaxMsgsPerSubject > 0 && have.MaxMsgsPerSubject < 1 {
		return have, refuse("max_msgs_per_subject", strconv.FormatInt(have.MaxMsgsPerSubject, 10), "at least 1")
	}
	m := have
	m.Description = want.Description
	// A stream that states no window (history, the archive) takes the
	// server's default and keeps whatever the stream has, rather than
	// being "updated" to zero at every start.
	if want.Duplicates != 0 {
		m.Duplicates = want.Duplicates
	}
	m.Discard = want.Discard
	// Never shorten: a shorter max age expires messages at once.
	if have.MaxAge != 0 && have.MaxAge < want.MaxAge {
		m.MaxAge = want.MaxAge
	}
	// Likewise a size limit adgate sets only grows; where it sets none
	// (<= 0), an operator's is kept, and it never removes one.
	if have.MaxBytes > 0 && want.MaxBytes > have.MaxBytes {
		m.MaxBytes = want.MaxBytes
	}
	if withReplicas && have.Replicas < want.Replicas {
		m.Replicas = want.Replicas
	}
	if withPlacement && !samePlacement(have.Placement, want.Placement) {
		m.Placement = want.Placement
	}
	return m, nil
}

func samePlacement(a, b *jetstream.Placement) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cluster == b.Cluster && slices.Equal(a.Tags, b.Tags)
}

// streamChanges names the fields merged changes from have ("" for none).
func streamChanges(have, merged jetstream.StreamConfig) string {
	var out []string
	add := func(field string, h, m any) { out = append(out, fmt.Sprintf("%s %v -> %v", field, h, m)) }
	if have.Description != merged.Description {
		add("description", fmt.Sprintf("%q", have.Description), fmt.Sprintf("%q", merged.Description))
	}
	if have.Duplicates != merged.Duplicates {
		add("duplicate_window", have.Duplicates, merged.Duplicates)
	}
	if have.Discard != merged.Discard {
		add("discard", have.Discard, merged.Discard)
	}
	if have.MaxAge != merged.MaxAge {
		add("max_age", have.MaxAge, merged.MaxAge)
	}
	if have.MaxBytes != merged.MaxBytes {
		add("max_bytes", have.MaxBytes, merged.MaxBytes)
	}
	if have.Replicas != merged.Replicas {
		add("replicas", have.Replicas, merged.Replicas)
	}
	if !samePlacement(have.Placement, merged.Placement) {
		add("placement", placementString(have.Placement), placementString(merged.Placement))
	}
	return strings.Join(out, ", ")
}

func placementString(p *jetstream.Placement) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("cluster=%q tags=%q", p.Cluster, p.Tags)
}

// ensureConsumer makes sure durable consumer want.Durable exists on st as
// adgate needs it. Its replicas are explicit: the stream's (a consumer
// with fewer replicas than its stream loses its ack state with a node).
func (q *Queue) ensureConsumer(ctx context.Context, st jetstream.Stream, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	name := st.CachedInfo().Config.Name + "/" + want.Durable
	var c jetstream.Consumer
	err := retrySetup(ctx, "consumer "+name, func(ctx context.Context) error {
		si, err := st.Info(ctx)
		if err != nil {
			return err
		}
		want.Replicas = si.Config.Replicas
		cur, err := st.Consumer(ctx, want.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			cur, err = st.CreateConsumer(ctx, want)
			if err == nil {
				c = cur
				return nil
			}
			if errors.Is(err, jetstream.ErrConsumerExists) {
				cur, err = st.Consumer(ctx, want.Durable)
			}
		}
		if err != nil {
			return err
		}
		have := cur.CachedInfo().Config
		merged, err := mergeConsumer(name, have, want)
		if err != nil {
			return err
		}
		if diff := consumerChanges(have, merged); diff != "" {
			cur, err = st.UpdateConsumer(ctx, merged)
			if err != nil {
				return fmt.Errorf("queue: updating consumer %s (%s): %w", name, diff, err)
			}
			q.log.Info("queue: updated consumer", "consumer", name, "changes", diff)
		}
		c = cur
		return nil
	})
	if err != nil {
		var se *SetupError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("queue: consumer %s: %w", name, err)
	}
	return c, nil
}

// mergeConsumer is like mergeStream for a consumer.
func mergeConsumer(name string, have, want jetstream.ConsumerConfig) (jetstream.ConsumerConfig, error) {
	refuse := func(field, h, w string) error {
		return &SetupError{Kind: "consumer", Name: name, Field: field, Have: h, Want: w}
	}
	haveFilter := have.FilterSubject
	if haveFilter == "" && len(have.FilterSubjects) == 1 {
		haveFilter = have.FilterSubjects[0]
	}
	if haveFilter != want.FilterSubject {
		return have, refuse("filter_subject", fmt.Sprintf("%q", haveFilter), fmt.Sprintf("%q", want.FilterSubject))
	}
	if have.AckPolicy != want.AckPolicy {
		return have, refuse("ack_policy", have.AckPolicy.String(), want.AckPolicy.String())
	}
	m := have
	m.Description = want.Description
	m.AckWait = want.AckWait
	m.MaxDeliver = want.MaxDeliver
	m.MaxAckPending = want.MaxAckPending
	if have.Replicas != 0 && have.Replicas < want.Replicas {
		m.Replicas = want.Replicas
	}
	return m, nil
}

func consumerChanges(have, merged jetstream.ConsumerConfig) string {
	var out []string
	add := func(field string, h, m any) { out = append(out, fmt.Sprintf("%s %v -> %v", field, h, m)) }
	if have.Description != merged.Description {
		add("description", fmt.Sprintf("%q", have.Description), fmt.Sprintf("%q", merged.Description))
	}
	if have.AckWait != merged.AckWait {
		add("ack_wait", have.AckWait, merged.AckWait)
	}
	if have.MaxDeliver != merged.MaxDeliver {
		add("max_deliver", have.MaxDeliver, merged.MaxDeliver)
	}
	if have.MaxAckPending != merged.MaxAckPending {
		add("max_ack_pending", have.MaxAckPending, merged.MaxAckPending)
	}
	if have.Replicas != merged.Replicas {
		add("replicas", have.Replicas, merged.Replicas)
	}
	return strings.Join(out, ", ")
}
