// Package config loads gateway.yaml, the configuration of `adgate serve`:
// it resolves ${env:NAME} references, validates the file against
// schemas/gateway.schema.json and the rules a schema cannot express, and
// reports every finding at its file:line:col.
package config

import (
	"fmt"
	"gopkg.in/yaml.v3"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/adgate/adgate/engine/diag"
)

// Defaults applied when the file leaves a value out.
const (
	DefaultListen             = "127.0.0.1:8080"
	DefaultPartnersDir        = "../partners"
	DefaultDataDir            = "./data"
	DefaultMaxBodyBytes       = 1 << 20
	DefaultMaxBatchEvents     = 1000
	DefaultMaxConcurrent      = 256
	DefaultShutdownTimeout    = 10 * time.Second
	DefaultTimestampTolerance = 5 * time.Minute
	DefaultMaxNumberLength    = 64
	DefaultMaxErrorFields     = 20
	DefaultSamplePerSecond    = 1.0
	// DefaultHistoryMaxAge bounds the delivery history: a week answers
	// "what happened to last week's event". There is no default size
	// limit: JetStream reserves a stream's max bytes (times its replicas)
	// on its servers when the stream is created, so a default large
	// enough to matter refuses to start on a cluster with less storage
	// configured (seen in the cluster test: "insufficient storage").
	DefaultHistoryMaxAge = 7 * 24 * time.Hour
	// MinRetentionBytes is the smallest size limit accepted (0 is none).
	MinRetentionBytes = 1 << 20
)

// Config is a loaded, validated gateway.yaml with defaults applied and
// relative paths resolved against the file's directory.
type Config struct {
	// Path is the file the config was read from.
	Path string
	// Hash identifies the file's content (hex SHA-256 prefix); it is the
	// config version stamped on every queued postback.
	Hash string

	Listen      string
	PartnersDir string
	DataDir     string
	AdminToken  string
	// ReadOnlyToken grants the admin API's GET routes and a console
	// session that can look but not change anything.
	ReadOnlyToken string
	// MetricsToken is the bearer token of GET /metrics (admin_token is
	// accepted too).
	MetricsToken string
	Queue        Queue
	Limits       Limits
	Sample       Sample
	Retention    Retention
	Apps         []App

	// root keeps the parsed document so later checks (CheckPartners) can
	// place their findings.
	root *yaml.Node
	// text is the file's text, for the byte offsets of findings.
	text *diag.Source
}

// Queue configures the durable queue's NATS connection and streams.
// Paths are resolved against the config file's directory.
type Queue struct {
	// URL lists external NATS servers; empty runs the embedded server.
	URL string
	// Replicas of every stream and consumer adgate creates; 0 means not
	// configured (see queue.Config.Replicas).
	Replicas int
	// PlacementCluster and PlacementTags place the streams.
	PlacementCluster string
	PlacementTags    []string
	TokenFile        string
	CredsFile        string
	NKeySeedFile     string
	TLSCAFile        string
	TLSCertFile      string
	TLSKeyFile       string
	TLSServerName    string
}

// Limits bound what ingest accepts.
type Limits struct {
	MaxBodyBytes        int64
	MaxBatchEvents      int
	MaxConcurrentIngest int
	// MaxQueuePending turns ingest away (503) while the backlog is larger;
	// 0 means no limit.
	MaxQueuePending int64
	ShutdownTimeout time.Duration
	// MaxNumberLength bounds the characters of one JSON number in an
	// event: longer numbers are refused before the schema check, which,
	// like the exact-number parse, costs seconds on a million digits.
	MaxNumberLength int
	// MaxErrorFields bounds the schema violations an error body lists; the
	// rest are only counted.
	MaxErrorFields int
}

// Sample is the bounded, redacted sample of accepted events the gateway
// keeps per app for adgate sample pull (replays for adgate diff and
// fixtures).
type Sample struct {
	// EventsPerApp is how many of an app's latest sampled events are
	// kept; 0, the default, keeps none: sampling is off.
	EventsPerApp int
	// PerSecond is how many of an app's events are sampled per second at
	// most, so a burst does not replace the whole sample.
	PerSecond float64
}

// Retention bounds what the gateway keeps for inspection: the delivery
// history (GET /v1/deliveries, the event trace) and the event archive
// (replay with rerender). A byte limit of 0 means none.
type Retention struct {
	HistoryMaxAge   time.Duration
	HistoryMaxBytes int64
	// EventsMaxAge and EventsMaxBytes are passed to the queue as
	// ArchiveMaxAge and ArchiveMaxBytes; zero leaves the queue's default.
	EventsMaxAge   time.Duration
	EventsMaxBytes int64
}

// App is one app whose events the gateway accepts.
type App struct {
	ID      string
	Ingest  Ingest
	Bundles []Bundle
	// Partners are the enabled partners, in file order.
	Partners []Partner
}

// Partner returns the app's settings for partner id, or nil.
func (a *App) Partner(id string) *Partner {
	for i := range a.Partners {
		if a.Partners[i].ID == id {
			return &a.Partners[i]
		}
	}
	return nil
}

// Ingest holds the credentials accepted for an app's events.
type Ingest struct {
	BearerTokens       []string
	HMACSecret         string
	TimestampTolerance time.Duration
}

// Bundle is one store bundle of an app (app.app_bundles in templates).
type Bundle struct {
	OS          string `yaml:"os" json:"os"`
	PackageName string `yaml:"-" json:"-"`
	BundleID    string `yaml:"-" json:"-"`
	ITunesID    string `yaml:"-" json:"-"`
}

// Scope says which events a partner receives.
type Scope string

// The scopes of an enabled partner.
const (
	// ScopeAttributed sends only events attributed to the partner
	// (last_attributed_touch_data.$3p equals its machine name).
	ScopeAttributed Scope = "attributed"
	// ScopeAll sends every event (analytics partners).
	ScopeAll Scope = "all"
)

// Partner is one partner enabled for an app.
type Partner struct {
	ID          string
	Credentials map[string]string
	Settings    map[string]string
	// Postbacks lists the postback keys that are on; nil means all.
	Postbacks []string
	Scope     Scope
	// WindowDays is the postback window; 0 means none.
	WindowDays int
	// CustomEvents maps lower-cased app custom event names to the name
	// the partner receives; nil means every custom event, unrenamed.
	CustomEvents map[string]string
	SendRevenue  bool
	Filters      []Filter
	CountryAllow []string // upper-cased
	CountryDeny  []string // upper-cased
	Delivery     Delivery
}

// PostbackOn reports whether the postback ref is enabled: ref is a postback's spec.Selected.Ref: the event key of an unnamed
// postback, the name of a named one. Listing an event therefore turns on
// its unnamed postback only, so a postback added to a spec under a name
// stays off for an app that lists its postbacks until the app lists it.
func (p *Partner) PostbackOn(ref string) bool {
	if p.Postbacks == nil {
		return true
	}
	return slices.ContainsFunc(p.Postbacks, func(k string) bool { return strings.EqualFold(k, ref) })
}

// CountryAllowed applies the allow and deny lists to an event's country.
// An event without a country passes a deny list but not an allow list.
func (p *Partner) CountryAllowed(country string) bool {
	c := strings.ToUpper(country)
	if slices.Contains(p.CountryDeny, c) && c != "" {
		return false
	}
	if len(p.CountryAllow) > 0 {
		return slices.Contains(p.CountryAllow, c)
	}
	return true
}

// Delivery overrides the delivery policy for one partner. Zero values mean
// "the delivery engine's default".
type Delivery struct {
	Timeout      time.Duration
	MaxAttempts  int
	MaxAge       time.Duration
	SuccessCodes []int
	SuccessBody  *regexp.Regexp
	FailureBody  *regexp.Regexp
	// RetryStatus lists the failing answers retried (codes and classes
	// such as "5xx", see spec.ParseStatusList); nil keeps the spec's or
	// the default. RetryNetwork nil keeps the spec's or the default.
	RetryStatus   []string
	RetryNetwork  *bool
	Concurrency   int
	RatePerSecond float64
	AllowHosts    []string
	Breaker       Breaker
}

// Breaker tunes the circuit breaker of a partner's hosts. Zero values mean
// the delivery engine's defaults.
type Breaker struct {
	// FailureRatio and MinRequests: the breaker opens when a window of at
	// least MinRequests attempts has this ratio of failures.
	FailureRatio float64
	MinRequests  int
	Window       time.Duration
	// OpenFor is how long it stays open before probing.
	OpenFor time.Duration
	// HalfOpenProbes is how many probes may fail before it opens again.
	HalfOpenProbes int
}

// FilterOp is the comparison a filter makes.
type FilterOp string

// The filter operations.
const (
	OpEquals FilterOp = "equals"
	OpIn     FilterOp = "in"
	OpExists FilterOp = "exists"
)

// Filter is one condition on an event field.
type Filter struct {
	// Field is a dotted path into the event; Path is it split on dots.
	Field string
	Path  []string
	Op    FilterOp
	// Values holds the compared values as strings (numbers in their
	// shortest decimal form, booleans as true/false).
	Values []string
	Exists bool
	Negate bool
}

// String describes the filter for skip reasons.
func (f Filter) String() string {
	var s string
	switch f.Op {
	case OpEquals:
		s = fmt.Sprintf("%s equals %q", f.Field, f.Values[0])
	case OpIn:
		s = fmt.Sprintf("%s in %q", f.Field, f.Values)
	default:
		s = fmt.Sprintf("%s exists=%t", f.Field, f.Exists)
	}
	if f.Negate {
		s = "not (" + s + ")"
	}
	return s
}

// App returns the app with id, or nil.
func (c *Config) App(id string) *App {
	for i := range c.Apps {
		if c.Apps[i].ID == id {
			return &c.Apps[i]
		}
	}
	return nil
}

// Secrets lists every credential value in the config, longest first, for
// redaction from logs, errors and the deliveries list.
func (c *Config) Secrets() []string {
	var out []string
	add := func(s string) {
		// Very short values would redact innocent text; the schema
		// already asks for long tokens.
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	add(c.AdminToken)
	add(c.ReadOnlyToken)
	add(c.MetricsToken)
	if u := c.Queue.URL; strings.Contains(u, "@") {
		add(u)
	}
	for _, a := range c.Apps {
		for _, t := range a.Ingest.BearerTokens {
			add(t)
		}
		add(a.Ingest.HMACSecret)
		for _, p := range a.Partners {
			for _, v := range p.Credentials {
				add(v)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out)
}
