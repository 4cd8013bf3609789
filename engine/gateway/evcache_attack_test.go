package gateway

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/adgate/adgate/engine/event"
)

// Concurrent ingest puts and render parses of a few event ids, each sent
// with several contents, under a bound that keeps evicting: every parse
// returns the event its own bytes decode to, never another content of the
// same id.
func TestEventCacheNeverServesOtherContent(t *testing.T) {
	names := []string{"INSTALL", "PURCHASE", "OPEN", "LOGIN"}
	raws := map[string][]byte{}
	for id := range 4 {
		for _, n := range names {
			raws[fmt.Sprint(id, n)] = mkEvent(int64(id), n, nil)
		}
	}
	c := newEventCache(3 * len(raws["0INSTALL"]))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 2000 {
				id := r.IntN(4)
				n := names[r.IntN(len(names))]
				raw := raws[fmt.Sprint(id, n)]
				if r.IntN(2) == 0 {
					ev, err := event.Parse(raw)
					if err != nil {
						t.Error(err)
						return
					}
					c.put("shop", fmt.Sprint(id), raw, ev)
					continue
				}
				got, err := c.parse("shop", fmt.Sprint(id), append([]byte(nil), raw...))
				if err != nil {
					t.Error(err)
					return
				}
				if got.Name() != n {
					t.Errorf("id %d sent as %s rendered as %s", id, n, got.Name())
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.bytes > c.maxBytes || c.bytes < 0 {
		t.Errorf("cache holds %d bytes, bound %d", c.bytes, c.maxBytes)
	}
	total := 0
	for _, ce := range c.m {
		total += len(ce.raw)
	}
	if total != c.bytes || len(c.m) != len(c.order) {
		t.Errorf("accounting: %d bytes in %d entries, counted %d in %d", total, len(c.m), c.bytes, len(c.order))
	}
}
