package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Pausing an (app, partner) pair stops its delivery workers from taking
// jobs: the jobs wait in the work stream (nothing is dropped, no attempt
// is spent) until the pair is resumed. The state lives in a KV bucket
// (Config.ControlBucket), one key per pair, so every process sharing the
// queue obeys it and it survives restarts; each process watches the
// bucket and keeps a copy that its workers consult.

// Pause is the control record of one (app, partner) pair. A resumed pair
// keeps its last pause (PausedAt to ResumedAt), so a postback that waited
// through it can say so after the pause ended.
type Pause struct {
	App       string    `json:"app"`
	Partner   string    `json:"partner"`
	Paused    bool      `json:"paused"`
	PausedAt  time.Time `json:"paused_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	By        string    `json:"by,omitempty"`
	ResumedAt time.Time `json:"resumed_at,omitzero"`
	ResumedBy string    `json:"resumed_by,omitempty"`
	// Revision is the bucket revision the record was read or written at;
	// an older one never replaces a newer one.
	Revision uint64 `json:"-"`
}

// pastPauses bounds the ended pauses remembered per pair (in memory: the
// bucket keeps the last one).
const pastPauses = 16

type interval struct{ from, to time.Time }

// controls is this process's copy of the control bucket.
type controls struct {
	mu    sync.Mutex
	state map[Key]Pause
	past  map[Key][]interval
	// versions are the revisions of the config version records, in the
	// order the versions first went live (see versions.go).
	versions map[string]uint64
	// changed is closed and replaced on every change, waking the workers
	// of paused pairs.
	changed chan struct{}
}

func newControls() *controls {
	return &controls{state: map[Key]Pause{}, past: map[Key][]interval{}, versions: map[string]uint64{}, changed: make(chan struct{})}
}

func (c *controls) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// apply records p unless a newer revision of its key is already known.
func (c *controls) apply(k Key, p Pause) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.state[k]; ok && cur.Revision >= p.Revision {
		return
	}
	c.set(k, p)
	c.notify()
}

// set records p; c.mu is held.
func (c *controls) set(k Key, p Pause) {
	c.state[k] = p
	if p.Paused || p.PausedAt.IsZero() || p.ResumedAt.IsZero() {
		return
	}
	past := c.past[k]
	for _, iv := range past {
		if iv.from.Equal(p.PausedAt) {
			return
		}
	}
	past = append(past, interval{from: p.PausedAt, to: p.ResumedAt})
	if len(past) > pastPauses {
		past = past[len(past)-pastPauses:]
	}
	c.past[k] = past
}

// remove forgets k, whose key was deleted at revision rev (behind
// adgate's back: nats kv del): a pause then ends now.
func (c *controls) remove(k Key, rev uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.state[k]; ok && cur.Revision >= rev {
		return
	}
	c.removeLocked(k, now)
	c.notify()
}

func (c *controls) removeLocked(k Key, now time.Time) {
	if cur, ok := c.state[k]; ok && cur.Paused {
		cur.Paused, cur.ResumedAt = false, now
		c.set(k, cur)
	}
	delete(c.state, k)
}

// snapshot is the bucket as a fresh watch read it: each key's last
// record (deleted for a delete or purge marker), and lastSeq, the
// bucket's last revision before the read began.
type snapshot struct {
	entries map[Key]snapEntry
	lastSeq uint64
}

type snapEntry struct {
	p       Pause
	deleted bool
}

// replace brings the copy to a snapshot. Revisions decide: a record
// written here while the read was under way is newer than the snapshot's
// and stays, and a key the snapshot does not hold is gone only if it is
// older than the read.
func (c *controls) replace(snap snapshot, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, cur := range c.state {
		if _, ok := snap.entries[k]; !ok && cur.Revision <= snap.lastSeq {
			c.removeLocked(k, now)
		}
	}
	for k, e := range snap.entries {
		if cur, ok := c.state[k]; ok && cur.Revision >= e.p.Revision {
			continue
		}
		if e.deleted {
			c.removeLocked(k, now)
			continue
		}
		c.set(k, e.p)
	}
	c.notify()
}

func (c *controls) get(k Key) (Pause, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.state[k]
	return p, ok
}

// pausedWait reports whether k is paused and a channel that is closed at
// the next change.
func (c *controls) pausedWait(k Key) (<-chan struct{}, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed, c.state[k].Paused
}

// Pause pauses k: its delivery workers take no job until Resume. Pausing
// a paused pair keeps its PausedAt and replaces the reason. by says who
// asked (for the record and the logs).
func (q *Queue) Pause(ctx context.Context, k Key, reason, by string, now time.Time) (Pause, error) {
	return q.updateControl(ctx, k, func(cur Pause, exists bool) (Pause, bool) {
		if exists && cur.Paused {
			cur.Reason = reason
			return cur, true
		}
		return Pause{App: k.App, Partner: k.Partner, Paused: true, PausedAt: now.UTC(), Reason: reason, By: by}, true
	})
}

// Resume resumes k. Resuming a pair that is not paused changes nothing.
func (q *Queue) Resume(ctx context.Context, k Key, by string, now time.Time) (Pause, error) {
	return q.updateControl(ctx, k, func(cur Pause, exists bool) (Pause, bool) {
		if !exists || !cur.Paused {
			return cur, false
		}
		cur.Paused, cur.ResumedAt, cur.ResumedBy = false, now.UTC(), by
		return cur, true
	})
}

// updateControl reads k's record, lets change derive the new one and
// writes it if the key did not change in between (another process
// pausing the same pair), retrying otherwise. The result is applied to
// this process's copy at once, before the watch brings it back.
func (q *Queue) updateControl(ctx context.Context, k Key, change func(cur Pause, exists bool) (Pause, bool)) (Pause, error) {
	kv := q.st().control
	if kv == nil {
		return Pause{}, errors.New("queue: control bucket not set up")
	}
	key := controlKey(k)
	for range 10 {
		var (
			cur    Pause
			exists bool
			rev    uint64
		)
		e, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return Pause{}, fmt.Errorf("queue: reading control %s: %w", key, err)
		default:
			rev = e.Revision()
			if cur, err = decodePause(e.Value()); err != nil {
				return Pause{}, fmt.Errorf("queue: control %s: %w", key, err)
			}
			cur.Revision, exists = rev, true
		}
		next, write := change(cur, exists)
		if !write {
			if exists {
				q.ctl.apply(k, cur)
			}
			return next, nil
		}
		b, err := json.Marshal(next)
		if err != nil {
			return Pause{}, fmt.Errorf("queue: encoding control %s: %w", key, err)
		}
		if exists {
			next.Revision, err = kv.Update(ctx, key, b, rev)
		} else {
			next.Revision, err = kv.Create(ctx, key, b)
		}
		if isConflict(err) {
			continue
		}
		if err != nil {
			return Pause{}, fmt.Errorf("queue: writing control %s: %w", key, err)
		}
		q.ctl.apply(k, next)
		return next, nil
	}
	return Pause{}, fmt.Errorf("queue: control %s keeps changing under concurrent writers; try again", key)
}

func isConflict(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Control returns k's record as this process knows it; false when it was
// never paused.
func (q *Queue) Control(k Key) (Pause, bool) { return q.ctl.get(k) }

// Controls returns every record this process knows.
func (q *Queue) Controls() map[Key]Pause {
	q.ctl.mu.Lock()
	defer q.ctl.mu.Unlock()
	out := make(map[Key]Pause, len(q.ctl.state))
	for k, p := range q.ctl.state {
		out[k] = p
	}
	return out
}

// PausedAt reports whether k was paused at t, and since when, as far as
// this process remembers (the current pause and the last pastPauses ended
// ones).
func (q *Queue) PausedAt(k Key, t time.Time) (since time.Time, ok bool) {
	c := q.ctl
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.state[k]; p.Paused && !t.Before(p.PausedAt) {
		return p.PausedAt, true
	}
	for _, iv := range c.past[k] {
		if !t.Before(iv.from) && !t.After(iv.to) {
			return iv.from, true
		}
	}
	return time.Time{}, false
}

// waitResumed blocks while k is paused; false when ctx ended first.
func (q *Queue) waitResumed(ctx context.Context, k Key) bool {
	for {
		ch, paused := q.ctl.pausedWait(k)
		if !paused {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}

// controlPrefix starts every pause key: pause.<app>.<partner>.
const controlPrefix = "pause."

func controlKey(k Key) string { return controlPrefix + kvToken(k.App) + "." + kvToken(k.Partner) }

func parseControlKey(key string) (Key, bool) {
	rest, ok := strings.CutPrefix(key, controlPrefix)
	if !ok {
		return Key{}, false
	}
	a, p, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(p, ".") {
		return Key{}, false
	}
	app, ok1 := unescapeKVToken(a)
	partner, ok2 := unescapeKVToken(p)
	return Key{App: app, Partner: partner}, ok1 && ok2
}

func decodePause(b []byte) (Pause, error) {
	var p Pause
	if err := json.Unmarshal(b, &p); err != nil {
		return Pause{}, fmt.Errorf("undecodable pause record: %w", err)
	}
	return p, nil
}

// loadControls reads the whole bucket into this process's copy, so the
// workers started next know which pairs are paused.
func (q *Queue) loadControls(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, setupAttempt)
	defer cancel()
	return q.readControls(ctx, nil, nil)
}

// readControls reads the whole bucket into the copy, then, with follow
// set, applies its changes until ctx ends (nil), reconnected fires (nil:
// read it again) or the watch fails.
func (q *Queue) readControls(ctx context.Context, reconnected <-chan nats.Status, follow func()) error {
	kv := q.st().control
	if kv == nil {
		return errors.New("queue: control bucket not set up")
	}
	st, err := q.js.Stream(ctx, "KV_"+q.cfg.ControlBucket)
	if err != nil {
		return fmt.Errorf("queue: reading the control bucket: %w", err)
	}
	snap := &snapshot{entries: map[Key]snapEntry{}, lastSeq: st.CachedInfo().State.LastSeq}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	w, err := kv.WatchAll(wctx)
	if err != nil {
		return fmt.Errorf("queue: reading the control bucket: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			if follow != nil {
				return nil
			}
			return fmt.Errorf("queue: reading the control bucket: %w", ctx.Err())
		case <-reconnected:
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("queue: watching the control bucket: watch ended")
			}
			switch {
			case e == nil && snap != nil:
				q.ctl.replace(*snap, time.Now().UTC())
				snap = nil
				if follow == nil {
					return nil
				}
				follow()
			case e != nil:
				q.controlEntry(e, snap)
			}
		}
	}
}

// controlEntry adds a bucket entry to snap (the initial read) or, with
// snap nil, applies it.
func (q *Queue) controlEntry(e jetstream.KeyValueEntry, snap *snapshot) {
	if v, ok := parseConfigKey(e.Key()); ok {
		q.configEntry(v, e)
		return
	}
	k, ok := parseControlKey(e.Key())
	if !ok {
		q.log.Warn("queue: ignoring a control key that is not adgate's", "bucket", q.cfg.ControlBucket, "key", e.Key())
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		if snap != nil {
			snap.entries[k] = snapEntry{p: Pause{Revision: e.Revision()}, deleted: true}
			return
		}
		q.ctl.remove(k, e.Revision(), time.Now().UTC())
		return
	}
	p, err := decodePause(e.Value())
	if err != nil {
		q.log.Warn("queue: ignoring a control record", "key", e.Key(), "err", err)
		return
	}
	p.App, p.Partner, p.Revision = k.App, k.Partner, e.Revision()
	if snap != nil {
		snap.entries[k] = snapEntry{p: p}
		return
	}
	q.ctl.apply(k, p)
}

// watchControls keeps this process's copy current until ctx ends. After
// a reconnection, or when the watch fails, it reads the whole bucket
// again: a change made while this process was cut off is not lost.
func (q *Queue) watchControls(ctx context.Context) {
	reconnected := q.nc.StatusChanged(nats.CONNECTED)
	defer q.nc.RemoveStatusListener(reconnected)
	var retry backoff
	for ctx.Err() == nil {
		err := q.readControls(ctx, reconnected, retry.reset)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			q.log.Warn("queue: watching the control bucket; reading it again", "err", err)
			if !retry.wait(ctx) {
				return
			}
		}
	}
}
