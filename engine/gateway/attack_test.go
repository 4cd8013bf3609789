package gateway

import (
	"bytes"
	"encoding/json"
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

// TestIngestAttacks sends hostile bodies with valid credentials: each is
// answered with a bounded 4xx, never accepted, and never costs more than
// a linear scan of the body. The body limit is raised to 2 MiB so the
// million-digit number of issue 9 fits.
func TestIngestAttacks(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		return strings.Replace(c, "max_body_bytes: 8192", "max_body_bytes: 2097152", 1)
	}})
	withEdits := func(id int64, edits map[string]any) []byte { return mkEvent(id, "PURCHASE", edits) }
	// A number is spliced into the JSON text: json.Number would be
	// re-encoded by mkEvent, but only after a parse of the digits.
	hugeNumber := bytes.Replace(withEdits(8001, nil), []byte(`"revenue":19.99`), append([]byte(`"revenue":`), bytes.Repeat([]byte("9"), 1_000_000)...), 1)
	manyErrors := map[string]any{}
	for i := range 5000 {
		manyErrors["custom_data.k"+strconv.Itoa(i)] = i
	}
	hugeKey := withEdits(8003, map[string]any{"custom_data." + strings.Repeat("k", 100_000): 1})
	deep := bytes.Replace(withEdits(8004, nil), []byte(`"~campaign":"spring"`),
		[]byte(`"~campaign":"spring","x":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)), 1)
	tooDeepForJSON := bytes.Replace(withEdits(8005, nil), []byte(`"~campaign":"spring"`),
		[]byte(`"~campaign":"spring","x":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)), 1)
	batchLongNumber := bytes.Join([][]byte{withEdits(8006, nil), bytes.Replace(withEdits(8007, nil), []byte(`"id":8007`), []byte(`"id":`+strings.Repeat("1", 100)), 1)}, []byte("\n"))

	for _, tc := range []struct {
		name    string
		body    []byte
		code    int
		errPart string
		// maxAnswer bounds the answer's size in bytes.
		maxAnswer int
		check     func(t *testing.T, ae apiError)
	}{
		{name: "million-digit number", body: hugeNumber, code: 400, errPart: "event_data.revenue: number has 1000000 characters; at most 64", maxAnswer: 1024},
		{name: "number too long in a batch line", body: batchLongNumber, code: 400, errPart: "id: number has 100 characters", maxAnswer: 1024,
			check: func(t *testing.T, ae apiError) {
				if ae.Event == nil || *ae.Event != 1 || ae.Line != 2 {
					t.Errorf("not located at event 1, line 2: %+v", ae)
				}
			}},
		{name: "thousands of schema violations", body: withEdits(8002, manyErrors), code: 400, errPart: "(and 4980 more)", maxAnswer: 8192,
			check: func(t *testing.T, ae apiError) {
				if len(ae.Fields) != 20 || ae.MoreFields != 4980 {
					t.Errorf("%d fields listed, %d more; want 20 and 4980", len(ae.Fields), ae.MoreFields)
				}
			}},
		{name: "violation naming a huge key", body: hugeKey, code: 400, errPart: "kkk…", maxAnswer: 2048},
		{name: "deep nesting", body: deep, code: 400, errPart: "nested deeper than 64", maxAnswer: 1024},
		{name: "nesting beyond the JSON decoder", body: tooDeepForJSON, code: 400, errPart: "malformed JSON", maxAnswer: 1024},
		{name: "oversized body", body: bytes.Repeat([]byte(" "), 2097153), code: 413, errPart: "exceeds 2097152 bytes", maxAnswer: 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := e.do("POST", "/v1/apps/shop/events", tc.body, bearer("shop-token-123"))
			if code != tc.code || !strings.Contains(string(body), tc.errPart) {
				t.Fatalf("status %d, want %d mentioning %q: %.300s", code, tc.code, tc.errPart, body)
			}
			if len(body) > tc.maxAnswer {
				t.Errorf("answer has %d bytes, want at most %d", len(body), tc.maxAnswer)
			}
			if tc.check != nil {
				var ae apiError
				if err := json.Unmarshal(body, &ae); err != nil {
					t.Fatalf("answer %.300s: %v", body, err)
				}
				tc.check(t, ae)
			}
		})
	}
}
