package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Instances sharing a queue may run different configs for a while: a
// rolling change reaches them one by one, and they share one render
// consumer per app. An event records the partners its config planned
// (Event.Partners) and the config's version; the instance that renders it
// may not have one of those partners. Which config is newer decides what
// that means: when the event's config went live after the instance's
// own, the change that enabled the partner has not reached this instance
// yet, and the partner's share is left to the instances that have it (a
// deferred render, which the pair's delivery worker takes, and only
// instances with the partner have one); when its own config is the newer
// one, it disabled the partner since, and the share is dropped as a
// reload that disables a partner drops it.
//
// "Went live" is when a version's topology was first set anywhere: the
// first instance to run a version records it under config.<version> in
// the control bucket, and every instance keeps a copy of those records
// (with the pauses, see readControls). They are ordered by the record's
// revision, which the server assigns in the order they were made, not by
// the time in it: that is the recording instance's clock, and one running
// ahead would make an older version look newer.

// configPrefix starts the key of every config version record.
const configPrefix = "config."

// configRecord is a config version record.
type configRecord struct {
	Version string    `json:"version"`
	LiveAt  time.Time `json:"live_at"`
}

func configKey(version string) string { return configPrefix + kvToken(version) }

func parseConfigKey(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, configPrefix)
	if !ok || strings.Contains(rest, ".") {
		return "", false
	}
	return unescapeKVToken(rest)
}

// registerConfig records that version went live at now unless it did
// before, and keeps the record's revision.
func (q *Queue) registerConfig(ctx context.Context, version string, now time.Time) error {
	kv := q.st().control
	if kv == nil {
		return errors.New("queue: control bucket not set up")
	}
	key := configKey(version)
	b, err := json.Marshal(configRecord{Version: version, LiveAt: now})
	if err != nil {
		return fmt.Errorf("queue: encoding %s: %w", key, err)
	}
	rev, err := kv.Create(ctx, key, b)
	if err == nil {
		q.ctl.setVersion(version, rev)
		return nil
	}
	if !isConflict(err) {
		return fmt.Errorf("queue: recording config version %s: %w", version, err)
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("queue: reading config version %s: %w", version, err)
	}
	if _, err := decodeConfigRecord(e.Value()); err != nil {
		return fmt.Errorf("queue: config version %s: %w", version, err)
	}
	q.ctl.setVersion(version, e.Revision())
	return nil
}

func decodeConfigRecord(b []byte) (configRecord, error) {
	var rec configRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.LiveAt.IsZero() {
		return configRecord{}, fmt.Errorf("undecodable config version record %q", b)
	}
	return rec, nil
}

// configEntry applies a config version record of the bucket.
func (q *Queue) configEntry(version string, e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		// Never deleted by adgate: an operator forgets a version that no
		// instance runs any more (an abandoned canary), so the pairs only
		// it had are dead-lettered again rather than left waiting.
		q.ctl.forgetVersion(version)
		return
	}
	if _, err := decodeConfigRecord(e.Value()); err != nil {
		q.log.Warn("queue: ignoring a control record", "key", e.Key(), "err", err)
		return
	}
	q.ctl.setVersion(version, e.Revision())
}

// setVersion records the revision of version's record; the earliest
// known stays.
func (c *controls) setVersion(version string, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.versions[version]; ok && rev >= cur {
		return
	}
	c.versions[version] = rev
}

// forgetVersion drops version's record: it is made again, with a new
// revision, when an instance sets that version's topology.
func (c *controls) forgetVersion(version string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.versions, version)
}

// versionAt returns the revision of version's record, if known: the
// higher, the later it went live.
func (c *controls) versionAt(version string) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.versions[version]
	return t, ok
}

// leaveToOthers reports whether a partner that an event planned by config
// evVersion is for, and that this instance, on config own, does not
// render, is left to the instances that do: when the event's config went
// live after this one. A version this instance does not know (yet) is
// too: nothing is lost, and an instance that has the partner renders it.
func (q *Queue) leaveToOthers(evVersion, own string) bool {
	if evVersion == "" || evVersion == own {
		return false
	}
	evAt, ok := q.ctl.versionAt(evVersion)
	if !ok {
		return true
	}
	ownAt, ok := q.ctl.versionAt(own)
	return !ok || evAt > ownAt
}

// superseded reports whether a config that went live after this
// instance's runs somewhere: this instance is one a rolling change has not
// reached yet.
func (q *Queue) superseded() bool {
	q.topoMu.Lock()
	own := q.topoVersion
	q.topoMu.Unlock()
	if own == "" {
		return false
	}
	return q.ctl.newerThan(own)
}

// newerThan reports whether a version went live after version did; an
// unknown version is not superseded.
func (c *controls) newerThan(version string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.versions[version]
	if !ok {
		return false
	}
	for _, rev := range c.versions {
		if rev > at {
			return true
		}
	}
	return false
}
