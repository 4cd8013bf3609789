// Package hostname is adgate's one rule for what a partner's host may be.
// The spec lint applies it to the literal characters of a URL template's
// host, the spec derives a partner's outbound hosts with it, and the
// deliverer checks every rendered URL's host with it before sending.
package hostname

import (
	"net/netip"
	"strings"
)

// Valid reports whether host (without port or brackets) is an IP address
// or a DNS name: dot-separated labels of letters, digits, '-' and '_',
// with an optional final dot. url.Parse accepts more (https://branch.io&US
// has host "branch.io&US"), which can never be a partner's endpoint.
func Valid(host string) bool {
	if _, ok := ParseIP(host); ok {
		return true
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !LabelByte(label[i]) {
				return false
			}
		}
	}
	return true
}

// LabelByte reports whether c may appear in a DNS label as Valid accepts
// one: an ASCII letter or digit, '-' or '_' (which real partner hosts use).
func LabelByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// ParseIP is netip.ParseAddr for a host that is usually a name. ParseAddr
// builds an error value for every name, and the deliverer asks up to
// three times an attempt; a name is told apart here first without one.
// ParseAddr accepts only text with a ':' (IPv6) or of digits and dots
// alone (IPv4), so nothing it would accept is turned away.
func ParseIP(host string) (netip.Addr, bool) {
	if !mayBeIP(host) {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(host)
	return ip, err == nil
}

func mayBeIP(s string) bool {
	if strings.IndexByte(s, ':') >= 0 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}
