package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// An unknown app is answered exactly like a failed authentication of a
// real app, whatever credentials are presented, so app ids cannot be
// probed.
func TestUnknownAppLooksLikeFailedAuth(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	good := mkEvent(42, "INSTALL", nil)
	now := time.Now()
	signed := func(secret string, ts time.Time) map[string]string {
		return map[string]string{HeaderSignature: Sign(secret, ts, good), HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10)}
	}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		code int
	}{
		{"no credentials", nil, http.StatusUnauthorized},
		{"wrong bearer", bearer("guess-token-0000"), http.StatusForbidden},
		{"wrong signature", signed("guess-secret-0000000000", now), http.StatusForbidden},
		{"stale signature", signed("guess-secret-0000000000", now.Add(-time.Hour)), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			realCode, realHdr, realBody := e.do("POST", "/v1/apps/shop/events", good, tc.hdr)
			code, hdr, body := e.do("POST", "/v1/apps/nope/events", good, tc.hdr)
			if realCode != tc.code || code != tc.code {
				t.Fatalf("status real app %d, unknown app %d, want %d (%s / %s)", realCode, code, tc.code, realBody, body)
			}
			if string(body) != string(realBody) {
				t.Errorf("bodies differ:\nreal app:    %s\nunknown app: %s", realBody, body)
			}
			if hdr.Get("WWW-Authenticate") != realHdr.Get("WWW-Authenticate") {
				t.Errorf("WWW-Authenticate differs: %q vs %q", realHdr.Get("WWW-Authenticate"), hdr.Get("WWW-Authenticate"))
			}
		})
	}
}

// An app without hmac_secret answers a signed request as a wrong
// signature, the same as an unknown app.
func TestSignedRequestToAppWithoutSecret(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		return strings.Replace(c, "      hmac_secret: shop-hmac-secret-0123456\n", "", 1)
	}})
	good := mkEvent(42, "INSTALL", nil)
	now := time.Now()
	hdr := map[string]string{HeaderSignature: Sign("shop-hmac-secret-0123456", now, good), HeaderTimestamp: strconv.FormatInt(now.Unix(), 10)}
	code, _, body := e.do("POST", "/v1/apps/shop/events", good, hdr)
	_, _, unknown := e.do("POST", "/v1/apps/nope/events", good, hdr)
	if code != http.StatusForbidden || string(body) != string(unknown) {
		t.Errorf("got %d %s, want 403 and the unknown app's answer %s", code, body, unknown)
	}
}

// A forged signature is refused before the timestamp is judged, so an app
// with its own timestamp_tolerance cannot be told from an unknown app by
// sending skewed timestamps; the secret's holder still hears about skew.
func TestToleranceOnlyAfterSignature(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		return strings.Replace(c, "      hmac_secret: shop-hmac-secret-0123456\n", "      hmac_secret: shop-hmac-secret-0123456\n      timestamp_tolerance: 1m\n", 1)
	}})
	good := mkEvent(42, "INSTALL", nil)
	skewed := time.Now().Add(-3 * time.Minute)
	sign := func(secret string) map[string]string {
		return map[string]string{HeaderSignature: Sign(secret, skewed, good), HeaderTimestamp: strconv.FormatInt(skewed.Unix(), 10)}
	}
	code, _, body := e.do("POST", "/v1/apps/shop/events", good, sign("guess-secret-0000000000"))
	_, _, unknown := e.do("POST", "/v1/apps/nope/events", good, sign("guess-secret-0000000000"))
	if code != http.StatusForbidden || string(body) != string(unknown) {
		t.Errorf("forged skewed request: %d %s, unknown app %s", code, body, unknown)
	}
	code, _, body = e.do("POST", "/v1/apps/shop/events", good, sign("shop-hmac-secret-0123456"))
	if code != http.StatusForbidden || !strings.Contains(string(body), "tolerance (1m0s)") {
		t.Errorf("genuine skewed request: %d %s", code, body)
	}
}

// Slow signed bodies fill only the signed budget: bearer senders still get
// in, and further signed requests are turned away with 429.
func TestSlowSignedBodiesDoNotStarveBearer(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		return strings.Replace(c, "max_batch_events: 5", "max_batch_events: 5\n  max_concurrent_ingest: 8", 1)
	}})
	slots := cap(e.srv.signedSem)
	if slots >= cap(e.srv.sem) {
		t.Fatalf("signed budget %d is not smaller than the ingest budget %d", slots, cap(e.srv.sem))
	}
	addr := strings.TrimPrefix(e.base, "http://")
	now := time.Now()
	// More slow clients than there are signed slots, each announcing a
	// body it never finishes; for unknown and real apps alike.
	for i := range slots + 3 {
		app := "shop"
		if i%2 == 1 {
			app = fmt.Sprintf("nope%d", i)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /v1/apps/%s/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n%s: sha256=00\r\n%s: %d\r\n\r\n{\"na",
			app, HeaderSignature, HeaderTimestamp, now.Unix())
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.srv.signedSem) < slots {
		if time.Now().After(deadline) {
			t.Fatalf("slow clients hold %d of %d signed slots", len(e.srv.signedSem), slots)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(e.srv.sem); n != 0 {
		t.Errorf("slow unauthenticated bodies hold %d ingest slots", n)
	}
	// A bearer sender is unaffected.
	for i := range cap(e.srv.sem) + 2 {
		e.ingest(mkEvent(int64(100+i), "INSTALL", nil))
	}
	// Another signed sender waits for the signed budget.
	good := mkEvent(7, "INSTALL", nil)
	code, hdr, body := e.do("POST", "/v1/apps/shop/events", good,
		map[string]string{HeaderSignature: Sign("shop-hmac-secret-0123456", now, good), HeaderTimestamp: strconv.FormatInt(now.Unix(), 10)})
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("signed request with the signed budget full: %d %v %s", code, hdr, body)
	}
	// A bearer token that is wrong is refused before any slot is taken.
	code, _, _ = e.do("POST", "/v1/apps/shop/events", good, bearer("wrong-token-000"))
	if code != http.StatusForbidden {
		t.Errorf("wrong bearer: %d, want 403", code)
	}
}

// /metrics needs metrics.token or admin_token; /healthz and /readyz stay
// open.
func TestMetricsRequireToken(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		code       int
	}{
		{"no token", "/metrics", nil, http.StatusUnauthorized},
		{"ingest token", "/metrics", bearer("shop-token-123"), http.StatusForbidden},
		{"metrics token", "/metrics", bearer("test-metrics-token-1"), http.StatusOK},
		{"admin token", "/metrics", bearer("test-admin-token-1"), http.StatusOK},
		{"healthz", "/healthz", nil, http.StatusOK},
		{"readyz", "/readyz", nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := e.do("GET", tc.path, nil, tc.hdr)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if code == http.StatusUnauthorized && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tc.path == "/metrics" && code == http.StatusOK && !strings.Contains(string(body), "adgate_") {
				t.Errorf("no adgate metrics in %.200s", body)
			}
		})
	}
}

// Without metrics.token and admin_token, /metrics is off rather than open.
func TestMetricsOffWithoutTokens(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{mutate: func(c string) string {
		c = strings.Replace(c, "admin_token: test-admin-token-1\n", "", 1)
		return strings.Replace(c, "metrics:\n  token: test-metrics-token-1\n", "", 1)
	}})
	code, _, body := e.do("GET", "/metrics", nil, bearer("anything-at-all"))
	if code != http.StatusForbidden || !strings.Contains(string(body), "metrics.token") {
		t.Errorf("status %d %s, want 403 naming metrics.token", code, body)
	}
}
