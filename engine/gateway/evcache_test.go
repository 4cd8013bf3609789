package gateway

import (
	"bytes"
	"testing"

	"github.com/adgate/adgate/engine/event"
)

func TestEventCacheSharesAndEvicts(t *testing.T) {
	a, b := mkEvent(1, "INSTALL", nil), mkEvent(2, "PURCHASE", nil)
	c := newEventCache(len(a) + len(b) - 1) // room for one of them
	e1, err := c.parse("shop", "1", a)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		app  string
		id   string
		raw  []byte
		same bool
	}{
		{"same event", "shop", "1", a, true},
		{"the same bytes, a copy", "shop", "1", bytes.Clone(a), true},
		{"other app, same id", "other", "1", a, false},
		{"same id, other content", "shop", "1", mkEvent(1, "OPEN", nil), false},
	} {
		got, err := c.parse(tc.app, tc.id, tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if (got == e1) != tc.same {
			t.Errorf("%s: shared %v, want %v", tc.name, got == e1, tc.same)
		}
		want, err := event.Parse(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name() != want.Name() {
			t.Errorf("%s: event named %q, its bytes say %q", tc.name, got.Name(), want.Name())
		}
	}
	if _, err := c.parse("shop", "2", b); err != nil {
		t.Fatal(err)
	}
	if again, _ := c.parse("shop", "1", a); again == e1 {
		t.Error("the oldest event was kept past the byte bound")
	}
	if c.bytes > c.maxBytes {
		t.Errorf("cache holds %d bytes, bound %d", c.bytes, c.maxBytes)
	}
	if _, err := c.parse("shop", "3", []byte(`{"name":`)); err == nil {
		t.Error("a broken event decoded")
	}
}

// What ingest puts is what the render worker gets, for the same bytes
// only.
func TestEventCacheTakesIngestsDecoding(t *testing.T) {
	raw := mkEvent(7, "INSTALL", nil)
	ev, err := event.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := newEventCache(1 << 20)
	c.put("shop", "7", raw, ev)
	if got, _ := c.parse("shop", "7", bytes.Clone(raw)); got != ev {
		t.Error("the render worker decoded an event ingest had decoded")
	}
	other := mkEvent(7, "PURCHASE", nil)
	if got, _ := c.parse("shop", "7", other); got == ev || got.Name() != "PURCHASE" {
		t.Errorf("a re-sent id with other content got %v", got.Name())
	}
}
