package gateway

import "testing"

func TestEventCacheSharesAndEvicts(t *testing.T) {
	a, b := mkEvent(1, "INSTALL", nil), mkEvent(2, "PURCHASE", nil)
	c := newEventCache(len(a) + len(b) - 1) // room for one of them
	e1, err := c.parse("shop", 1, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		app  string
		seq  uint64
		raw  []byte
		same bool
	}{
		{"same stored event", "shop", 1, a, true},
		{"other app, same sequence", "other", 1, a, false},
		{"not from the stream", "shop", 0, a, false},
	} {
		got, err := c.parse(tc.app, tc.seq, tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if (got == e1) != tc.same {
			t.Errorf("%s: shared %v, want %v", tc.name, got == e1, tc.same)
		}
	}
	if _, err := c.parse("shop", 2, b); err != nil {
		t.Fatal(err)
	}
	if again, _ := c.parse("shop", 1, a); again == e1 {
		t.Error("the oldest event was kept past the byte bound")
	}
	if c.bytes > c.maxBytes {
		t.Errorf("cache holds %d bytes, bound %d", c.bytes, c.maxBytes)
	}
	if _, err := c.parse("shop", 3, []byte(`{"name":`)); err == nil {
		t.Error("a broken event decoded")
	}
}
