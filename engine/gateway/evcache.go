package gateway

import (
	"bytes"
	"sync"

	"github.com/adgate/adgate/engine/event"
)

// eventCache keeps decoded events by (app, event id), for the render
// workers: ingest puts the event it decoded and validated before storing
// it, so its app's render worker (mostly in this process, and within
// moments) takes it from here instead of decoding the stored bytes
// again. An entry is used only for the very bytes it was decoded from: a
// re-sent event id with other content, stored or not, never gets another
// event's values. It is bounded by the bytes of the events it holds,
// dropping the oldest.
type eventCache struct {
	mu       sync.Mutex
	m        map[eventKey]cachedEvent
	order    []eventKey // insertion order, oldest first
	bytes    int
	maxBytes int
}

type eventKey struct {
	app, id string
}

type cachedEvent struct {
	ev  *event.Event
	raw []byte
}

func newEventCache(maxBytes int) *eventCache {
	return &eventCache{m: map[eventKey]cachedEvent{}, maxBytes: maxBytes}
}

// parse returns the decoded event app accepted as id, decoding raw unless
// the cache holds it decoded from the same bytes. A decoded event is
// never modified (rewriteEvent copies), so the workers share it.
func (c *eventCache) parse(app, id string, raw []byte) (*event.Event, error) {
	k := eventKey{app, id}
	c.mu.Lock()
	ce, ok := c.m[k]
	c.mu.Unlock()
	if ok && bytes.Equal(ce.raw, raw) {
		return ce.ev, nil
	}
	ev, err := event.Parse(raw)
	if err != nil {
		return nil, err
	}
	c.put(app, id, raw, ev)
	return ev, nil
}

// put keeps ev, decoded from raw, unless an entry for the same bytes is
// there; raw must not change afterwards.
func (c *eventCache) put(app, id string, raw []byte, ev *event.Event) {
	if len(raw) > c.maxBytes {
		return
	}
	k := eventKey{app, id}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		if bytes.Equal(old.raw, raw) {
			return
		}
		// The same id with other content replaces the entry in place;
		// its place in the eviction order stays.
		c.bytes += len(raw) - len(old.raw)
		c.m[k] = cachedEvent{ev: ev, raw: raw}
	} else {
		c.m[k] = cachedEvent{ev: ev, raw: raw}
		c.order = append(c.order, k)
		c.bytes += len(raw)
	}
	for c.bytes > c.maxBytes && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.bytes -= len(c.m[old].raw)
		delete(c.m, old)
	}
}
