package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/internal/hostname"
	"github.com/adgate/adgate/engine/internal/queue"
)

// Attempt records one delivery attempt, for the delivery history, metrics
// and logs. Every text in it went through the Redactor.
type Attempt struct {
	Time          time.Time     `json:"time"`
	PostbackID    string        `json:"postback_id"`
	App           string        `json:"app"`
	Partner       string        `json:"partner"`
	Postback      string        `json:"postback"`
	EventID       string        `json:"event_id,omitempty"`
	Method        string        `json:"method"`
	URL           string        `json:"url"`
	Host          string        `json:"host"`
	StatusCode    int           `json:"status_code,omitempty"`
	Latency       time.Duration `json:"latency_ns"`
	Attempt       int           `json:"attempt"`
	Error         string        `json:"error,omitempty"`
	ConfigVersion string        `json:"config_version,omitempty"`
	// Outcome is delivered, retry, dead, or delayed when nothing was sent
	// (an open circuit breaker): a delayed record is not an attempt, and
	// Attempt is the number of the attempt still to be made. RetryAfter is
	// the delay before the next try when it is retry or delayed.
	Outcome    string        `json:"outcome"`
	RetryAfter time.Duration `json:"retry_after_ns,omitempty"`
	// The request's headers and the start of its body, and a few of the
	// response's headers (responseHeaders) and the start of its body, at
	// most ExcerptBytes each, all redacted, for the delivery history.
	RequestHeaders  map[string]string `json:"request_headers,omitempty"`
	RequestBody     string            `json:"request_body,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers,omitempty"`
	ResponseBody    string            `json:"response_body,omitempty"`
	// DecidedBy names the policy rule that made the verdict (see Rules);
	// ErrorClass is the failure's class (queue.ErrorClass), empty when
	// delivered.
	DecidedBy  string `json:"decided_by,omitempty"`
	ErrorClass string `json:"error_class,omitempty"`
	// Replay is set when the attempt follows a replay from the dead
	// letters.
	Replay *Replay `json:"replay,omitempty"`
}

// Replay describes the replay an attempt follows.
type Replay struct {
	// OfConfigVersion is the config version that rendered the postback
	// that died; with Rerendered it differs from the attempt's own
	// ConfigVersion when the config changed in between.
	OfConfigVersion string `json:"of_config_version"`
	Rerendered      bool   `json:"rerendered"`
}

// ReplayOf describes the replay j follows, or nil.
func ReplayOf(j *queue.Job) *Replay {
	if j.Replays == 0 {
		return nil
	}
	if j.OriginalConfigVersion != "" {
		return &Replay{OfConfigVersion: j.OriginalConfigVersion, Rerendered: true}
	}
	return &Replay{OfConfigVersion: j.ConfigVersion}
}

// ExcerptBytes bounds each body excerpt an Attempt carries.
const ExcerptBytes = 2 << 10

// responseHeaders are the response headers an Attempt keeps: what says
// why a partner refused or when to come back, not the whole answer. They
// are written in canonical form (TestCanonicalHeaderKeys), and looked up
// without http.Header.Get canonicalising them again on every attempt.
var responseHeaders = []string{"Content-Type", "Retry-After", "Location", "X-Request-Id"}

// Observer receives every attempt. It is called synchronously on the
// delivery path and must not block.
type Observer interface{ Observe(Attempt) }

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Attempt)

// Observe calls f.
func (f ObserverFunc) Observe(a Attempt) { f(a) }

// Redactor removes credentials from a URL or message. The gateway knows
// the credential values of every partner and supplies one.
type Redactor func(string) string

// Options configure a Sender.
type Options struct {
	// Policy looks up how (app, partner) is delivered; false means the
	// partner is not enabled for the app (any more), and the job is
	// dead-lettered.
	Policy func(app, partner string) (Policy, bool)
	// Observer, if set, receives every attempt.
	Observer Observer
	// Redact, if set, is applied to every URL, error, header value and
	// body excerpt that leaves the Sender. Nil uses RedactQuery.
	Redact Redactor
	// RedactHeaders, if set, redacts the request headers an Attempt
	// carries (the gateway's blanks authentication headers whatever they
	// hold); nil applies Redact to each value.
	RedactHeaders func(map[string]string) map[string]string
	// DeliverTo, if set, sends every postback to this base URL instead of
	// the partner's host, keeping path and query; the original host goes
	// in X-Adgate-Original-Host. It may be a loopback address.
	DeliverTo string
	// UserAgent is sent with every request (default "adgate").
	UserAgent string
	// PausedAt, if set, reports whether (app, partner) was paused at t and
	// since when. A postback whose window or age budget ran out during a
	// pause is dead-lettered before it is sent, and its reason says it
	// waited paused.
	PausedAt func(app, partner string, t time.Time) (since time.Time, paused bool)
	Logger   *slog.Logger
}

// Sender delivers jobs; it implements queue.Handler and queue.Concurrencer.
type Sender struct {
	opt       Options
	deliverTo *url.URL
	strict    *http.Client // refuses private addresses at dial time
	open      *http.Client // PrivateHosts and DeliverTo
	log       *slog.Logger

	mu       sync.Mutex
	partners map[queue.Key]*partnerState
	breakers map[breakerKey]*breaker
}

type partnerState struct {
	sem  *semaphore
	rate bucket
}

type breakerKey struct{ Partner, Host string }

// New returns a Sender.
func New(opt Options) (*Sender, error) {
	if opt.Policy == nil {
		return nil, errors.New("deliver: no policy lookup")
	}
	if opt.Redact == nil {
		opt.Redact = RedactQuery
	}
	if opt.UserAgent == "" {
		opt.UserAgent = "adgate"
	}
	s := &Sender{
		opt:      opt,
		log:      opt.Logger,
		partners: make(map[queue.Key]*partnerState),
		breakers: make(map[breakerKey]*breaker),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opt.DeliverTo != "" {
		u, err := url.Parse(opt.DeliverTo)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("deliver: --deliver-to must be an http(s) URL with a host, got %q", opt.DeliverTo)
		}
		s.deliverTo = u
	}
	s.strict = newClient(true)
	s.open = newClient(false)
	return s, nil
}

// errRefusedAddress marks a dial to a loopback, private or link-local
// address that the policy does not allow.
var errRefusedAddress = errors.New("refused private address")

func newClient(refusePrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if refusePrivate {
		// Checked on the address actually dialled, after DNS: a public name
		// that resolves (or rebinds) to an internal address is refused.
		d.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("%w: %v", errRefusedAddress, err)
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || privateAddr(ip) {
				return fmt.Errorf("%w %s", errRefusedAddress, host)
			}
			return nil
		}
	}
	tr := &http.Transport{
		// No proxy from the environment: a proxy would dial on our behalf
		// and defeat the address check.
		Proxy:             nil,
		DialContext:       d.DialContext,
		ForceAttemptHTTP2: true,
		// Per host as many idle connections as in total: with
		// --deliver-to every partner shares one host, and a lower bound
		// would close and reopen connections once the partners' summed
		// concurrency passed it.
		MaxIdleConns:           512,
		MaxIdleConnsPerHost:    512,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		// A redirect could lead anywhere; postback endpoints answer
		// directly, so a 3xx is an answer (and a permanent failure).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Close releases idle connections.
func (s *Sender) Close() {
	s.strict.CloseIdleConnections()
	s.open.CloseIdleConnections()
}

// Concurrency implements queue.Concurrencer: the queue pulls no more jobs
// for (app, partner) than the policy lets run at once.
func (s *Sender) Concurrency(app, partner string) int {
	if p, ok := s.opt.Policy(app, partner); ok {
		return p.withDefaults().Concurrency
	}
	return 1
}

// BreakerStatus is one breaker's state, for metrics and the status API.
type BreakerStatus struct {
	Partner, Host string
	State         BreakerState
	// Requests and Failures count the attempts of the window that started
	// at WindowStart (the last window with an attempt: it may be over).
	Requests, Failures int
	WindowStart        time.Time
	// OpenedAt is when the breaker last opened (zero if it never did).
	OpenedAt time.Time
}

// Breakers lists the state of every breaker created so far.
func (s *Sender) Breakers() []BreakerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BreakerStatus, 0, len(s.breakers))
	for k, b := range s.breakers {
		st := b.snapshot()
		st.Partner, st.Host = k.Partner, k.Host
		out = append(out, st)
	}
	return out
}

func (s *Sender) state(app, partner, host string) (*partnerState, *breaker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.partners[queue.Key{App: app, Partner: partner}]
	if ps == nil {
		ps = &partnerState{sem: newSemaphore()}
		s.partners[queue.Key{App: app, Partner: partner}] = ps
	}
	bk := breakerKey{Partner: partner, Host: host}
	b := s.breakers[bk]
	if b == nil {
		b = newBreaker(host)
		s.breakers[bk] = b
	}
	return ps, b
}

// Handle implements queue.Handler. Unlike Do it keeps no response
// excerpt: the body is read only as far as the success or failure
// patterns need it, then drained.
func (s *Sender) Handle(ctx context.Context, j queue.Job, attempt int) queue.Outcome {
	return s.attempt(ctx, j, attempt, false).Outcome
}

// Result is the full result of one attempt.
type Result struct {
	Attempt Attempt
	Outcome queue.Outcome
	// Body is the start of the response body (at most 4 KiB), redacted.
	Body string
}

// Do makes one attempt at j and says what to do next. The gateway's test
// endpoint calls it directly to show what a partner answers.
func (s *Sender) Do(ctx context.Context, j queue.Job, attempt int) Result {
	return s.attempt(ctx, j, attempt, true)
}

// attempt makes one attempt; keepBody asks for the response excerpt in
// Result.Body.
func (s *Sender) attempt(ctx context.Context, j queue.Job, attempt int, keepBody bool) Result {
	a := Attempt{
		Time: time.Now().UTC(), PostbackID: j.ID, App: j.App, Partner: j.Partner, Postback: j.Postback,
		EventID: j.EventID, Method: j.Method, URL: s.opt.Redact(j.URL), Attempt: attempt,
		ConfigVersion: j.ConfigVersion, Replay: ReplayOf(&j),
	}
	if a.Method == "" {
		a.Method = http.MethodGet
	}
	if len(j.Headers) > 0 {
		if s.opt.RedactHeaders != nil {
			a.RequestHeaders = s.opt.RedactHeaders(j.Headers)
		} else {
			a.RequestHeaders = make(map[string]string, len(j.Headers))
			for k, v := range j.Headers {
				a.RequestHeaders[k] = s.opt.Redact(v)
			}
		}
	}
	if j.Body != "" {
		a.RequestBody = s.opt.Redact(clipText(j.Body, ExcerptBytes))
	}
	res := s.do(ctx, j, &a, keepBody)
	a.Outcome = res.Outcome.Kind.String()
	a.RetryAfter = res.Outcome.After
	a.DecidedBy = res.Outcome.DecidedBy
	if res.Outcome.Kind == queue.OutcomeRetry || res.Outcome.Kind == queue.OutcomeDead {
		a.ErrorClass = queue.ErrorClass(res.Outcome.Class, a.StatusCode, res.Outcome.Reason)
		res.Outcome.Class = a.ErrorClass
		res.Outcome.StatusCode = a.StatusCode
	}
	if res.Outcome.Kind != queue.OutcomeDelivered && a.Error == "" {
		a.Error = res.Outcome.Reason
	}
	res.Attempt = a
	if s.opt.Observer != nil {
		s.opt.Observer.Observe(a)
	}
	if res.Outcome.Kind != queue.OutcomeDelivered {
		s.log.Debug("deliver: attempt failed", "postback_id", j.ID, "app", j.App, "partner", j.Partner,
			"attempt", attempt, "status", a.StatusCode, "outcome", a.Outcome, "err", a.Error)
	}
	return res
}

func (s *Sender) do(ctx context.Context, j queue.Job, a *Attempt, keepBody bool) Result {
	pol, ok := s.opt.Policy(j.App, j.Partner)
	if !ok {
		return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("partner %q is not enabled for app %q", j.Partner, j.App)), queue.ClassDisabled, RuleDisabled)}
	}
	pol = pol.withDefaults()
	// The window is checked at send time too: a postback that waited past
	// it (long retries, an open breaker, a backlog) is no longer wanted.
	if !j.WindowEnd.IsZero() && !time.Now().Before(j.WindowEnd) {
		return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("outside postback window: it closed at %s%s", j.WindowEnd.UTC().Format(time.RFC3339), s.whilePaused(j, j.WindowEnd))), queue.ClassWindowClosed, RuleWindow)}
	}
	// The age budget is otherwise checked when a retry or a delay is
	// scheduled; a pause holds postbacks without either, so one whose
	// budget ran out during it is caught here.
	if !j.EnqueuedAt.IsZero() {
		if end := j.EnqueuedAt.Add(pol.MaxAge); !time.Now().Before(end) {
			if paused := s.whilePaused(j, end); paused != "" {
				return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("retry budget exhausted: its age budget (max %s) ran out at %s%s", pol.MaxAge, end.UTC().Format(time.RFC3339), paused)), queue.ClassBudgetExhausted, RuleBudget)}
			}
		}
	}

	u, err := url.Parse(j.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse's error quotes the URL, credentials included.
		return Result{Outcome: verdict(queue.Dead("invalid postback URL: want an absolute http(s) URL"), queue.ClassRender, RuleRequest)}
	}
	host := strings.ToLower(u.Hostname())
	a.Host = host
	for k, v := range j.Headers {
		if !validHeader(k, v) {
			// net/http would refuse to send it on every attempt; retrying
			// only feeds the breaker.
			return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("invalid header %q: a name must be a token and a value must not contain control characters", clipName(k))), queue.ClassRender, RuleRequest)}
		}
	}
	if !hostname.Valid(host) {
		// url.Parse lets through hosts such as "branch.io&us" (a
		// placeholder in a partner doc): say so rather than suggest
		// allowing it.
		return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("invalid postback URL: host %q is not a valid host name (fix the partner spec's url)", host)), queue.ClassRefusedHost, RuleHosts)}
	}
	if !hostAllowed(host, pol.AllowedHosts) {
		return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("host %q is not allowed for partner %q (add it to the spec's allowed_hosts)", host, j.Partner)), queue.ClassRefusedHost, RuleHosts)}
	}
	// The original host, before deliverTarget rewrites u.
	origHost := u.Host
	target, client := u, s.strict
	if s.deliverTo != nil {
		target, client = deliverTarget(s.deliverTo, u), s.open
	} else {
		exempt := pol.privateAllowed(host)
		if ip, ok := hostname.ParseIP(host); ok && privateAddr(ip) && !exempt {
			return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("refused: %s is a loopback, private or link-local address", host)), queue.ClassRefusedHost, RuleHosts)}
		}
		// Only exempt hosts use the open client, so a connection it pools
		// (keyed by host) is only ever reused for an exempt host.
		if exempt {
			client = s.open
		}
	}

	ps, br := s.state(j.App, j.Partner, strings.ToLower(target.Host))
	if err := ps.sem.acquire(ctx, pol.Concurrency); err != nil {
		return Result{Outcome: queue.Delay(0, "stopped while waiting for a delivery slot")}
	}
	defer ps.sem.release()

	probe, out := s.waitBreaker(ctx, j, br, pol)
	if out != nil {
		return Result{Outcome: *out}
	}
	if err := ps.rate.wait(ctx, pol.RatePerSecond, pol.Burst); err != nil {
		br.release(probe)
		return Result{Outcome: queue.Delay(0, "stopped while waiting for the rate limit")}
	}

	rctx, cancel := context.WithTimeout(ctx, pol.Timeout)
	defer cancel()
	req, err := newRequest(rctx, a.Method, target, j.Body)
	if err != nil {
		br.release(probe)
		return Result{Outcome: verdict(queue.Dead("invalid request: method rejected"), queue.ClassRender, RuleRequest)}
	}
	req.Host = strings.TrimSuffix(target.Host, ":")
	s.setHeaders(req.Header, j, origHost)

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		if errors.Is(err, errRefusedAddress) {
			br.release(probe)
			return Result{Outcome: verdict(queue.Dead(fmt.Sprintf("refused: %s resolves to a loopback, private or link-local address", host)), queue.ClassRefusedHost, RuleHosts)}
		}
		a.Error = s.opt.Redact(describeError(err, ctx, rctx))
		if ctx.Err() != nil {
			// We stopped, the host did not fail: not a breaker failure.
			br.release(probe)
			return Result{Outcome: queue.Retry(0, a.Error)}
		}
		s.record(br, pol, j, probe, true)
		class := queue.ClassNetwork
		if strings.HasPrefix(a.Error, "timeout") {
			class = queue.ClassTimeout
		}
		rule := orDefault(pol.Rules.RetryNetwork, RuleDefaultRetry)
		if pol.NoNetworkRetry {
			return Result{Outcome: verdict(queue.Dead(a.Error+": network errors are not retried"), class, rule)}
		}
		return Result{Outcome: s.retry(j, a.Attempt, pol, 0, a.Error, class, rule)}
	}
	var (
		excerpt []byte
		readErr error
	)
	if keepBody || pol.SuccessBody != nil || pol.FailureBody != nil {
		excerpt, readErr = readBody(resp.Body, pol.MaxResponseBody)
	} else {
		excerpt, readErr = readExcerpt(resp, pol.MaxResponseBody)
	}
	a.Latency = time.Since(start)
	a.StatusCode = resp.StatusCode
	if len(excerpt) > 0 {
		a.ResponseBody = s.opt.Redact(clipText(string(excerpt[:min(len(excerpt), ExcerptBytes)]), ExcerptBytes))
	}
	for _, k := range responseHeaders {
		if v := firstValue(resp.Header, k); v != "" {
			if a.ResponseHeaders == nil {
				a.ResponseHeaders = make(map[string]string, 2)
			}
			a.ResponseHeaders[k] = s.opt.Redact(clipText(v, 256))
		}
	}
	var res Result
	if keepBody {
		res.Body = s.opt.Redact(string(excerpt[:min(len(excerpt), 4<<10)]))
	}

	code := resp.StatusCode
	retried, retryRule := pol.retryStatus(code)
	switch {
	case pol.successStatus(code):
		s.record(br, pol, j, probe, false)
		successRule := orDefault(pol.Rules.SuccessStatus, RuleDefaultSuccess)
		switch {
		case readErr != nil && (pol.SuccessBody != nil || pol.FailureBody != nil):
			a.Error = s.opt.Redact("reading response: " + readErr.Error())
			res.Outcome = s.retry(j, a.Attempt, pol, 0, a.Error, queue.ClassNetwork, orDefault(pol.Rules.RetryNetwork, RuleDefaultRetry))
		case pol.SuccessBody != nil && !pol.SuccessBody.Match(excerpt):
			a.Error = fmt.Sprintf("HTTP %d but the response does not match the success pattern", code)
			res.Outcome = s.retry(j, a.Attempt, pol, 0, a.Error, queue.ClassBody, orDefault(pol.Rules.SuccessBody, "delivery.success_body"))
		case pol.FailureBody != nil && pol.FailureBody.Match(excerpt):
			a.Error = fmt.Sprintf("HTTP %d but the response matches the failure pattern", code)
			res.Outcome = s.retry(j, a.Attempt, pol, 0, a.Error, queue.ClassBody, orDefault(pol.Rules.FailureBody, "delivery.failure_body"))
		default:
			res.Outcome = queue.Delivered()
			res.Outcome.DecidedBy = successRule
			if pol.SuccessBody != nil {
				res.Outcome.DecidedBy += ", " + orDefault(pol.Rules.SuccessBody, "delivery.success_body")
			}
		}
	case retried:
		// Counted by the breaker as the host failing; a refusal is not.
		s.record(br, pol, j, probe, code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500)
		a.Error = fmt.Sprintf("HTTP %d", code)
		ra := retryAfter(resp.Header.Get("Retry-After"), time.Now(), pol.RetryAfterMax)
		res.Outcome = s.retry(j, a.Attempt, pol, ra, a.Error, queue.StatusClass(code), retryRule)
	default:
		// The partner answered and the policy says retrying will not
		// change it.
		s.record(br, pol, j, probe, code >= 500)
		a.Error = fmt.Sprintf("HTTP %d", code)
		res.Outcome = verdict(queue.Dead(fmt.Sprintf("HTTP %d: not retried", code)), queue.StatusClass(code), retryRule)
	}
	return res
}

// newRequest is http.NewRequestWithContext for a URL already parsed.
// That function parses its URL argument, and even an empty one costs a
// URL allocated only to be replaced; a request without a body, which is
// most postbacks, is built here as it would build it. One with a body
// goes through it, for the ContentLength and GetBody it sets up.
func newRequest(ctx context.Context, method string, u *url.URL, body string) (*http.Request, error) {
	if body != "" {
		req, err := http.NewRequestWithContext(ctx, method, "", strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.URL = u
		return req, nil
	}
	if method == "" {
		method = http.MethodGet
	}
	// NewRequestWithContext's own check: a method is a token.
	if !validToken(method) {
		return nil, fmt.Errorf("net/http: invalid method %q", method)
	}
	r := http.Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: make(http.Header)}
	return r.WithContext(ctx), nil
}

// verdict is o with the error class and the rule that decided it.
func verdict(o queue.Outcome, class, rule string) queue.Outcome {
	o.Class = class
	o.DecidedBy = rule
	return o
}

// whilePaused is " while the partner was paused (since S)" when j's pair
// was paused at t, else "".
func (s *Sender) whilePaused(j queue.Job, t time.Time) string {
	if s.opt.PausedAt == nil {
		return ""
	}
	since, ok := s.opt.PausedAt(j.App, j.Partner, t)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" while the partner was paused (since %s)", since.UTC().Format(time.RFC3339))
}

// setHeaders sets the request's headers: the spec's, then the ones the
// sender owns. The values share one allocation (Header.Set makes one per
// value); every value slice has capacity one, so a later Add copies it
// rather than writing into its neighbour.
func (s *Sender) setHeaders(h http.Header, j queue.Job, origHost string) {
	n := len(j.Headers) + 2
	if s.deliverTo != nil {
		n++
	}
	vals := make([]string, 0, n)
	// k is canonical: the sender's own keys are written so
	// (TestCanonicalHeaderKeys), the spec's are canonicalised below.
	set := func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	for k, v := range j.Headers {
		set(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	set("Idempotency-Key", j.ID)
	set("User-Agent", s.opt.UserAgent)
	if s.deliverTo != nil {
		set("X-Adgate-Original-Host", origHost)
	}
}

// firstValue is h.Get(k) for a k already in canonical form.
func firstValue(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// record feeds an attempt's result to the breaker and logs the breaker
// opening or closing, which an operator wants to see once, not per
// attempt.
func (s *Sender) record(br *breaker, pol Policy, j queue.Job, probe, failed bool) {
	to, changed := br.record(pol.Breaker, probe, failed, time.Now())
	if !changed {
		return
	}
	if to == BreakerOpen {
		s.log.Warn("deliver: circuit breaker opened", "partner", j.Partner, "host", br.host, "open_for", pol.Breaker.OpenFor.String())
		return
	}
	s.log.Info("deliver: circuit breaker "+to.String(), "partner", j.Partner, "host", br.host)
}

// waitBreaker waits while the host's breaker is open, through one open
// period and its probe (OpenFor + Timeout), so the jobs of a dead host
// wait in their own slots rather than churn through the queue. A job
// still refused after that is delayed: nothing was sent, so it is not an
// attempt, but it ages, and one too old to wait again is dead-lettered.
func (s *Sender) waitBreaker(ctx context.Context, j queue.Job, br *breaker, pol Policy) (probe bool, out *queue.Outcome) {
	deadline := time.Now().Add(pol.Breaker.OpenFor + pol.Timeout)
	for {
		ok, probe, until, change := br.acquire(pol.Breaker, time.Now())
		if ok {
			return probe, nil
		}
		now := time.Now()
		if !now.Before(deadline) {
			o := verdict(delay(j, pol, jitter(max(until.Sub(now), time.Second)), "circuit breaker open"), queue.ClassBudgetExhausted, RuleBreaker)
			return false, &o
		}
		wake := min(until.Sub(now), deadline.Sub(now))
		t := time.NewTimer(wake)
		select {
		case <-ctx.Done():
			t.Stop()
			o := queue.Delay(0, "stopped while the circuit breaker was open")
			return false, &o
		case <-change:
		case <-t.C:
		}
		t.Stop()
	}
}

// retry schedules another attempt, or dead-letters the job once the
// budget (attempts, age) is spent. ra is the partner's Retry-After.
// class and rule are the failure's class and the rule that retries it.
func (s *Sender) retry(j queue.Job, attempt int, pol Policy, ra time.Duration, reason, class, rule string) queue.Outcome {
	exhausted := func(o queue.Outcome) queue.Outcome {
		return verdict(o, class, RuleBudget+" after "+rule)
	}
	if attempt >= pol.MaxAttempts {
		return exhausted(queue.Dead(fmt.Sprintf("retry budget exhausted after %d attempts: %s", attempt, reason)))
	}
	after := ra
	if after <= 0 {
		after = backoff(attempt, pol.BackoffBase, pol.BackoffMax)
	}
	if !j.EnqueuedAt.IsZero() {
		if age := time.Since(j.EnqueuedAt) + after; age > pol.MaxAge {
			return exhausted(queue.Dead(fmt.Sprintf("retry budget exhausted: next attempt would be %s after enqueue (max %s): %s",
				age.Round(time.Second), pol.MaxAge, reason)))
		}
	}
	return verdict(queue.Retry(after, reason), class, rule)
}

// delay puts the job off for after without spending an attempt, or
// dead-letters it when it would then be older than MaxAge, as retry does
// (a closed window is caught when it comes back).
func delay(j queue.Job, pol Policy, after time.Duration, reason string) queue.Outcome {
	if !j.EnqueuedAt.IsZero() {
		if age := time.Since(j.EnqueuedAt) + after; age > pol.MaxAge {
			return queue.Dead(fmt.Sprintf("retry budget exhausted: it would wait until %s after enqueue (max %s): %s",
				age.Round(time.Second), pol.MaxAge, reason))
		}
	}
	return queue.Delay(after, reason)
}

// backoff is exponential with full jitter: uniform in [0, min(max,
// base*2^(attempt-1))], which spreads the retries of many postbacks that
// failed together.
func backoff(attempt int, base, maxD time.Duration) time.Duration {
	ceiling := base
	for i := 1; i < attempt && ceiling < maxD; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, maxD)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/4+1)
}

// retryAfter parses a Retry-After header (delay-seconds or HTTP-date),
// capped at maxD; 0 when absent or invalid.
func retryAfter(v string, now time.Time, maxD time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxD/time.Second) {
			return maxD
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxD)
}

// readBody reads at most limit bytes, then drains a little more so the
// connection can be reused, and closes.
func readBody(rc io.ReadCloser, limit int64) ([]byte, error) {
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	return b, err
}

// readExcerpt keeps the first ExcerptBytes of the body and drops what
// readBody would have read after them, so the connection is reused the
// same way, and closes. A response that says it has no body (most
// postback answers: 204, or 200 with Content-Length 0) is closed at once.
func readExcerpt(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength == 0 || resp.Body == http.NoBody {
		return nil, nil
	}
	n := int64(ExcerptBytes)
	if cl := resp.ContentLength; cl > 0 && cl < n {
		n = cl
	}
	b := make([]byte, n)
	got, err := io.ReadFull(resp.Body, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return b[:got], nil
	}
	if err != nil {
		return b[:got], err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, limit+64<<10-int64(got)))
	return b[:got], err
}

// clipText cuts s to at most n bytes on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// describeError says why a request failed without the URL (url.Error
// quotes it, credentials included).
// validHeader reports whether net/http will send a header: the name an
// RFC 9110 token, the value free of control characters but tab. Rendering
// already skips a postback whose header value has a line break in it; this
// guards jobs queued by anything else.
func validHeader(name, value string) bool {
	if !validToken(name) {
		return false
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 9110 token: a header name, a
// method.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// clipName keeps an invalid header name short in a dead letter's reason.
func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func describeError(err error, ctx, rctx context.Context) string {
	switch {
	case ctx.Err() != nil:
		return "stopped: " + ctx.Err().Error()
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return "timeout"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

// RedactQuery is the default Redactor: in a URL it replaces every query
// value with REDACTED and drops userinfo and fragment; any other text is
// returned as is. A URL that does not parse loses everything after its
// host. The gateway supplies a finer one that removes exactly the
// credential values.
func RedactQuery(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || strings.ContainsAny(scheme, " /?#") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		host := rest
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		if i := strings.LastIndex(host, "@"); i >= 0 {
			host = host[i+1:]
		}
		return scheme + "://" + host + "/REDACTED"
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			for i := range q[k] {
				q[k][i] = "REDACTED"
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	return u.String()
}
