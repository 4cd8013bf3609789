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
	secs, err := parseTimestamp(tsText)
	if err != nil {
		return err
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
	if !withinTolerance(now.Unix()-secs, in.TimestampTolerance) {
		return errors.New(HeaderTimestamp + " is outside the accepted tolerance (" + in.TimestampTolerance.String() + "); check the sender's clock")
	}
	return nil
}

// The range of plausible signing times in unix seconds: 2001-09-09 to
// 2286-11-20, every value with exactly ten digits. Bounding the value
// keeps the tolerance arithmetic far from overflow (time.Time.Sub
// saturates, so a timestamp far in the future used to pass the check),
// and a millisecond clock, whose values have 13 digits, cannot be mistaken
// for a time in the future that the tolerance would have to judge.
const (
	minTimestamp = 1_000_000_000
	maxTimestamp = 9_999_999_999
)

// parseTimestamp reads the signing time: decimal unix seconds, digits only.
// The errors say what was wrong, so a sender can fix its signer; they
// reveal nothing about the app, since no secret is involved yet.
func parseTimestamp(text string) (int64, error) {
	if text == "" || len(text) > 19 || strings.Trim(text, "0123456789") != "" {
		return 0, errors.New(HeaderTimestamp + " must be the signing time in unix seconds (decimal digits)")
	}
	secs, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, errors.New(HeaderTimestamp + " must be the signing time in unix seconds (decimal digits)")
	}
	switch {
	case secs >= minTimestamp*1000 && secs <= maxTimestamp*1000+999:
		return 0, errors.New(HeaderTimestamp + " " + text + " looks like milliseconds; send the signing time in unix seconds (10 digits)")
	case secs < minTimestamp || secs > maxTimestamp:
		return 0, errors.New(HeaderTimestamp + " " + text + " is not a plausible signing time in unix seconds (10 digits)")
	}
	return secs, nil
}

// withinTolerance reports whether a clock difference of diff seconds is
// within tol. diff comes from two values in the plausible range, so it is
// at most about 9e9 and its absolute value cannot overflow; it is compared
// in seconds, since converting it to a Duration could.
func withinTolerance(diff int64, tol time.Duration) bool {
	if diff < 0 {
		diff = -diff
	}
	return diff <= int64(tol/time.Second)
}
