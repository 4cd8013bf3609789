package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/adgate/adgate/engine/internal/config"
)

// The headers of a signed ingest request.
const (
	HeaderSignature = "X-Adgate-Signature"
	HeaderTimestamp = "X-Adgate-Timestamp"
)

// errNoCredentials means the request presented nothing to check (401);
// any other auth error means it presented something wrong (403).
var errNoCredentials = errors.New("no credentials: send Authorization: Bearer <token> or an " + HeaderSignature + " header")

// hasBearer reports whether the request carries a bearer token.
func hasBearer(r *http.Request) bool {
	_, ok := bearerToken(r)
	return ok
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// tokenEqual compares two secrets in constant time, whatever their length:
// hashing first keeps a length difference from showing in the timing.
func tokenEqual(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1 && want != ""
}

// checkBearer authenticates a bearer token against any of tokens.
func checkBearer(r *http.Request, tokens []string) error {
	tok, ok := bearerToken(r)
	if !ok {
		return errNoCredentials
	}
	match := 0
	for _, t := range tokens {
		// Compare against every token so the time taken does not say
		// which one matched.
		if tokenEqual(tok, t) {
			match = 1
		}
	}
	if match == 0 {
		return errors.New("bearer token not accepted for this app")
	}
	return nil
}

// Sign computes the signature header value for body sent at ts:
// "sha256=" + hex(HMAC-SHA256(secret, "<unix seconds>.<body>")). Binding
// the timestamp into the MAC stops a captured request from being replayed
// with a fresh timestamp.
func Sign(secret string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// checkSignature authenticates an HMAC-signed body.
func checkSignature(r *http.Request, body []byte, in config.Ingest, now time.Time) error {
	sig := r.Header.Get(HeaderSignature)
	if sig == "" {
		return errNoCredentials
	}
	if in.HMACSecret == "" {
		return errors.New("signed requests are not enabled for this app")
	}
	tsText := r.Header.Get(HeaderTimestamp)
	secs, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return errors.New(HeaderTimestamp + " must be the signing time in unix seconds")
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return errors.New(HeaderSignature + " must be sha256=<hex HMAC>")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return errors.New(HeaderSignature + " is not hex")
	}
	m := hmac.New(sha256.New, []byte(in.HMACSecret))
	m.Write([]byte(tsText))
	m.Write([]byte("."))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return errors.New("signature does not match the body")
	}
	// The timestamp is checked after the MAC (which covers it), so only a
	// holder of the secret learns the tolerance: a forged request to an
	// app cannot tell it from an unknown app by its tolerance.
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > in.TimestampTolerance || -d > in.TimestampTolerance {
		return errors.New(HeaderTimestamp + " is outside the accepted tolerance (" + in.TimestampTolerance.String() + "); check the sender's clock")
	}
	return nil
}
