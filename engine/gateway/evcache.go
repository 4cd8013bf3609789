package gateway

import (
	"sync"

	"github.com/adgate/adgate/engine/event"
)

// eventCache keeps the events render workers decoded, by stored event:
// every partner of an app renders the same stored event, mostly within
// moments of each other, and decoding it once serves them all. It is
// bounded by the bytes of the events it holds, dropping the oldest.
type eventCache struct {
	mu       sync.Mutex
	m        map[eventKey]cachedEvent
	order    []eventKey // insertion order, oldest first
	bytes    int
	maxBytes int
}

type eventKey struct {
	app string
	seq uint64
}

type cachedEvent struct {
	ev   *event.Event
	size int
}

func newEventCache(maxBytes int) *eventCache {
	return &eventCache{m: map[eventKey]cachedEvent{}, maxBytes: maxBytes}
}

// parse returns the decoded event stored at seq for app, decoding raw on
// a miss. A decoded event is never modified (rewriteEvent copies), so the
// workers share it.
func (c *eventCache) parse(app string, seq uint64, raw []byte) (*event.Event, error) {
	if seq == 0 {
		return event.Parse(raw) // not from the stream: nothing to share
	}
	k := eventKey{app, seq}
	c.mu.Lock()
	if ce, ok := c.m[k]; ok {
		c.mu.Unlock()
		return ce.ev, nil
	}
	c.mu.Unlock()
	ev, err := event.Parse(raw)
	if err != nil || len(raw) > c.maxBytes {
		return ev, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return ev, nil
	}
	c.m[k] = cachedEvent{ev: ev, size: len(raw)}
	c.order = append(c.order, k)
	c.bytes += len(raw)
	for c.bytes > c.maxBytes && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.bytes -= c.m[old].size
		delete(c.m, old)
	}
	return ev, nil
}
