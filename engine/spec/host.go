package spec

import (
	"net"
	"slices"
	"strings"

	"github.com/adgate/adgate/engine/internal/hostname"
)

// hostUnits returns the host of a URL template's authority, given the
// units after its scheme: what follows any userinfo (up to the last
// literal '@') and precedes the first literal '/', '?' or '#'. The port,
// if any, is part of it. Macros and ${...} are opaque units, so an '@' or
// '/' inside an expression (${sid?url}) neither ends nor splits it.
func hostUnits(authority []unit) []unit {
	end := len(authority)
	for i, u := range authority {
		if u.literal() && (u.r == '/' || u.r == '?' || u.r == '#') {
			end = i
			break
		}
	}
	host := authority[:end]
	for i := len(host) - 1; i >= 0; i-- {
		if host[i].literal() && host[i].r == '@' {
			return host[i+1:]
		}
	}
	return host
}

// literalHost returns the host of an absolute http(s) URL template when
// the host is literal text the lint accepts (hostRune) and, port and
// brackets removed, a valid host (hostname.Valid): templated
// userinfo is fine (https://{Account_SID}:{Authorization_Token}@api.impactradius.com/...),
// a templated host is not.
func literalHost(url string) (string, bool) {
	units := urlShape(parseTemplate(url))
	schemeLen := urlScheme(units)
	if schemeLen == 0 {
		return "", false
	}
	var b strings.Builder
	for _, u := range hostUnits(units[schemeLen:]) {
		if !u.literal() || !hostRune(u.r) {
			return "", false
		}
		b.WriteRune(u.r)
	}
	host := b.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "" || !hostname.Valid(host) {
		return "", false
	}
	return host, true
}

// Hosts returns the hosts the partner's postbacks may be sent to: the
// literal host of every postback URL template, then the spec's
// allowed_hosts, lower-cased without a final dot, each once. A URL whose
// host is itself templated contributes nothing; such partners list their
// hosts in allowed_hosts.
func (p *Partner) Hosts() []string {
	var out []string
	add := func(h string) {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	for _, pb := range p.Postbacks {
		if h, ok := literalHost(pb.URL); ok {
			add(h)
		}
	}
	for _, h := range p.AllowedHosts {
		add(h)
	}
	return out
}
