// Package deliver sends queued postbacks to partners over HTTP. Its Sender
// implements queue.Handler: one call is one attempt, classified as
// delivered, to retry later (network errors, timeouts, 408, 429, 5xx, with
// exponential backoff and full jitter, honoring Retry-After), or dead
// (other 4xx, a refused host, an exhausted retry budget).
//
// Around each attempt it enforces, per partner: a concurrency limit, a rate
// limit, a request timeout and an outbound host allow-list; and per partner
// host a circuit breaker. The policy is looked up on every attempt, so a
// config reload applies to jobs already queued.
package deliver

import (
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/adgate/adgate/engine/internal/hostname"
)

// Policy is how one app's postbacks to one partner are delivered. Zero
// fields take the defaults noted.
type Policy struct {
	// Timeout bounds one attempt, connection included (default 10s).
	Timeout time.Duration
	// MaxAttempts and MaxAge bound the retry budget: no retry is scheduled
	// once MaxAttempts attempts were made (default 10), or when it would
	// start later than MaxAge after the job was enqueued (default 24h).
	MaxAttempts int
	MaxAge      time.Duration
	// BackoffBase and BackoffMax shape the exponential backoff: before
	// attempt n+1 the wait is uniform in [0, min(BackoffMax,
	// BackoffBase*2^(n-1))] (defaults 1s and 10m).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// RetryAfterMax caps a partner's Retry-After (default 10m).
	RetryAfterMax time.Duration

	// SuccessStatus lists the status codes that mean delivered; empty
	// means any 2xx.
	SuccessStatus []int
	// SuccessBody, when set, must match the response body too, for
	// partners that answer 200 to a failed postback. A non-matching body
	// is retried.
	SuccessBody *regexp.Regexp
	// FailureBody, when set and matching, makes a success status a failure
	// (retried).
	FailureBody *regexp.Regexp
	// RetryStatus, when set, lists the failing answers that are retried;
	// every other failing answer is dead at once. Nil: 408, 429 and 5xx.
	RetryStatus *StatusSet
	// NoNetworkRetry dead-letters a request that got no answer (network
	// error, timeout) at once instead of retrying it.
	NoNetworkRetry bool
	// Rules names where each verdict-making rule above comes from, for
	// Attempt.DecidedBy; an empty entry is the default rule.
	Rules Rules

	// Concurrency bounds attempts in flight for this app and partner
	// (default 4).
	Concurrency int
	// RatePerSecond limits attempts per second (0: unlimited), allowing
	// bursts of Burst (default 1).
	RatePerSecond float64
	Burst         int

	// AllowedHosts are the host patterns a postback URL may point to:
	// exact names, or "*.example.com" for any subdomain (a partner's come
	// from spec.Partner.Hosts).
	AllowedHosts []string
	// PrivateHosts are the exact host names and addresses (no patterns)
	// that may be loopback, private or link-local destinations (tests,
	// local partners). Every other host is refused such a destination,
	// also when its name resolves to one: listing 127.0.0.1 lets a
	// postback reach 127.0.0.1, not 10.0.0.1 or a name resolving to it.
	PrivateHosts []string

	Breaker BreakerPolicy

	// MaxResponseBody bounds how much of a response is read (default 64 KiB).
	MaxResponseBody int64
}

// BreakerPolicy configures the circuit breaker of a partner host.
type BreakerPolicy struct {
	// Disabled turns the breaker off.
	Disabled bool
	// MinRequests is how many attempts a window needs before the breaker
	// may open (default 20).
	MinRequests int
	// FailureRatio opens the breaker when failed/total in the window
	// reaches it (default 0.5).
	FailureRatio float64
	// Window is the counting period (default 30s).
	Window time.Duration
	// OpenFor is how long an open breaker refuses attempts before letting
	// probes through (default 30s).
	OpenFor time.Duration
	// HalfOpenProbes is how many probes, one at a time and spread over an
	// OpenFor, a half-open breaker lets through before opening again; the
	// first success closes it (default 1).
	HalfOpenProbes int
}

// Effective is p with the defaults filled in: the values deliveries use.
func (p Policy) Effective() Policy { return p.withDefaults() }

func (p Policy) withDefaults() Policy {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.Timeout, 10*time.Second)
	def(&p.MaxAge, 24*time.Hour)
	def(&p.BackoffBase, time.Second)
	def(&p.BackoffMax, 10*time.Minute)
	def(&p.RetryAfterMax, 10*time.Minute)
	def(&p.Breaker.Window, 30*time.Second)
	def(&p.Breaker.OpenFor, 30*time.Second)
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.Concurrency <= 0 {
		p.Concurrency = 4
	}
	if p.Burst <= 0 {
		p.Burst = 1
	}
	if p.Breaker.MinRequests <= 0 {
		p.Breaker.MinRequests = 20
	}
	if p.Breaker.FailureRatio <= 0 || p.Breaker.FailureRatio > 1 {
		p.Breaker.FailureRatio = 0.5
	}
	if p.Breaker.HalfOpenProbes <= 0 {
		p.Breaker.HalfOpenProbes = 1
	}
	if p.MaxResponseBody <= 0 {
		p.MaxResponseBody = 64 << 10
	}
	return p
}

// StatusSet matches HTTP status codes: listed codes and whole classes.
type StatusSet struct {
	Codes []int
	// Classes are hundreds: 5 matches 500-599.
	Classes []int
}

// Match reports whether code is in the set.
func (s *StatusSet) Match(code int) bool {
	return slices.Contains(s.Codes, code) || slices.Contains(s.Classes, code/100)
}

// Rules names the origin of each verdict-making rule of a Policy, as
// Attempt.DecidedBy shows it ("spec clevertap delivery.retry_status").
type Rules struct {
	SuccessStatus, SuccessBody, FailureBody, RetryStatus, RetryNetwork string
}

// The verdicts no configurable rule makes, and the defaults of those a
// policy may set.
const (
	RuleDefaultSuccess = "default: any 2xx is success"
	RuleDefaultRetry   = "default: 5xx, 408, 429 and network errors are retried"
	RuleBudget         = "retry budget (max_attempts, max_age)"
	RuleWindow         = "postback window"
	RuleHosts          = "allowed hosts (spec hosts, allowed_hosts, config allow_hosts)"
	RuleRequest        = "request check: the rendered request cannot be sent"
	RuleDisabled       = "config: partner not enabled for the app"
	RuleBreaker        = "circuit breaker"
)

func orDefault(rule, def string) string {
	if rule == "" {
		return def
	}
	return rule
}

// retryStatus reports whether a failing answer is retried, and the rule
// that says so.
func (p *Policy) retryStatus(code int) (bool, string) {
	if p.RetryStatus != nil {
		return p.RetryStatus.Match(code), p.Rules.RetryStatus
	}
	return code == 408 || code == 429 || code >= 500, orDefault(p.Rules.RetryStatus, RuleDefaultRetry)
}

func (p *Policy) successStatus(code int) bool {
	if len(p.SuccessStatus) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(p.SuccessStatus, code)
}

// hostAllowed matches host against patterns: "example.com" matches only
// itself; "*.example.com" matches any name ending in ".example.com".
func hostAllowed(host string, patterns []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range patterns {
		p = strings.ToLower(p)
		if suffix, ok := strings.CutPrefix(p, "*"); ok && strings.HasPrefix(suffix, ".") {
			if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return true
			}
			continue
		}
		if host == p {
			return true
		}
	}
	return false
}

// refusedPrefixes are ranges beyond what netip classifies that must not
// be reachable from a postback, whatever they embed: shared address space
// (CGNAT), the IETF protocol block, benchmarking, "this network" and
// reserved IPv4 space; and the IPv6 forms whose embedded IPv4 address
// cannot be checked or should never be a partner's endpoint:
//   - ::/96, IPv4-compatible addresses (deprecated by RFC 4291; :: and ::1
//     are in it too);
//   - 64:ff9b:1::/48, local-use NAT64 (RFC 8215): the operator chooses
//     where in the address the IPv4 address sits, so it cannot be read;
//   - 2001::/32, Teredo: a tunnelled client, never a server, with its
//     IPv4 address obfuscated;
//   - fec0::/10, deprecated site-local addresses, private by intent;
//   - 100::/64, the discard prefix.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("100::/64"),
}

// NAT64 and 6to4 addresses reach the IPv4 address they embed, so they are
// judged by it: with DNS64 every public IPv4 partner has a 64:ff9b::/96
// address, which must keep working, while 64:ff9b::a9fe:a9fe is the cloud
// metadata service. IPv4-mapped addresses (::ffff:0:0/96) are unmapped
// first.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: IPv4 in the last 32 bits
	sixToFour   = netip.MustParsePrefix("2002::/16")    // RFC 3056: IPv4 in bits 16-47
)

// privateAddr reports whether ip is loopback, private, link-local (cloud
// metadata lives there), multicast, unspecified or otherwise special, or
// an IPv6 address embedding such an IPv4 address.
func privateAddr(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64Prefix.Contains(ip):
			return privateAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return privateAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// privateAllowed reports whether host is one of the policy's PrivateHosts:
// the same name (any case, with or without the final dot) or the same
// address however it is written (::1 and 0:0::1, ::ffff:127.0.0.1 and
// 127.0.0.1).
func (p *Policy) privateAllowed(host string) bool {
	host = strings.TrimSuffix(host, ".")
	ip, isIP := hostname.ParseIP(host)
	for _, h := range p.PrivateHosts {
		h = strings.TrimSuffix(h, ".")
		if strings.EqualFold(h, host) {
			return true
		}
		if a, ok := hostname.ParseIP(h); ok && isIP && a.Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}

// ExemptsPrivate reports whether an allow-list entry, when an operator
// lists it, lifts the private-address refusal for itself: a loopback,
// private, link-local or otherwise special address, or localhost (whose
// every address is loopback). A public name never does, so a partner's
// DNS cannot point a listed name at an internal address.
func ExemptsPrivate(entry string) bool {
	h := strings.ToLower(strings.TrimSuffix(strings.Trim(entry, "[]"), "."))
	if strings.HasPrefix(h, "*") {
		// A pattern is not an exact host: "*.localhost" exempts nothing.
		return false
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && privateAddr(ip)
}

// deliverTarget rewrites u, in place, to the --deliver-to base: its
// scheme and host, its path as a prefix, u's userinfo, path and query
// kept; it returns u. The userinfo stays so the sink sees the
// Authorization the partner would (Go's client sends it as basic auth).
// In place because u is the attempt's own, parsed for it: a copy was one
// more allocation per attempt.
func deliverTarget(base *url.URL, u *url.URL) *url.URL {
	u.Scheme = base.Scheme
	u.Host = base.Host
	if p := strings.TrimSuffix(base.Path, "/"); p != "" {
		u.Path = p + u.Path
		if u.RawPath != "" {
			u.RawPath = strings.TrimSuffix(base.EscapedPath(), "/") + u.RawPath
		}
	}
	return u
}
