package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/schemas"
)

// Rule ids of the config diagnostics.
const (
	RuleYAML         = "gateway-yaml"
	RuleSchema       = "gateway-schema"
	RuleEnv          = "gateway-env-unset"
	RuleDuration     = "gateway-duration"
	RuleDuplicate    = "gateway-duplicate"
	RuleCredentials  = "gateway-ingest-credentials"
	RuleRegexp       = "gateway-regexp"
	RuleStatus       = "gateway-status"
	RulePartner      = "gateway-unknown-partner"
	RulePostback     = "gateway-unknown-postback"
	RuleCredential   = "gateway-unknown-credential"
	RuleMissingCred  = "gateway-missing-credential"
	RuleCountry      = "gateway-country"
	RuleCustomEvents = "gateway-custom-events"
	RuleAllowHost    = "gateway-allow-host"
	RuleQueue        = "gateway-queue"
	RuleRetention    = "gateway-retention"
	// RuleReadOnlyToken: read_only_token must not repeat a token that
	// grants more (admin, metrics, ingest).
	RuleReadOnlyToken = "gateway-read-only-token"
)

// MaxFileBytes bounds the config file read.
const MaxFileBytes = 4 << 20

// SchemaFile is the schema's name inside schemas.FS.
const SchemaFile = "gateway.schema.json"

// Options adjusts loading.
type Options struct {
	// LookupEnv resolves ${env:NAME}; nil means os.LookupEnv.
	LookupEnv func(name string) (string, bool)
}

// Load reads and validates the config at path. The returned error is for
// I/O failures only; a config with an error diagnostic is returned as nil.
func Load(ctx context.Context, path string, opt Options) (*Config, diag.List, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read gateway config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read gateway config %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, diag.List{{File: path, Severity: diag.Error, Rule: RuleYAML,
			Message: fmt.Sprintf("file is larger than %d bytes", MaxFileBytes)}}, nil
	}
	cfg, ds := Parse(path, data, opt)
	return cfg, ds, nil
}

// LooksLikeConfig reports whether a YAML document is a gateway config
// rather than a partner spec, so `adgate validate` can route files: it
// names the gateway schema in its modeline or has a top-level apps key.
func LooksLikeConfig(data []byte) bool {
	if bytes.Contains(data, []byte(SchemaFile)) {
		return true
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("apps:")) {
			return true
		}
	}
	return false
}

// compiledSchema is immutable once built, so sharing it is safe.
var compiledSchema = sync.OnceValues(func() (*gojsonschema.Schema, error) {
	b, err := schemas.FS.ReadFile(SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", SchemaFile, err)
	}
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(b))
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", SchemaFile, err)
	}
	return s, nil
})

// Parse validates data read from path (used in diagnostics only).
func Parse(path string, data []byte, opt Options) (*Config, diag.List) {
	cfg, ds := parse(path, data, opt)
	text := diag.NewSource(data)
	ds.Locate(path, text)
	if cfg != nil {
		cfg.text = text
	}
	return cfg, ds
}

func parse(path string, data []byte, opt Options) (*Config, diag.List) {
	lookup := opt.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	p := &parser{file: path, lookup: lookup}
	doc, ds := yamlx.Parse(path, data, yamlx.Options{Rules: yamlx.Rules{Syntax: RuleYAML, Duplicate: RuleDuplicate}})
	p.ds = append(p.ds, ds...)
	if p.ds.HasErrors() {
		p.ds.Sort()
		return nil, p.ds
	}
	root := doc.Root
	if root == nil {
		p.errAt(1, 1, RuleYAML, "the file is empty", "start from examples/gateway.yaml")
		return nil, p.ds
	}
	p.resolveEnvs(root)
	if p.ds.HasErrors() {
		p.ds.Sort()
		return nil, p.ds
	}
	schema, err := compiledSchema()
	if err != nil {
		p.errAt(0, 0, RuleSchema, err.Error(), "")
		return nil, p.ds
	}
	res, err := yamlx.SchemaResult(schema, root, doc.Budget)
	if err != nil {
		var ne *yamlx.NodeError
		if errors.As(err, &ne) {
			p.errNode(ne.Node, RuleYAML, err.Error(), "")
		} else {
			p.errNode(root, RuleSchema, "schema validation failed: "+err.Error(), "")
		}
		return nil, p.ds
	}
	for _, re := range res.Errors() {
		p.schemaError(root, re)
	}
	if p.ds.HasErrors() {
		p.ds.Sort()
		return nil, p.ds
	}
	var raw rawConfig
	if err := root.Decode(&raw); err != nil {
		line, msg := yamlx.DecodeError(err)
		p.errAt(line, 0, RuleYAML, "cannot decode: "+msg, "")
		return nil, p.ds
	}
	sum := sha256.Sum256(data)
	cfg := p.build(&raw, root)
	cfg.Path = path
	cfg.root = root
	cfg.Hash = hex.EncodeToString(sum[:6])
	p.ds.Sort()
	if p.ds.HasErrors() {
		return nil, p.ds
	}
	return cfg, p.ds
}

type parser struct {
	file   string
	lookup func(string) (string, bool)
	ds     diag.List
}

func (p *parser) errAt(line, col int, rule, msg, hint string) {
	p.ds = append(p.ds, diag.Diagnostic{File: p.file, Range: diag.Point(line, col), Severity: diag.Error, Rule: rule, Message: msg, Hint: hint})
}

func (p *parser) errNode(n *yaml.Node, rule, msg, hint string) {
	if n == nil {
		p.errAt(0, 0, rule, msg, hint)
		return
	}
	p.errAt(n.Line, n.Column, rule, msg, hint)
}

var envRe = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// resolveEnvs resolves ${env:NAME} in every scalar, in place, so the
// schema check and the later Decode see the values. Aliases are not
// followed: the node they name is resolved where it is written.
func (p *parser) resolveEnvs(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${env:") {
		n.Value = p.resolveEnv(n)
		// A resolved reference is always a string, whatever it looks like.
		n.Tag = "!!str"
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		p.resolveEnvs(c)
	}
}

func (p *parser) resolveEnv(n *yaml.Node) string {
	return envRe.ReplaceAllStringFunc(n.Value, func(ref string) string {
		name := envRe.FindStringSubmatch(ref)[1]
		v, ok := p.lookup(name)
		if !ok {
			col := n.Column + strings.Index(n.Value, ref)
			if n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle {
				col++
			}
			p.errAt(n.Line, col, RuleEnv, fmt.Sprintf("environment variable %s is not set", name),
				"export it before starting adgate, or write the value in the file")
		}
		return v
	})
}

// schemaError places one schema violation at the node it is about.
func (p *parser) schemaError(root *yaml.Node, re gojsonschema.ResultError) {
	field := re.Field()
	n := yamlx.SchemaNode(root, re)
	msg := re.Description()
	prop, _ := re.Details()["property"].(string)
	switch re.Type() {
	case "additional_property_not_allowed":
		msg = fmt.Sprintf("unknown key %q", prop)
		if field != "(root)" {
			msg += " in " + field
		}
		p.errNode(n, RuleSchema, msg, "see schemas/gateway.schema.json for the keys allowed here")
		return
	case "required":
		if strings.Contains(field, ".filters.") && (prop == "equals" || prop == "in" || prop == "exists") {
			// Reported once as the oneOf failure below.
			return
		}
		msg = fmt.Sprintf("missing required key %q", prop)
		if field != "(root)" {
			msg += " in " + field
		}
		p.errNode(n, RuleSchema, msg, "")
		return
	case "number_one_of", "number_any_of":
		// oneOf failures also report each branch; the branch messages say
		// it better, but a filter with none or two operators needs its own.
		msg = "exactly one of equals, in, exists is required"
	}
	hint := ""
	if re.Type() == "pattern" && strings.Contains(fmt.Sprint(re.Details()["pattern"]), "ns|us") {
		hint = "write a Go duration such as 500ms, 5s or 1h"
	}
	if field != "(root)" && !strings.HasPrefix(msg, field) {
		msg = field + ": " + msg
	}
	if re.Type() == "pattern" {
		msg = fmt.Sprintf("%s: %q does not match %v", field, fmt.Sprint(re.Value()), re.Details()["pattern"])
	}
	p.errNode(n, RuleSchema, msg, hint)
}

// nodeAt returns the node at a dotted path of fixed key names and
// indexes, or the nearest node on the way.
func nodeAt(root *yaml.Node, path string) *yaml.Node {
	return yamlx.Lookup(root, strings.Split(path, ".")).Nearest
}

// The raw* types mirror the file; build turns them into Config.
type rawConfig struct {
	Listen      string `yaml:"listen"`
	PartnersDir string `yaml:"partners_dir"`
	DataDir     string `yaml:"data_dir"`
	AdminToken  string `yaml:"admin_token"`
	// ReadOnlyToken grants the GET admin routes and a read-only console.
	ReadOnlyToken string `yaml:"read_only_token"`
	Metrics       struct {
		Token string `yaml:"token"`
	} `yaml:"metrics"`
	Queue struct {
		URL       string `yaml:"url"`
		Replicas  int    `yaml:"replicas"`
		Placement struct {
			Cluster string   `yaml:"cluster"`
			Tags    []string `yaml:"tags"`
		} `yaml:"placement"`
		TokenFile    string `yaml:"token_file"`
		CredsFile    string `yaml:"creds_file"`
		NKeySeedFile string `yaml:"nkey_seed_file"`
		TLS          struct {
			CAFile     string `yaml:"ca_file"`
			CertFile   string `yaml:"cert_file"`
			KeyFile    string `yaml:"key_file"`
			ServerName string `yaml:"server_name"`
		} `yaml:"tls"`
	} `yaml:"queue"`
	Limits struct {
		MaxBodyBytes        int64  `yaml:"max_body_bytes"`
		MaxBatchEvents      int    `yaml:"max_batch_events"`
		MaxConcurrentIngest int    `yaml:"max_concurrent_ingest"`
		MaxQueuePending     int64  `yaml:"max_queue_pending"`
		ShutdownTimeout     string `yaml:"shutdown_timeout"`
		MaxNumberLength     int    `yaml:"max_number_length"`
		MaxErrorFields      int    `yaml:"max_error_fields"`
	} `yaml:"limits"`
	Sample struct {
		EventsPerApp int     `yaml:"events_per_app"`
		PerSecond    float64 `yaml:"per_second"`
	} `yaml:"sample"`
	Retention struct {
		HistoryMaxAge   string `yaml:"history_max_age"`
		HistoryMaxBytes int64  `yaml:"history_max_bytes"`
		EventsMaxAge    string `yaml:"events_max_age"`
		EventsMaxBytes  int64  `yaml:"events_max_bytes"`
	} `yaml:"retention"`
	Apps []rawApp `yaml:"apps"`
}

type rawApp struct {
	ID     string `yaml:"id"`
	Ingest struct {
		BearerTokens       []string `yaml:"bearer_tokens"`
		HMACSecret         string   `yaml:"hmac_secret"`
		TimestampTolerance string   `yaml:"timestamp_tolerance"`
	} `yaml:"ingest"`
	Bundles []struct {
		OS      string `yaml:"os"`
		Android struct {
			PackageName string `yaml:"package_name"`
		} `yaml:"android"`
		IOS struct {
			BundleID string `yaml:"bundle_id"`
			ITunesID string `yaml:"itunes_id"`
		} `yaml:"ios"`
	} `yaml:"app_bundles"`
	Partners []rawPartner `yaml:"partners"`
}

type rawPartner struct {
	ID           string            `yaml:"id"`
	Credentials  map[string]string `yaml:"credentials"`
	Settings     map[string]string `yaml:"settings"`
	Postbacks    []string          `yaml:"postbacks"`
	Scope        string            `yaml:"scope"`
	WindowDays   int               `yaml:"window_days"`
	CustomEvents map[string]string `yaml:"custom_events"`
	SendRevenue  *bool             `yaml:"send_revenue"`
	Filters      []struct {
		Field  string `yaml:"field"`
		Equals any    `yaml:"equals"`
		In     []any  `yaml:"in"`
		Exists *bool  `yaml:"exists"`
		Negate bool   `yaml:"negate"`
	} `yaml:"filters"`
	Countries struct {
		Allow []string `yaml:"allow"`
		Deny  []string `yaml:"deny"`
	} `yaml:"countries"`
	Delivery struct {
		Timeout       string   `yaml:"timeout"`
		MaxAttempts   int      `yaml:"max_attempts"`
		MaxAge        string   `yaml:"max_age"`
		SuccessCodes  []int    `yaml:"success_codes"`
		SuccessBody   string   `yaml:"success_body"`
		FailureBody   string   `yaml:"failure_body"`
		RetryStatus   []string `yaml:"retry_status"`
		RetryNetwork  *bool    `yaml:"retry_network_errors"`
		Concurrency   int      `yaml:"concurrency"`
		RatePerSecond float64  `yaml:"rate_per_second"`
		AllowHosts    []string `yaml:"allow_hosts"`
		Breaker       struct {
			FailureRatio   float64 `yaml:"failure_ratio"`
			MinRequests    int     `yaml:"min_requests"`
			Window         string  `yaml:"window"`
			OpenFor        string  `yaml:"open_for"`
			HalfOpenProbes int     `yaml:"half_open_probes"`
		} `yaml:"breaker"`
	} `yaml:"delivery"`
}

func (p *parser) build(raw *rawConfig, root *yaml.Node) *Config {
	dir := filepath.Dir(p.file)
	rel := func(v, def string) string {
		if v == "" {
			v = def
		}
		if filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(dir, v)
	}
	at := func(path string) *yaml.Node { return nodeAt(root, path) }
	dur := func(v string, def time.Duration, path string) time.Duration {
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			p.errNode(at(path), RuleDuration, fmt.Sprintf("%s: %q is not a positive duration", path, v), "write e.g. 500ms, 5s or 1h")
			return def
		}
		return d
	}
	cfg := &Config{
		Listen:        cmpOr(raw.Listen, DefaultListen),
		PartnersDir:   rel(raw.PartnersDir, DefaultPartnersDir),
		DataDir:       rel(raw.DataDir, DefaultDataDir),
		AdminToken:    raw.AdminToken,
		ReadOnlyToken: raw.ReadOnlyToken,
		MetricsToken:  raw.Metrics.Token,
		Queue:         p.buildQueue(raw, root, at, rel),
		Limits: Limits{
			MaxBodyBytes:        cmpOr(raw.Limits.MaxBodyBytes, DefaultMaxBodyBytes),
			MaxBatchEvents:      cmpOr(raw.Limits.MaxBatchEvents, DefaultMaxBatchEvents),
			MaxConcurrentIngest: cmpOr(raw.Limits.MaxConcurrentIngest, DefaultMaxConcurrent),
			MaxQueuePending:     raw.Limits.MaxQueuePending,
			ShutdownTimeout:     dur(raw.Limits.ShutdownTimeout, DefaultShutdownTimeout, "limits.shutdown_timeout"),
			MaxNumberLength:     cmpOr(raw.Limits.MaxNumberLength, DefaultMaxNumberLength),
			MaxErrorFields:      cmpOr(raw.Limits.MaxErrorFields, DefaultMaxErrorFields),
		},
		Sample: Sample{
			EventsPerApp: raw.Sample.EventsPerApp,
			PerSecond:    cmpOr(raw.Sample.PerSecond, DefaultSamplePerSecond),
		},
		Retention: p.buildRetention(raw, at, dur),
	}
	seenApp := map[string]bool{}
	for i, ra := range raw.Apps {
		ap := fmt.Sprintf("apps.%d", i)
		if seenApp[ra.ID] {
			p.errNode(at(ap+".id"), RuleDuplicate, fmt.Sprintf("app %q is configured twice", ra.ID), "merge the two entries")
		}
		seenApp[ra.ID] = true
		app := App{ID: ra.ID}
		app.Ingest = Ingest{
			BearerTokens:       ra.Ingest.BearerTokens,
			HMACSecret:         ra.Ingest.HMACSecret,
			TimestampTolerance: dur(ra.Ingest.TimestampTolerance, DefaultTimestampTolerance, ap+".ingest.timestamp_tolerance"),
		}
		if len(app.Ingest.BearerTokens) == 0 && app.Ingest.HMACSecret == "" {
			p.errNode(at(ap+".ingest"), RuleCredentials, fmt.Sprintf("app %q accepts no credentials", ra.ID),
				"add ingest.bearer_tokens or ingest.hmac_secret")
		}
		for _, b := range ra.Bundles {
			app.Bundles = append(app.Bundles, Bundle{OS: b.OS, PackageName: b.Android.PackageName, BundleID: b.IOS.BundleID, ITunesID: b.IOS.ITunesID})
		}
		seenPartner := map[string]bool{}
		for j, rp := range ra.Partners {
			pp := fmt.Sprintf("%s.partners.%d", ap, j)
			if seenPartner[rp.ID] {
				p.errNode(at(pp+".id"), RuleDuplicate, fmt.Sprintf("partner %q is enabled twice for app %q", rp.ID, ra.ID), "merge the two entries")
			}
			seenPartner[rp.ID] = true
			app.Partners = append(app.Partners, p.buildPartner(rp, pp, at, dur))
		}
		cfg.Apps = append(cfg.Apps, app)
	}
	p.checkReadOnlyToken(cfg, at)
	return cfg
}

// checkReadOnlyToken refuses a read_only_token that equals a token
// granting more: whoever holds it would get the other token's rights, and
// the read-only login could not tell the two apart.
func (p *parser) checkReadOnlyToken(cfg *Config, at func(string) *yaml.Node) {
	ro := cfg.ReadOnlyToken
	if ro == "" {
		return
	}
	if cfg.AdminToken == "" {
		p.errNode(at("read_only_token"), RuleReadOnlyToken, "read_only_token is set but admin_token is not",
			"set admin_token too: the console's sessions are signed with a key derived from it")
	}
	clash := func(what string) {
		p.errNode(at("read_only_token"), RuleReadOnlyToken, "read_only_token is the same as "+what,
			"choose a distinct token: a read-only token must not grant anything more")
	}
	switch ro {
	case cfg.AdminToken:
		clash("admin_token")
	case cfg.MetricsToken:
		clash("metrics.token")
	}
	for _, a := range cfg.Apps {
		if slices.Contains(a.Ingest.BearerTokens, ro) || a.Ingest.HMACSecret == ro {
			clash(fmt.Sprintf("a credential of app %q", a.ID))
		}
	}
}

func (p *parser) buildQueue(raw *rawConfig, root *yaml.Node, at func(string) *yaml.Node, rel func(v, def string) string) Queue {
	rq := raw.Queue
	file := func(v string) string {
		if v == "" {
			return ""
		}
		return rel(v, "")
	}
	q := Queue{
		URL:              rq.URL,
		Replicas:         rq.Replicas,
		PlacementCluster: rq.Placement.Cluster,
		PlacementTags:    rq.Placement.Tags,
		TokenFile:        file(rq.TokenFile),
		CredsFile:        file(rq.CredsFile),
		NKeySeedFile:     file(rq.NKeySeedFile),
		TLSCAFile:        file(rq.TLS.CAFile),
		TLSCertFile:      file(rq.TLS.CertFile),
		TLSKeyFile:       file(rq.TLS.KeyFile),
		TLSServerName:    rq.TLS.ServerName,
	}
	if q.URL == "" {
		// The embedded server is one node that only this process talks
		// to: there is nothing to replicate to or authenticate against.
		for _, k := range []string{"replicas", "placement", "token_file", "creds_file", "nkey_seed_file", "tls"} {
			if n := yamlx.Lookup(root, []string{"queue", k}); n.Key != nil {
				p.errNode(n.Key, RuleQueue, fmt.Sprintf("queue.%s needs an external NATS server", k),
					"set queue.url to the cluster's servers, or remove queue."+k+" to use the embedded server")
			}
		}
	}
	if (q.TLSCertFile == "") != (q.TLSKeyFile == "") {
		p.errNode(at("queue.tls"), RuleQueue, "queue.tls needs cert_file and key_file together", "set both for a client certificate, or neither")
	}
	// NATS takes one way to authenticate; the finding points at the
	// second one named.
	var auth []string
	for _, a := range []struct{ key, v string }{{"token_file", q.TokenFile}, {"creds_file", q.CredsFile}, {"nkey_seed_file", q.NKeySeedFile}} {
		if a.v != "" {
			auth = append(auth, a.key)
		}
	}
	if len(auth) > 1 {
		p.errNode(at("queue."+auth[1]), RuleQueue, "queue has both "+auth[0]+" and "+auth[1]+": NATS authenticates a connection one way",
			"keep the one your NATS account uses")
	}
	return q
}

func (p *parser) buildRetention(raw *rawConfig, at func(string) *yaml.Node, dur func(string, time.Duration, string) time.Duration) Retention {
	rr := raw.Retention
	r := Retention{
		HistoryMaxAge:   dur(rr.HistoryMaxAge, DefaultHistoryMaxAge, "retention.history_max_age"),
		HistoryMaxBytes: rr.HistoryMaxBytes,
		EventsMaxAge:    dur(rr.EventsMaxAge, 0, "retention.events_max_age"),
		EventsMaxBytes:  rr.EventsMaxBytes,
	}
	// JetStream checks age limits about once a second and keeps whole
	// message blocks: a shorter limit keeps nothing worth querying.
	for _, a := range []struct {
		key string
		v   time.Duration
	}{{"history_max_age", r.HistoryMaxAge}, {"events_max_age", r.EventsMaxAge}} {
		if a.v != 0 && a.v < time.Minute {
			p.errNode(at("retention."+a.key), RuleRetention, fmt.Sprintf("retention.%s is %s: at least 1m is kept", a.key, a.v),
				"write a duration such as 24h or 168h (7 days)")
		}
	}
	return r
}

func (p *parser) buildPartner(rp rawPartner, pp string, at func(string) *yaml.Node, dur func(string, time.Duration, string) time.Duration) Partner {
	part := Partner{
		ID:          rp.ID,
		Credentials: rp.Credentials,
		Settings:    rp.Settings,
		Postbacks:   rp.Postbacks,
		Scope:       Scope(cmpOr(rp.Scope, string(ScopeAttributed))),
		WindowDays:  rp.WindowDays,
		SendRevenue: rp.SendRevenue == nil || *rp.SendRevenue,
	}
	if rp.CustomEvents != nil {
		part.CustomEvents = make(map[string]string, len(rp.CustomEvents))
		// Sorted, so which spelling a duplicate finding names does not
		// depend on map order.
		for _, k := range slices.Sorted(maps.Keys(rp.CustomEvents)) {
			v := rp.CustomEvents[k]
			lk := strings.ToLower(k)
			if _, dup := part.CustomEvents[lk]; dup {
				p.errNode(at(pp+".custom_events"), RuleCustomEvents, fmt.Sprintf("custom event %q is mapped twice (names are case-insensitive)", k), "keep one mapping")
			}
			part.CustomEvents[lk] = v
		}
	}
	for k, f := range rp.Filters {
		fp := fmt.Sprintf("%s.filters.%d", pp, k)
		flt := Filter{Field: f.Field, Path: strings.Split(f.Field, "."), Negate: f.Negate}
		switch {
		case f.Equals != nil:
			flt.Op, flt.Values = OpEquals, []string{scalarString(f.Equals)}
		case f.In != nil:
			flt.Op = OpIn
			for _, v := range f.In {
				flt.Values = append(flt.Values, scalarString(v))
			}
		case f.Exists != nil:
			flt.Op, flt.Exists = OpExists, *f.Exists
		default:
			p.errNode(at(fp), RuleSchema, "filter needs one of equals, in, exists", "")
		}
		part.Filters = append(part.Filters, flt)
	}
	for _, c := range rp.Countries.Allow {
		part.CountryAllow = append(part.CountryAllow, strings.ToUpper(c))
	}
	for _, c := range rp.Countries.Deny {
		u := strings.ToUpper(c)
		if len(part.CountryAllow) > 0 && contains(part.CountryAllow, u) {
			p.errNode(at(pp+".countries"), RuleCountry, fmt.Sprintf("country %s is both allowed and denied", u), "remove it from one list")
		}
		part.CountryDeny = append(part.CountryDeny, u)
	}
	d := rp.Delivery
	part.Delivery = Delivery{
		Timeout:       dur(d.Timeout, 0, pp+".delivery.timeout"),
		MaxAttempts:   d.MaxAttempts,
		MaxAge:        dur(d.MaxAge, 0, pp+".delivery.max_age"),
		SuccessCodes:  d.SuccessCodes,
		RetryStatus:   d.RetryStatus,
		RetryNetwork:  d.RetryNetwork,
		Concurrency:   d.Concurrency,
		RatePerSecond: d.RatePerSecond,
		AllowHosts:    d.AllowHosts,
		Breaker: Breaker{
			FailureRatio:   d.Breaker.FailureRatio,
			MinRequests:    d.Breaker.MinRequests,
			Window:         dur(d.Breaker.Window, 0, pp+".delivery.breaker.window"),
			OpenFor:        dur(d.Breaker.OpenFor, 0, pp+".delivery.breaker.open_for"),
			HalfOpenProbes: d.Breaker.HalfOpenProbes,
		},
	}
	for k, h := range d.AllowHosts {
		if msg, hint := allowHostProblem(h); msg != "" {
			p.errNode(at(fmt.Sprintf("%s.delivery.allow_hosts.%d", pp, k)), RuleAllowHost, msg, hint)
		}
	}
	// The spec's delivery block is read with the same functions: one rule
	// for what a pattern or a status list may be.
	for _, f := range []struct {
		key, val string
		out      **regexp.Regexp
	}{{"success_body", d.SuccessBody, &part.Delivery.SuccessBody}, {"failure_body", d.FailureBody, &part.Delivery.FailureBody}} {
		if f.val == "" {
			continue
		}
		re, err := spec.CompilePattern(f.val)
		if err != nil {
			p.errNode(at(pp+".delivery."+f.key), RuleRegexp, f.key+": "+err.Error(), "use Go RE2 syntax, at most 1024 bytes")
		}
		*f.out = re
	}
	for k, e := range d.RetryStatus {
		if _, _, err := spec.ParseStatus(e); err != nil {
			p.errNode(at(fmt.Sprintf("%s.delivery.retry_status.%d", pp, k)), RuleStatus, "retry_status: "+err.Error(), `write a code such as 429 or a class such as "5xx"`)
		}
	}
	return part
}

// allowHostProblem explains why an allow_hosts entry cannot work, or
// returns "". Entries are compared with the postback URL's host name, port
// left out, so an entry with a port would never match (and would not turn
// on loopback/private delivery either).
func allowHostProblem(h string) (msg, hint string) {
	if strings.Contains(h, "/") {
		return fmt.Sprintf("allow_hosts entry %q is not a host name", h), "list the host only, e.g. partner.example.com or *.partner.example.com"
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return "", ""
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		return fmt.Sprintf("allow_hosts entry %q has a port (%s); entries name hosts and match any port", h, port), fmt.Sprintf("write %q", strings.Trim(host, "[]"))
	}
	return "", ""
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
