package console

import (
	"strings"
	"testing"
	"time"
)

func TestSession(t *testing.T) {
	tok := Tokens{Admin: "admin-token-0123456789", ReadOnly: "read-only-token-0123"}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	admin, as, err := newSession(tok, RoleAdmin, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ro, rs, err := newSession(tok, RoleReadOnly, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(admin, ".")
	cases := []struct {
		name  string
		tok   Tokens
		value string
		at    time.Time
		want  Role // "" means refused
	}{
		{"admin", tok, admin, now, RoleAdmin},
		{"read-only", tok, ro, now, RoleReadOnly},
		{"just before expiry", tok, admin, now.Add(time.Hour - time.Second), RoleAdmin},
		{"expired", tok, admin, now.Add(time.Hour), ""},
		{"admin token rotated", Tokens{Admin: "another-admin-token-01", ReadOnly: tok.ReadOnly}, admin, now, ""},
		{"read-only token rotated", Tokens{Admin: tok.Admin, ReadOnly: "another-read-only-tok"}, ro, now, ""},
		{"read-only token removed", Tokens{Admin: tok.Admin}, ro, now, ""},
		{"admin survives a read-only rotation", Tokens{Admin: tok.Admin, ReadOnly: "another-read-only-tok"}, admin, now, RoleAdmin},
		{"role raised", tok, strings.Replace(ro, ".read-only.", ".admin.", 1), now, ""},
		{"expiry extended", tok, strings.Join([]string{f[0], f[1], f[2], "9999999999", f[4]}, "."), now, ""},
		{"id swapped", tok, strings.Join([]string{f[0], "AAAAAAAAAAAAAAAA", f[2], f[3], f[4]}, "."), now, ""},
		{"MAC dropped", tok, strings.Join(f[:4], "."), now, ""},
		{"other version", tok, "v2" + admin[2:], now, ""},
		{"garbage", tok, "not a session", now, ""},
		{"no admin token", Tokens{}, admin, now, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := parseSession(c.tok, c.value, c.at)
			if c.want == "" {
				if err == nil {
					t.Fatalf("accepted as %+v", s)
				}
				return
			}
			if err != nil || s.role != c.want {
				t.Fatalf("got %+v, %v; want role %s", s, err, c.want)
			}
		})
	}
	if csrfToken(tok, as) == csrfToken(tok, rs) || !csrfValid(tok, as, csrfToken(tok, as)) || csrfValid(tok, as, "") || csrfValid(tok, as, csrfToken(tok, rs)) {
		t.Error("CSRF tokens are not per session")
	}
	var rv revocations
	rv.revoke(as, now)
	if !rv.revoked(as.id) || rv.revoked(rs.id) {
		t.Error("revocation")
	}
	// An expired revocation is pruned at the next logout.
	rv.revoke(rs, now.Add(2*time.Hour))
	if rv.revoked(as.id) {
		t.Error("expired revocation kept")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "/console/",
		"/console/deliveries?app=shop":  "/console/deliveries?app=shop",
		"https://evil.example/console/": "/console/",
		"//evil.example/console/":       "/console/",
		"/v1/deliveries":                "/console/",
		"/console/\\evil":               "/console/",
		"javascript:alert(1)":           "/console/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginLimiter(t *testing.T) {
	l := newLoginLimiter(3, 10*time.Second)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.allow("203.0.113.7", now); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	ok, wait := l.allow("203.0.113.7", now)
	if ok || wait != 10*time.Second {
		t.Fatalf("4th attempt: %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("198.51.100.1", now); !ok {
		t.Fatal("another address is limited too")
	}
	if ok, _ := l.allow("203.0.113.7", now.Add(10*time.Second)); !ok {
		t.Fatal("no attempt back after the refill interval")
	}
}
