package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Subjects are <prefix>.pb.<app>.<partner> for work,
// <prefix>.pb.<app>.<partner>.r for renders handed over to the instances
// that render the pair (see deferred.go) and
// <prefix>.dead.<app>.<partner> for dead letters. App and partner ids are
// escaped so that any id maps to exactly one token and back: the isolation
// between partners rests on two ids never sharing a subject.

func (q *Queue) workSubject(app, partner string) string {
	return q.cfg.Subject + ".pb." + escapeToken(app) + "." + escapeToken(partner)
}

func (q *Queue) deadSubject(app, partner string) string {
	return q.cfg.Subject + ".dead." + escapeToken(app) + "." + escapeToken(partner)
}

// deadFilter is the dead-letter subject filter for an optional app and
// partner.
func (q *Queue) deadFilter(app, partner string) string {
	a, p := "*", "*"
	if app != "" {
		a = escapeToken(app)
	}
	if partner != "" {
		p = escapeToken(partner)
	}
	return q.cfg.Subject + ".dead." + a + "." + p
}

// handoverSubject is the work subject of the renders handed over to the
// instances that render (app, partner).
func (q *Queue) handoverSubject(app, partner string) string {
	return q.workSubject(app, partner) + ".r"
}

// parseWorkSubject returns the pair of a work subject, and whether it is
// the pair's hand-over subject.
func (q *Queue) parseWorkSubject(subj string) (k Key, handover, ok bool) {
	rest, ok := strings.CutPrefix(subj, q.cfg.Subject+".pb.")
	if !ok {
		return Key{}, false, false
	}
	toks := strings.Split(rest, ".")
	switch {
	case len(toks) == 2:
	case len(toks) == 3 && toks[2] == "r":
		handover = true
	default:
		return Key{}, false, false
	}
	app, ok1 := unescapeToken(toks[0])
	partner, ok2 := unescapeToken(toks[1])
	return Key{App: app, Partner: partner}, handover, ok1 && ok2
}

func tokenByteOK(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// escapeToken percent-encodes every byte outside [A-Za-z0-9_-], which
// keeps NATS subject metacharacters (. * > and spaces) out of the token.
func escapeToken(s string) string { return escapeWith(s, '%') }

// kvToken is escapeToken for a KV key, whose characters the client
// restricts further: '%' is not among them, '=' is (and is not a token
// byte, so the mapping stays one to one).
func kvToken(s string) string { return escapeWith(s, '=') }

func escapeWith(s string, mark byte) string {
	if s == "" {
		return string(mark)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if tokenByteOK(c) {
			b.WriteByte(c)
			continue
		}
		const hexdig = "0123456789ABCDEF"
		b.WriteByte(mark)
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

func unescapeToken(t string) (string, bool) { return unescapeWith(t, '%') }

func unescapeKVToken(t string) (string, bool) { return unescapeWith(t, '=') }

func unescapeWith(t string, mark byte) (string, bool) {
	if t == string(mark) {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != mark {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(t) {
			return "", false
		}
		v, err := hex.DecodeString(t[i+1 : i+3])
		if err != nil {
			return "", false
		}
		b.Write(v)
		i += 2
	}
	return b.String(), true
}

// consumerName is a durable consumer name for a subject: readable, within
// the characters JetStream allows, and unique through a hash suffix.
func consumerName(subj string) string {
	sum := sha256.Sum256([]byte(subj))
	var b strings.Builder
	b.WriteString("pb-")
	for i := 0; i < len(subj) && b.Len() < 40; i++ {
		c := subj[i]
		if tokenByteOK(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(sum[:6]))
	return b.String()
}
