package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The attack suite: hostile requests at the door and hostile destinations
// on the way out, each a table row that names the attack. Attacks covered
// elsewhere: malformed JSON, oversized bodies and an NDJSON batch with a bad
// line (TestIngestErrors), slow signed bodies (TestSlowSignedBodiesDoNotStarveBearer),
// probing app ids (TestUnknownAppLooksLikeFailedAuth).

// TestSignedReplay replays captured signed requests after the
// de-duplication window has passed, with the server clock 27 minutes on:
// none may be accepted again. The millisecond and far-future rows were
// accepted for ever before the timestamp was range-checked (time.Time.Sub
// saturates, so they never left the tolerance); they are now refused on
// first sight too.
func TestSignedReplay(t *testing.T) {
	var clock atomic.Int64
	start := time.Now()
	clock.Store(start.UnixNano())
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{opt: func(o *Options) {
		o.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		o.Queue.DuplicateWindow = 300 * time.Millisecond
	}})
	const secret = "shop-hmac-secret-0123456"
	for i, tc := range []struct {
		name            string
		ts              string
		first, replayed int
		errPart         string
	}{
		{"seconds", strconv.FormatInt(start.Unix(), 10), http.StatusAccepted, http.StatusForbidden, "tolerance"},
		{"milliseconds", strconv.FormatInt(start.UnixMilli(), 10), http.StatusForbidden, http.StatusForbidden, "looks like milliseconds"},
		{"far future", strconv.FormatInt(start.Unix()+1<<50, 10), http.StatusForbidden, http.StatusForbidden, "not a plausible"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.Store(start.UnixNano())
			body := mkEvent(int64(7100+i), "INSTALL", nil)
			hdr := map[string]string{HeaderSignature: signText(secret, tc.ts, body), HeaderTimestamp: tc.ts}
			code, _, b := e.do("POST", "/v1/apps/shop/events", body, hdr)
			if code != tc.first {
				t.Errorf("first request: status %d, want %d: %s", code, tc.first, b)
			}
			// Past the queue's de-duplication window in real time, so a
			// replay that got in would be delivered again.
			time.Sleep(400 * time.Millisecond)
			clock.Store(start.Add(27 * time.Minute).UnixNano())
			code, _, b = e.do("POST", "/v1/apps/shop/events", body, hdr)
			if code != tc.replayed || !strings.Contains(string(b), tc.errPart) {
				t.Errorf("replay: status %d %s, want %d mentioning %q", code, b, tc.replayed, tc.errPart)
			}
		})
	}
}
