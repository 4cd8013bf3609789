package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The attack suite at the door: hostile requests, each a table row that
// names the attack (TestSignedReplay, TestIngestAttacks, TestSlowClients).
// Covered elsewhere: malformed JSON, oversized bodies and an NDJSON batch
// with a bad line (TestIngestErrors), slow signed bodies
// (TestSlowSignedBodiesDoNotStarveBearer), probing app ids
// (TestUnknownAppLooksLikeFailedAuth), a queue that stops accepting writes
// (TestReadyzFollowsQueueWrites). On the way out (engine/internal/deliver):
// SSRF targets and their IPv6 embeddings (TestPrivateAddr,
// TestPrivateHostsExact), redirects and CRLF in headers
// (TestOutboundAttacks).

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

// TestSlowClients: clients that never finish their request hold at most
// the ingest slots their credentials entitle them to, and the others are
// answered at once (202, or 429 with Retry-After when the authenticated
// slots are all held), never left waiting. Slow signed bodies are
// TestSlowSignedBodiesDoNotStarveBearer's.
func TestSlowClients(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		return strings.Replace(c, "max_batch_events: 5", "max_batch_events: 5\n  max_concurrent_ingest: 2", 1)
	}})
	addr := strings.TrimPrefix(e.base, "http://")
	const head = "POST /v1/apps/%s/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\nAuthorization: Bearer %s\r\n\r\n{\"na"
	for i, tc := range []struct {
		name    string
		conns   int
		prefix  string
		reply   string // status line each slow client gets at once, if any
		held    int    // ingest slots the slow clients end up holding
		code    int    // answer to a complete request meanwhile
		errPart string
	}{
		{"request line never finished", 8, "POST /v1/apps/shop/ev", "", 0, http.StatusAccepted, ""},
		{"headers never finished", 8, "POST /v1/apps/shop/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer shop-tok", "", 0, http.StatusAccepted, ""},
		{"wrong token, body never finished", 8, fmt.Sprintf(head, "shop", "wrong-token-000"), "HTTP/1.1 403", 0, http.StatusAccepted, ""},
		{"unknown app, body never finished", 8, fmt.Sprintf(head, "nope", "shop-token-123"), "HTTP/1.1 403", 0, http.StatusAccepted, ""},
		{"authenticated body never finished", 2, fmt.Sprintf(head, "shop", "shop-token-123"), "", 2, http.StatusTooManyRequests, "too many concurrent ingest requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns []net.Conn
			for range tc.conns {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if _, err := io.WriteString(c, tc.prefix); err != nil {
					t.Fatal(err)
				}
				if tc.reply != "" {
					line, err := bufio.NewReader(c).ReadString('\n')
					if err != nil || !strings.HasPrefix(line, tc.reply) {
						t.Fatalf("slow client got %q (%v), want %s at once", line, err, tc.reply)
					}
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(e.srv.sem) < tc.held {
				if time.Now().After(deadline) {
					t.Fatalf("slow clients hold %d ingest slots, want %d", len(e.srv.sem), tc.held)
				}
				time.Sleep(10 * time.Millisecond)
			}
			code, hdr, body := e.do("POST", "/v1/apps/shop/events", mkEvent(int64(8100+i), "INSTALL", nil), bearer("shop-token-123"))
			if code != tc.code || !strings.Contains(string(body), tc.errPart) {
				t.Errorf("complete request: %d %s, want %d", code, body, tc.code)
			}
			if code == http.StatusTooManyRequests && hdr.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if n := len(e.srv.sem); n != tc.held {
				t.Errorf("slow clients hold %d ingest slots, want %d", n, tc.held)
			}
			for _, c := range conns {
				c.Close()
			}
			// Hung-up clients give their slots back.
			for len(e.srv.sem) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d ingest slots still held after the clients hung up", len(e.srv.sem))
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
