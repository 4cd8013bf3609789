package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Role is what an identity may do.
type Role string

// The roles: admin may change things, read-only may only look.
const (
	RoleAdmin    Role = "admin"
	RoleReadOnly Role = "read-only"
)

// Identity is who made an admin request: how they authenticated and, for
// a console session, which one (its id is not a secret: the cookie's MAC
// is). Logs name it so a pause or a replay says who did it.
type Identity struct {
	Role Role
	// Via is "bearer" (an API token) or "session" (a console login).
	Via string
	// Session is the console session's id; empty for a bearer token.
	Session string
}

// CanChange reports whether the identity may use unsafe methods.
func (id Identity) CanChange() bool { return id.Role == RoleAdmin }

// String names the identity for logs: "session 3f9c0a1b (admin)".
func (id Identity) String() string {
	if id.Via == "session" {
		return fmt.Sprintf("session %s (%s)", id.Session, id.Role)
	}
	return fmt.Sprintf("bearer token (%s)", id.Role)
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity an admin request was authenticated as.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// Errors of Authenticate. ErrNoSession means nothing was presented (401);
// the others mean something wrong was (403).
var (
	ErrNoSession = errors.New("console: no session: log in at /console/login")
	ErrSession   = errors.New("console: session not valid (expired, logged out, or signed with an admin token since rotated): log in again at /console/login")
	ErrCSRF      = errors.New("console: missing or wrong " + HeaderCSRF + " header: unsafe requests from the console must carry the session's CSRF token")
	ErrReadOnly  = errors.New("read-only access: this session or token may look but not change anything")
	// ErrUnavailable means the shared record of logouts cannot be read.
	ErrUnavailable = errors.New("console: cannot check the session against the logouts of other instances: the queue is unavailable")
)

// session is a verified session cookie.
type session struct {
	id      string
	role    Role
	expires time.Time
}

// keys derives the signing key of a role's sessions. Both derive from the
// admin token, so every instance of a cluster accepts a session another
// issued and rotating admin_token ends every session; the read-only key
// also covers read_only_token, so rotating that one ends the read-only
// sessions.
func sessionKey(t Tokens, role Role) ([]byte, bool) {
	if t.Admin == "" {
		return nil, false
	}
	m := hmac.New(sha256.New, []byte(t.Admin))
	m.Write([]byte("adgate console session v1"))
	k := m.Sum(nil)
	if role == RoleAdmin {
		return k, true
	}
	if role != RoleReadOnly || t.ReadOnly == "" {
		return nil, false
	}
	m = hmac.New(sha256.New, k)
	m.Write([]byte("read-only\x00" + t.ReadOnly))
	return m.Sum(nil), true
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// newSession issues a session: the cookie value is
// "v1.<id>.<role>.<expiry unix>.<MAC>".
func newSession(t Tokens, role Role, now time.Time, ttl time.Duration) (string, session, error) {
	key, ok := sessionKey(t, role)
	if !ok {
		return "", session{}, fmt.Errorf("console: no signing key for role %s", role)
	}
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", session{}, fmt.Errorf("console: session id: %w", err)
	}
	s := session{id: b64.EncodeToString(raw[:]), role: role, expires: now.Add(ttl).Truncate(time.Second)}
	exp := strconv.FormatInt(s.expires.Unix(), 10)
	return strings.Join([]string{"v1", s.id, string(s.role), exp, b64.EncodeToString(mac(key, "v1", s.id, string(s.role), exp))}, "."), s, nil
}

// parseSession verifies a cookie value's MAC and expiry.
func parseSession(t Tokens, value string, now time.Time) (session, error) {
	f := strings.Split(value, ".")
	if len(f) != 5 || f[0] != "v1" || len(value) > 256 {
		return session{}, ErrSession
	}
	key, ok := sessionKey(t, Role(f[2]))
	if !ok {
		return session{}, ErrSession
	}
	got, err := b64.DecodeString(f[4])
	if err != nil || !hmac.Equal(got, mac(key, f[0], f[1], f[2], f[3])) {
		return session{}, ErrSession
	}
	exp, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return session{}, ErrSession
	}
	return session{id: f[1], role: Role(f[2]), expires: time.Unix(exp, 0)}, nil
}

// csrfToken is the session's CSRF token: derived, not stored, so any
// instance can check it, and useless without the session cookie.
func csrfToken(t Tokens, s session) string {
	key, _ := sessionKey(t, s.role)
	return b64.EncodeToString(mac(key, "csrf", s.id))
}

func csrfValid(t Tokens, s session, got string) bool {
	want := csrfToken(t, s)
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}

// revocations remembers logged-out session ids until they expire anyway,
// in this instance's memory: the fast answer for its own logouts, and the
// only one without Options.Revoked.
type revocations struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

// maxRevoked bounds the memory logouts can take; past it the entries
// closest to expiry go first.
const maxRevoked = 100_000

func (rv *revocations) revoke(s session, now time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.ids == nil {
		rv.ids = map[string]time.Time{}
	}
	for id, exp := range rv.ids {
		if !now.Before(exp) {
			delete(rv.ids, id)
		}
	}
	if len(rv.ids) >= maxRevoked {
		var first string
		for id, exp := range rv.ids {
			if first == "" || exp.Before(rv.ids[first]) {
				first = id
			}
		}
		delete(rv.ids, first)
	}
	rv.ids[s.id] = s.expires
}

func (rv *revocations) revoked(id string) bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	_, ok := rv.ids[id]
	return ok
}
