package deliver

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/internal/sink"
)

// testPolicy allows the loopback test servers and retries fast.
func testPolicy() Policy {
	return Policy{
		Timeout:      5 * time.Second,
		AllowedHosts: []string{"127.0.0.1"},
		PrivateHosts: []string{"127.0.0.1"},
		BackoffBase:  10 * time.Millisecond,
		BackoffMax:   50 * time.Millisecond,
	}
}

type attempts struct {
	mu  sync.Mutex
	all []Attempt
}

func (a *attempts) Observe(at Attempt) {
	a.mu.Lock()
	a.all = append(a.all, at)
	a.mu.Unlock()
}

func (a *attempts) list() []Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Attempt(nil), a.all...)
}

func newSender(t *testing.T, pol Policy, mod func(*Options)) (*Sender, *attempts) {
	t.Helper()
	obs := &attempts{}
	opt := Options{
		Policy: func(app, partner string) (Policy, bool) {
			return pol, partner != "unknown"
		},
		Observer: obs,
	}
	if mod != nil {
		mod(&opt)
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, obs
}

func startSink(t *testing.T, opt sink.Options) (*sink.Sink, string) {
	t.Helper()
	s := sink.New(opt)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func testJob(rawURL string) queue.Job {
	return queue.Job{
		ID: "pb-123", App: "demo", Partner: "partner", Postback: "INSTALL", EventID: "ev-1",
		Method: "GET", URL: rawURL, ConfigVersion: "cfg-7", EnqueuedAt: time.Now(),
	}
}

func TestClassification(t *testing.T) {
	spec5xx := func(p *Policy) {
		p.RetryStatus = &StatusSet{Classes: []int{5}}
		p.Rules.RetryStatus = "spec p delivery.retry_status"
	}
	for _, tc := range []struct {
		name   string
		status int
		mod    func(*Policy)
		want   queue.OutcomeKind
		class  string
		rule   string
	}{
		{"200", 200, nil, queue.OutcomeDelivered, "", RuleDefaultSuccess},
		{"204", 204, nil, queue.OutcomeDelivered, "", RuleDefaultSuccess},
		{"204 not in success list", 204, func(p *Policy) { p.SuccessStatus = []int{200} }, queue.OutcomeDead, queue.Class4xx, RuleDefaultRetry},
		{"202 in success list", 202, func(p *Policy) { p.SuccessStatus = []int{200, 202}; p.Rules.SuccessStatus = "x" }, queue.OutcomeDelivered, "", "x"},
		{"400", 400, nil, queue.OutcomeDead, queue.Class4xx, RuleDefaultRetry},
		{"401", 401, nil, queue.OutcomeDead, queue.Class4xx, RuleDefaultRetry},
		{"404", 404, nil, queue.OutcomeDead, queue.Class4xx, RuleDefaultRetry},
		{"302 not followed", 302, nil, queue.OutcomeDead, queue.Class4xx, RuleDefaultRetry},
		{"408", 408, nil, queue.OutcomeRetry, queue.Class4xx, RuleDefaultRetry},
		{"429", 429, nil, queue.OutcomeRetry, queue.Class4xx, RuleDefaultRetry},
		{"500", 500, nil, queue.OutcomeRetry, queue.Class5xx, RuleDefaultRetry},
		{"503", 503, nil, queue.OutcomeRetry, queue.Class5xx, RuleDefaultRetry},
		// A partner that retries 5xx only: a 429 is dead at once.
		{"429 with retry_status 5xx", 429, spec5xx, queue.OutcomeDead, queue.Class4xx, "spec p delivery.retry_status"},
		{"503 with retry_status 5xx", 503, spec5xx, queue.OutcomeRetry, queue.Class5xx, "spec p delivery.retry_status"},
		{"404 with retry_status 404", 404, func(p *Policy) { p.RetryStatus = &StatusSet{Codes: []int{404}} }, queue.OutcomeRetry, queue.Class4xx, ""},
		{"200 with success body", 200, func(p *Policy) { p.SuccessBody = regexp.MustCompile(`"ok":true`) }, queue.OutcomeDelivered, "", RuleDefaultSuccess + ", delivery.success_body"},
		{"200 without success body", 200, func(p *Policy) { p.SuccessBody = regexp.MustCompile(`"status":"success"`) }, queue.OutcomeRetry, queue.ClassBody, "delivery.success_body"},
		{"200 with failure body", 200, func(p *Policy) {
			p.FailureBody = regexp.MustCompile(`"ok":true`)
			p.Rules.FailureBody = "config apps[a].partners[p].delivery.failure_body"
		}, queue.OutcomeRetry, queue.ClassBody, "config apps[a].partners[p].delivery.failure_body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sk, base := startSink(t, sink.Options{Status: tc.status})
			pol := testPolicy()
			if tc.mod != nil {
				tc.mod(&pol)
			}
			s, obs := newSender(t, pol, nil)
			res := s.Do(context.Background(), testJob(base+"/pb?a=1"), 1)
			if res.Outcome.Kind != tc.want {
				t.Fatalf("outcome %v (%s), want %v", res.Outcome.Kind, res.Outcome.Reason, tc.want)
			}
			if res.Outcome.Class != tc.class || res.Outcome.DecidedBy != tc.rule {
				t.Errorf("class %q decided by %q, want %q by %q", res.Outcome.Class, res.Outcome.DecidedBy, tc.class, tc.rule)
			}
			if sk.Count() != 1 {
				t.Fatalf("sink got %d requests, want 1", sk.Count())
			}
			at := obs.list()
			if len(at) != 1 || at[0].StatusCode != tc.status || at[0].Outcome != tc.want.String() ||
				at[0].ErrorClass != tc.class || at[0].DecidedBy != tc.rule {
				t.Fatalf("attempts %+v", at)
			}
		})
	}
}

func TestRequestCarriesIdempotencyKeyOnEveryAttempt(t *testing.T) {
	sk, base := startSink(t, sink.Options{FailFirst: 1})
	s, obs := newSender(t, testPolicy(), nil)
	j := testJob(base + "/v1/pb?event=install&id=42")
	j.Method = "POST"
	j.Headers = map[string]string{"Content-Type": "application/json", "X-Partner": "yes"}
	j.Body = `{"event":"install"}`
	if out := s.Handle(context.Background(), j, 1); out.Kind != queue.OutcomeRetry {
		t.Fatalf("first attempt: %+v", out)
	}
	if out := s.Handle(context.Background(), j, 2); out.Kind != queue.OutcomeDelivered {
		t.Fatalf("second attempt: %+v", out)
	}
	recs := sk.Requests()
	if len(recs) != 2 {
		t.Fatalf("%d requests", len(recs))
	}
	for _, r := range recs {
		if r.Headers["Idempotency-Key"] != "pb-123" || r.Method != "POST" || r.URL != "/v1/pb?event=install&id=42" ||
			r.Body != `{"event":"install"}` || r.Headers["Content-Type"] != "application/json" || r.Headers["X-Partner"] != "yes" {
			t.Errorf("request %+v", r)
		}
	}
	at := obs.list()
	if len(at) != 2 || at[0].Attempt != 1 || at[1].Attempt != 2 || at[1].ConfigVersion != "cfg-7" ||
		at[0].PostbackID != "pb-123" || at[0].StatusCode != 503 || at[0].Error != "HTTP 503" || at[1].Error != "" {
		t.Errorf("attempts %+v", at)
	}
}

func TestRetryAfterHonoredAndCapped(t *testing.T) {
	for _, tc := range []struct {
		header string
		max    time.Duration
		want   time.Duration
	}{
		{"7", time.Hour, 7 * time.Second},
		{"100000", time.Minute, time.Minute},
		{time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), time.Hour, 90 * time.Second},
	} {
		t.Run(tc.header, func(t *testing.T) {
			_, base := startSink(t, sink.Options{FailFirst: 1, FailStatus: 429, RetryAfter: tc.header})
			pol := testPolicy()
			pol.RetryAfterMax = tc.max
			s, _ := newSender(t, pol, nil)
			out := s.Handle(context.Background(), testJob(base+"/pb"), 1)
			if out.Kind != queue.OutcomeRetry {
				t.Fatalf("outcome %+v", out)
			}
			// An HTTP date is whole seconds; allow for the time between
			// formatting it and parsing it.
			if out.After > tc.want || out.After < tc.want-2*time.Second {
				t.Fatalf("retry after %v, want %v", out.After, tc.want)
			}
		})
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"soon", 0}, {"12", 12 * time.Second},
		{"99999999999999999", time.Hour},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute},
	} {
		if got := retryAfter(tc.in, now, time.Hour); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBackoffFullJitter(t *testing.T) {
	base, maxD := 100*time.Millisecond, 2*time.Second
	for attempt := 1; attempt <= 8; attempt++ {
		ceiling := min(base<<(attempt-1), maxD)
		distinct := map[time.Duration]bool{}
		for range 200 {
			d := backoff(attempt, base, maxD)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, ceiling)
			}
			distinct[d] = true
		}
		if len(distinct) < 50 {
			t.Errorf("attempt %d: only %d distinct delays in 200: no jitter", attempt, len(distinct))
		}
	}
}

func TestRetryBudget(t *testing.T) {
	_, base := startSink(t, sink.Options{Status: 503})
	pol := testPolicy()
	pol.MaxAttempts = 3
	pol.MaxAge = time.Hour
	s, _ := newSender(t, pol, nil)
	j := testJob(base + "/pb")
	if out := s.Handle(context.Background(), j, 2); out.Kind != queue.OutcomeRetry {
		t.Fatalf("attempt 2: %+v", out)
	}
	out := s.Handle(context.Background(), j, 3)
	if out.Kind != queue.OutcomeDead || out.Reason != "retry budget exhausted after 3 attempts: HTTP 503" {
		t.Fatalf("attempt 3: %+v", out)
	}
	j.EnqueuedAt = time.Now().Add(-2 * time.Hour)
	out = s.Handle(context.Background(), j, 1)
	if out.Kind != queue.OutcomeDead || !strings.HasPrefix(out.Reason, "retry budget exhausted: next attempt would be") {
		t.Fatalf("old job: %+v", out)
	}
}

func TestNetworkErrorsAndTimeoutsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	_, slow := startSink(t, sink.Options{Latency: 10 * time.Second})
	pol := testPolicy()
	pol.Timeout = 200 * time.Millisecond
	s, _ := newSender(t, pol, nil)

	out := s.Handle(context.Background(), testJob("http://"+closedAddr+"/pb?key=SECRET"), 1)
	if out.Kind != queue.OutcomeRetry || !strings.Contains(out.Reason, "connection refused") || out.Class != queue.ClassNetwork || out.DecidedBy != RuleDefaultRetry {
		t.Fatalf("connection refused: %+v", out)
	}
	out = s.Handle(context.Background(), testJob(slow+"/pb"), 1)
	if out.Kind != queue.OutcomeRetry || out.Reason != "timeout" || out.Class != queue.ClassTimeout {
		t.Fatalf("timeout: %+v", out)
	}
	// A partner whose doc says not to: dead at once, with the rule.
	pol.NoNetworkRetry = true
	pol.Rules.RetryNetwork = "spec p delivery.retry_network_errors"
	s, _ = newSender(t, pol, nil)
	out = s.Handle(context.Background(), testJob("http://"+closedAddr+"/pb"), 1)
	if out.Kind != queue.OutcomeDead || out.Class != queue.ClassNetwork || out.DecidedBy != pol.Rules.RetryNetwork {
		t.Fatalf("connection refused, not retried: %+v", out)
	}
}

func TestRedaction(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	_, base := startSink(t, sink.Options{Status: 404})
	secret := "s3cr3t+/="
	for _, tc := range []struct {
		name   string
		redact Redactor
	}{
		{"default", nil},
		{"gateway's", func(s string) string { return strings.ReplaceAll(s, url.QueryEscape(secret), "[account_token]") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, obs := newSender(t, testPolicy(), func(o *Options) { o.Redact = tc.redact })
			for _, u := range []string{
				"http://" + closedAddr + "/pb?token=" + url.QueryEscape(secret),
				base + "/pb?token=" + url.QueryEscape(secret),
				"http://user:" + url.QueryEscape(secret) + "@" + closedAddr + "/pb",
				"ftp://" + closedAddr + "/pb?token=" + url.QueryEscape(secret),
				"http://" + closedAddr + "/%zz?token=" + url.QueryEscape(secret),
			} {
				res := s.Do(context.Background(), testJob(u), 1)
				at := res.Attempt
				for _, text := range []string{at.URL, at.Error, res.Outcome.Reason, res.Body} {
					if strings.Contains(text, url.QueryEscape(secret)) || strings.Contains(text, secret) {
						t.Errorf("secret leaked: %q", text)
					}
				}
			}
			if len(obs.list()) != 5 {
				t.Fatalf("%d attempts observed", len(obs.list()))
			}
		})
	}
}

func TestHostAllowList(t *testing.T) {
	sk, base := startSink(t, sink.Options{})
	port := strings.TrimPrefix(base, "http://127.0.0.1:")
	pol := testPolicy()
	s, _ := newSender(t, pol, nil)
	out := s.Handle(context.Background(), testJob("http://localhost:"+port+"/pb"), 1)
	if out.Kind != queue.OutcomeDead || !strings.Contains(out.Reason, `host "localhost" is not allowed for partner "partner"`) {
		t.Fatalf("outcome %+v", out)
	}
	out = s.Handle(context.Background(), testJob(base+"/pb"), 1)
	if out.Kind != queue.OutcomeDelivered {
		t.Fatalf("allowed host: %+v", out)
	}
	if sk.Count() != 1 {
		t.Fatalf("sink got %d requests, want only the allowed one", sk.Count())
	}
	out = s.Handle(context.Background(), queue.Job{ID: "x", App: "a", Partner: "unknown", URL: base}, 1)
	if out.Kind != queue.OutcomeDead || !strings.Contains(out.Reason, "not enabled") {
		t.Fatalf("unknown partner: %+v", out)
	}
}

func TestHostPatterns(t *testing.T) {
	pats := []string{"api.partner.com", "*.criteo.com"}
	for host, want := range map[string]bool{
		"api.partner.com":         true,
		"API.Partner.com.":        true,
		"evil.api.partner.com":    false,
		"partner.com":             false,
		"widget.us.criteo.com":    true,
		"criteo.com":              false,
		"evilcriteo.com":          false,
		"api.partner.com.evil.io": false,
	} {
		if got := hostAllowed(host, pats); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestPrivateAddressesRefused(t *testing.T) {
	sk, base := startSink(t, sink.Options{})
	port := strings.TrimPrefix(base, "http://127.0.0.1:")
	pol := testPolicy()
	pol.PrivateHosts = nil
	pol.AllowedHosts = []string{"127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3"}
	s, _ := newSender(t, pol, nil)
	for _, u := range []string{
		base + "/pb",                              // literal loopback
		"http://localhost:" + port + "/pb",        // a name resolving to loopback: refused at dial time
		"http://169.254.169.254/latest/meta-data", // cloud metadata
		"http://10.1.2.3/pb",
	} {
		out := s.Handle(context.Background(), testJob(u), 1)
		if out.Kind != queue.OutcomeDead || !strings.HasPrefix(out.Reason, "refused: ") {
			t.Errorf("%s: %+v", u, out)
		}
	}
	if sk.Count() != 0 {
		t.Fatalf("sink got %d requests", sk.Count())
	}
}

// TestPrivateAddr covers every way of writing an internal address,
// including the IPv6 forms that embed an IPv4 address (see
// refusedPrefixes for the decision on each).
func TestPrivateAddr(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"::1", true}, {"10.0.0.1", true}, {"172.16.5.4", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"fc00::1", true}, {"100.64.0.1", true},
		{"0.0.0.0", true}, {"::", true}, {"224.0.0.1", true}, {"ff02::1", true}, {"240.0.0.1", true},
		{"8.8.8.8", false}, {"2606:4700::1111", false}, {"93.184.216.34", false},
		// IPv4-mapped: judged by the IPv4 address.
		{"::ffff:127.0.0.1", true}, {"::ffff:169.254.169.254", true}, {"::ffff:8.8.8.8", false},
		// NAT64 well-known prefix: judged by the IPv4 address, so DNS64
		// networks still reach public partners.
		{"64:ff9b::a9fe:a9fe", true}, {"64:ff9b::169.254.169.254", true}, {"64:ff9b::7f00:1", true},
		{"64:ff9b::10.0.0.1", true}, {"64:ff9b::192.168.0.1", true}, {"64:ff9b::8.8.8.8", false},
		// Local-use NAT64: the embedding is the operator's choice; refused.
		{"64:ff9b:1::a9fe:a9fe", true}, {"64:ff9b:1::808:808", true},
		// IPv4-compatible (deprecated): refused.
		{"::127.0.0.1", true}, {"::169.254.169.254", true}, {"::8.8.8.8", true},
		// 6to4: judged by the IPv4 address in bits 16-47.
		{"2002:a9fe:a9fe::1", true}, {"2002:7f00:1::", true}, {"2002:c0a8:101::1", true}, {"2002:808:808::1", false},
		// Teredo: refused whatever it embeds.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true}, {"2001::a9fe:a9fe", true},
		// Site-local (deprecated) and discard-only.
		{"fec0::1", true}, {"100::1", true},
	} {
		addr, err := netip.ParseAddr(tc.ip)
		if err != nil {
			t.Fatal(err)
		}
		if got := privateAddr(addr); got != tc.want {
			t.Errorf("privateAddr(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if !privateAddr(netip.Addr{}) {
		t.Error("the zero address must count as private")
	}
}

// TestPrivateHostsExact: listing one private address lifts the refusal for
// that address (however it is written) and nothing else; a private
// allow-list entry used to lift it for every address and name.
func TestPrivateHostsExact(t *testing.T) {
	sk, base := startSink(t, sink.Options{})
	port := strings.TrimPrefix(base, "http://127.0.0.1:")
	pol := testPolicy()
	pol.AllowedHosts = []string{"127.0.0.1", "127.0.0.2", "10.1.2.3", "169.254.169.254", "localhost", "64:ff9b::a9fe:a9fe", "::ffff:127.0.0.1"}
	pol.PrivateHosts = []string{"127.0.0.1"}
	s, _ := newSender(t, pol, nil)
	for _, tc := range []struct {
		url       string
		delivered bool
	}{
		{base + "/pb", true},
		{"http://[::ffff:127.0.0.1]:" + port + "/pb", true},
		{"http://127.0.0.2:" + port + "/pb", false},
		{"http://10.1.2.3/pb", false},
		{"http://169.254.169.254/latest/meta-data", false},
		{"http://[64:ff9b::a9fe:a9fe]/latest/meta-data", false},
		// A name resolving to the listed address is a different host.
		{"http://localhost:" + port + "/pb", false},
	} {
		out := s.Handle(context.Background(), testJob(tc.url), 1)
		if tc.delivered {
			if out.Kind != queue.OutcomeDelivered {
				t.Errorf("%s: %+v, want delivered", tc.url, out)
			}
			continue
		}
		if out.Kind != queue.OutcomeDead || !strings.HasPrefix(out.Reason, "refused") {
			t.Errorf("%s: %+v, want refused", tc.url, out)
		}
	}
	if sk.Count() != 2 {
		t.Errorf("sink got %d requests, want the 2 to the listed address", sk.Count())
	}
}

func TestDeliverTo(t *testing.T) {
	sk, base := startSink(t, sink.Options{})
	pol := testPolicy()
	pol.PrivateHosts = nil
	pol.AllowedHosts = []string{"api.partner.example"}
	s, _ := newSender(t, pol, func(o *Options) { o.DeliverTo = base + "/capture/" })
	out := s.Handle(context.Background(), testJob("https://api.partner.example/v1/pb?x=1&y=%2B"), 1)
	if out.Kind != queue.OutcomeDelivered {
		t.Fatalf("outcome %+v", out)
	}
	// Still bound by the partner's allow-list.
	out = s.Handle(context.Background(), testJob("https://elsewhere.example/v1/pb"), 1)
	if out.Kind != queue.OutcomeDead {
		t.Fatalf("disallowed host with deliver-to: %+v", out)
	}
	recs := sk.Requests()
	if len(recs) != 1 || recs[0].URL != "/capture/v1/pb?x=1&y=%2B" || recs[0].Headers["X-Adgate-Original-Host"] != "api.partner.example" {
		t.Fatalf("requests %+v", recs)
	}
	if _, err := New(Options{Policy: func(string, string) (Policy, bool) { return Policy{}, true }, DeliverTo: "127.0.0.1:9"}); err == nil {
		t.Fatal("New accepted a deliver-to without scheme")
	}
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	sk, base := startSink(t, sink.Options{FailFirst: 4})
	pol := testPolicy()
	pol.Breaker = BreakerPolicy{MinRequests: 4, FailureRatio: 0.5, Window: time.Minute, OpenFor: 300 * time.Millisecond}
	s, obs := newSender(t, pol, nil)
	j := testJob(base + "/pb")
	for i := 1; i <= 4; i++ {
		if out := s.Handle(context.Background(), j, i); out.Kind != queue.OutcomeRetry {
			t.Fatalf("attempt %d: %+v", i, out)
		}
	}
	if st := s.Breakers(); len(st) != 1 || st[0].State != BreakerOpen || st[0].Partner != "partner" {
		t.Fatalf("breakers %+v", st)
	}
	// Open: an attempt waits instead of reaching the host, and being sent
	// nothing, is a delay rather than an attempt.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	out := s.Handle(ctx, j, 5)
	cancel()
	if out.Kind != queue.OutcomeDelay || sk.Count() != 4 {
		t.Fatalf("while open: %+v, sink count %d", out, sk.Count())
	}
	// After OpenFor one probe goes through; it succeeds and the others,
	// waiting meanwhile, follow.
	var wg sync.WaitGroup
	outs := make([]queue.Outcome, 5)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = s.Handle(context.Background(), j, 1)
		}()
	}
	wg.Wait()
	for i, o := range outs {
		if o.Kind != queue.OutcomeDelivered {
			t.Errorf("after recovery %d: %+v", i, o)
		}
	}
	if st := s.Breakers(); st[0].State != BreakerClosed {
		t.Fatalf("breaker %v after a good probe", st[0].State)
	}
	if sk.Count() != 9 {
		t.Fatalf("sink count %d, want 9", sk.Count())
	}
	// The first request after opening was the lone probe.
	var afterOpen []Attempt
	for _, a := range obs.list() {
		if a.StatusCode == 200 {
			afterOpen = append(afterOpen, a)
		}
	}
	if len(afterOpen) != 5 {
		t.Fatalf("%d delivered attempts", len(afterOpen))
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	sk, base := startSink(t, sink.Options{Status: 500})
	pol := testPolicy()
	pol.MaxAttempts = 100
	pol.Breaker = BreakerPolicy{MinRequests: 2, FailureRatio: 1, Window: time.Minute, OpenFor: 100 * time.Millisecond}
	s, _ := newSender(t, pol, nil)
	j := testJob(base + "/pb")
	s.Handle(context.Background(), j, 1)
	s.Handle(context.Background(), j, 2)
	if st := s.Breakers(); st[0].State != BreakerOpen {
		t.Fatalf("breaker %v", st[0].State)
	}
	// Each call waits for the half-open probe; the probe fails and reopens.
	for i := range 3 {
		if out := s.Handle(context.Background(), j, 3+i); out.Kind != queue.OutcomeRetry {
			t.Fatalf("probe %d: %+v", i, out)
		}
		if st := s.Breakers(); st[0].State != BreakerOpen {
			t.Fatalf("breaker %v after a failed probe", st[0].State)
		}
		if sk.Count() != 3+i {
			t.Fatalf("sink count %d after probe %d", sk.Count(), i)
		}
	}
}

// A half-open breaker lets probes through one at a time, spaced over
// OpenFor; the first success closes it, and it opens again only when
// HalfOpenProbes probes in a row failed.
func TestBreakerHalfOpenProbes(t *testing.T) {
	const openFor = 30 * time.Second
	p := BreakerPolicy{MinRequests: 1, FailureRatio: 1, Window: time.Minute, OpenFor: openFor, HalfOpenProbes: 3}
	tests := []struct {
		name   string
		probes string // F: the probe fails, S: it succeeds
		want   BreakerState
	}{
		{"first probe succeeds", "S", BreakerClosed},
		{"success after failures", "FFS", BreakerClosed},
		{"all probes fail", "FFF", BreakerOpen},
		{"one failure stays half-open", "F", BreakerHalfOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker("partner.example")
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			b.record(p, false, true, now) // opens
			if b.current() != BreakerOpen {
				t.Fatalf("breaker %v after a failure", b.current())
			}
			if ok, _, until, _ := b.acquire(p, now.Add(openFor/2)); ok || !until.Equal(now.Add(openFor)) {
				t.Fatalf("open breaker let an attempt through (or until %v)", until)
			}
			now = now.Add(openFor)
			for i, r := range tt.probes {
				ok, probe, _, _ := b.acquire(p, now)
				if !ok || !probe {
					t.Fatalf("probe %d not let through", i)
				}
				// One probe at a time.
				if ok, _, _, change := b.acquire(p, now); ok || change == nil {
					t.Fatalf("second probe let through while probe %d is out", i)
				}
				b.record(p, true, r == 'F', now)
				if r == 'F' && b.current() == BreakerHalfOpen {
					// The next probe waits its turn: a third of OpenFor.
					next := now.Add(openFor / 3)
					if ok, _, until, _ := b.acquire(p, now.Add(time.Second)); ok || !until.Equal(next) {
						t.Fatalf("after failed probe %d: ok %t, next probe at %v, want %v", i, ok, until, next)
					}
					now = next
				}
			}
			if got := b.current(); got != tt.want {
				t.Fatalf("breaker %v, want %v", got, tt.want)
			}
		})
	}
}

// A postback that waited out the breaker is delayed, not retried; one
// that would then be older than MaxAge is dead-lettered. Another probe
// holds the half-open breaker, so the wait runs to its end.
func TestBreakerWaitIsADelay(t *testing.T) {
	sk, base := startSink(t, sink.Options{})
	tests := []struct {
		name     string
		enqueued time.Time
		want     queue.OutcomeKind
		reason   string
	}{
		{"fresh postback", time.Now(), queue.OutcomeDelay, "circuit breaker open"},
		{"too old to wait", time.Now().Add(-24 * time.Hour), queue.OutcomeDead, "retry budget exhausted: it would wait until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := testPolicy()
			pol.Timeout = 50 * time.Millisecond
			pol.Breaker = BreakerPolicy{MinRequests: 1, FailureRatio: 1, Window: time.Minute, OpenFor: 50 * time.Millisecond}
			s, obs := newSender(t, pol, nil)
			j := testJob(base + "/pb")
			j.EnqueuedAt = tt.enqueued
			u, _ := url.Parse(j.URL)
			_, br := s.state(j.App, j.Partner, u.Host)
			now := time.Now()
			br.record(pol.withDefaults().Breaker, false, true, now)
			if ok, probe, _, _ := br.acquire(pol.withDefaults().Breaker, now.Add(pol.Breaker.OpenFor)); !ok || !probe {
				t.Fatal("could not take the probe")
			}
			out := s.Handle(context.Background(), j, 2)
			if out.Kind != tt.want || !strings.HasPrefix(out.Reason, tt.reason) {
				t.Fatalf("outcome %+v, want %v %q", out, tt.want, tt.reason)
			}
			if sk.Count() != 0 {
				t.Fatalf("%d requests sent", sk.Count())
			}
			if at := obs.list(); len(at) != 1 || at[0].Outcome != tt.want.String() || at[0].Attempt != 2 || at[0].StatusCode != 0 {
				t.Fatalf("attempt records %+v", at)
			}
		})
	}
}

// concurrencyProbe counts requests in flight at a test server.
type concurrencyProbe struct {
	mu        sync.Mutex
	cur, peak int
	times     []time.Time
	delay     time.Duration
}

func (c *concurrencyProbe) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	c.cur++
	c.peak = max(c.peak, c.cur)
	c.times = append(c.times, time.Now())
	c.mu.Unlock()
	time.Sleep(c.delay)
	c.mu.Lock()
	c.cur--
	c.mu.Unlock()
}

func TestConcurrencyAndRateLimits(t *testing.T) {
	probe := &concurrencyProbe{delay: 30 * time.Millisecond}
	srv := httptest.NewServer(probe)
	defer srv.Close()
	pol := testPolicy()
	pol.Concurrency = 2
	s, _ := newSender(t, pol, nil)
	if got := s.Concurrency("demo", "partner"); got != 2 {
		t.Fatalf("Concurrency = %d", got)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Handle(context.Background(), testJob(srv.URL+"/pb"), 1)
		}()
	}
	wg.Wait()
	if probe.peak != 2 {
		t.Fatalf("peak concurrency %d, want 2", probe.peak)
	}

	probe2 := &concurrencyProbe{}
	srv2 := httptest.NewServer(probe2)
	defer srv2.Close()
	pol.Concurrency = 10
	pol.RatePerSecond = 20
	pol.Burst = 1
	s2, _ := newSender(t, pol, nil)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s2.Handle(context.Background(), testJob(srv2.URL+"/pb"), 1)
		}()
	}
	wg.Wait()
	// Six requests at 20/s with a burst of one span at least 5 intervals.
	if span := probe2.times[5].Sub(probe2.times[0]); span < 5*50*time.Millisecond-10*time.Millisecond {
		t.Fatalf("6 requests took %v at 20/s", span)
	}
}

func TestDeliverTargetKeepsPathAndQuery(t *testing.T) {
	for _, tc := range []struct{ base, in, want string }{
		{"http://127.0.0.1:9999", "https://a.com/x/y?q=1%2B2", "http://127.0.0.1:9999/x/y?q=1%2B2"},
		{"http://127.0.0.1:9999/", "https://a.com/x", "http://127.0.0.1:9999/x"},
		{"http://h/pre", "https://u:p@a.com/x?k=v", "http://u:p@h/pre/x?k=v"},
		{"http://h/pre/", "https://a.com/a%2Fb", "http://h/pre/a%2Fb"},
	} {
		b, _ := url.Parse(tc.base)
		u, _ := url.Parse(tc.in)
		if got := deliverTarget(b, u).String(); got != tc.want {
			t.Errorf("deliverTarget(%s, %s) = %s, want %s", tc.base, tc.in, got, tc.want)
		}
	}
}

// A rendered URL whose host is no host name (a placeholder such as
// partners/apple.yaml's https://branch.io&{abc}) is dead-lettered saying so.
func TestInvalidHostDeadLettered(t *testing.T) {
	pol := testPolicy()
	pol.AllowedHosts = []string{"branch.io&us", "branch.io"}
	s, _ := newSender(t, pol, nil)
	out := s.Handle(context.Background(), testJob("https://branch.io&US"), 1)
	if out.Kind != queue.OutcomeDead || !strings.Contains(out.Reason, "not a valid host name") {
		t.Fatalf("outcome %+v", out)
	}
}

// With --deliver-to, credentials written before the host travel too: the
// sink sees the Authorization the partner would.
func TestDeliverToKeepsUserinfo(t *testing.T) {
	sk, base := startSink(t, sink.Options{})
	pol := testPolicy()
	pol.AllowedHosts = []string{"api.impactradius.com"}
	s, _ := newSender(t, pol, func(o *Options) { o.DeliverTo = base })
	out := s.Handle(context.Background(), testJob("https://SID123:tok%2F456@api.impactradius.com/Advertisers/SID123/AppEvents/?Event=OPEN"), 1)
	if out.Kind != queue.OutcomeDelivered {
		t.Fatalf("outcome %+v", out)
	}
	recs := sk.Requests()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("SID123:tok/456"))
	if len(recs) != 1 || recs[0].Headers["Authorization"] != want || recs[0].URL != "/Advertisers/SID123/AppEvents/?Event=OPEN" {
		t.Fatalf("requests %+v, want Authorization %q", recs, want)
	}
}

// FuzzRedactQuery checks that redacting any URL text does not panic.
func FuzzRedactQuery(f *testing.F) {
	for _, s := range []string{"https://a.com/x?token=1", "https://{h}/", "http://[::1]:80", "x", "https://u@h:1?x&y=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = RedactQuery(s)
	})
}

// Stopping (shutdown) mid-request is not the host's failure.
func TestCancelledAttemptDoesNotTripBreaker(t *testing.T) {
	_, base := startSink(t, sink.Options{Latency: 10 * time.Second})
	pol := testPolicy()
	pol.Breaker = BreakerPolicy{MinRequests: 1, FailureRatio: 1, Window: time.Minute, OpenFor: time.Minute}
	s, _ := newSender(t, pol, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	out := s.Handle(ctx, testJob(base+"/pb"), 1)
	if out.Kind != queue.OutcomeRetry || out.After != 0 {
		t.Fatalf("outcome %+v", out)
	}
	if st := s.Breakers(); len(st) != 1 || st[0].State != BreakerClosed {
		t.Fatalf("breakers %+v", st)
	}
}

// The semaphore wakes waiters only when there are some; a waiter that gives
// up (its context ends) must not stop the next ones from being woken.
func TestSemaphoreWaiters(t *testing.T) {
	s := newSemaphore()
	ctx := context.Background()
	waiting := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			s.mu.Lock()
			w := s.waiting
			s.mu.Unlock()
			if w == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiters, want %d", w, n)
			}
		}
	}
	if err := s.acquire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// A waiter that gives up.
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error)
	go func() { gaveUp <- s.acquire(cctx, 1) }()
	waiting(1)
	cancel()
	if err := <-gaveUp; err == nil {
		t.Fatal("cancelled acquire succeeded")
	}
	waiting(0)
	// Two waiters: each release lets one through.
	got := make(chan struct{}, 2)
	for range 2 {
		go func() {
			if err := s.acquire(ctx, 1); err == nil {
				got <- struct{}{}
			}
		}()
	}
	waiting(2)
	s.release()
	<-got
	waiting(1) // the other one waits again
	s.release()
	<-got
	s.release()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse != 0 || s.waiting != 0 {
		t.Fatalf("inUse %d waiting %d after all released", s.inUse, s.waiting)
	}
}

// Every attempt carries bounded, redacted excerpts of its request and
// response, what the delivery history stores.
func TestAttemptExcerpts(t *testing.T) {
	const secret = "s3cr3t-value"
	long := strings.Repeat("é", ExcerptBytes) // two bytes a rune: cut on a boundary
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Request-Id", "req-"+secret)
		w.Header().Set("X-Other", "not kept")
		switch r.URL.Path {
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/long":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(long))
		default:
			_, _ = w.Write([]byte("ok " + secret))
		}
	}))
	defer srv.Close()
	redact := func(s string) string { return strings.ReplaceAll(s, secret, "[R]") }
	for _, tc := range []struct {
		name, path, body string
		wantResp         string
		wantHeaders      map[string]string
	}{
		{"echo", "/echo", `{"k":"` + secret + `"}`, "ok [R]", map[string]string{"Content-Type": "text/plain", "X-Request-Id": "req-[R]"}},
		{"no body", "/empty", "", "", map[string]string{"X-Request-Id": "req-[R]"}},
		{"long body", "/long", long, long[:ExcerptBytes], map[string]string{"Content-Type": "text/plain", "X-Request-Id": "req-[R]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, obs := newSender(t, testPolicy(), func(o *Options) {
				o.Redact = redact
				o.RedactHeaders = func(h map[string]string) map[string]string {
					out := map[string]string{}
					for k, v := range h {
						out[k] = "H:" + redact(v)
					}
					return out
				}
			})
			j := testJob(srv.URL + tc.path)
			j.Method, j.Body, j.Headers = "POST", tc.body, map[string]string{"X-Key": secret}
			s.Handle(context.Background(), j, 1)
			a := obs.list()[0]
			if a.ResponseBody != tc.wantResp {
				t.Errorf("response excerpt %d bytes %.40q, want %d bytes", len(a.ResponseBody), a.ResponseBody, len(tc.wantResp))
			}
			for k, v := range tc.wantHeaders {
				if a.ResponseHeaders[k] != v {
					t.Errorf("response header %s = %q, want %q (all %v)", k, a.ResponseHeaders[k], v, a.ResponseHeaders)
				}
			}
			if _, ok := a.ResponseHeaders["X-Other"]; ok {
				t.Errorf("response headers keep X-Other: %v", a.ResponseHeaders)
			}
			if a.RequestHeaders["X-Key"] != "H:[R]" {
				t.Errorf("request headers %v", a.RequestHeaders)
			}
			if len(a.RequestBody) > ExcerptBytes || strings.Contains(a.RequestBody, secret) || !strings.HasPrefix(tc.body, strings.ReplaceAll(a.RequestBody, "[R]", secret)) {
				t.Errorf("request excerpt %d bytes %.40q", len(a.RequestBody), a.RequestBody)
			}
		})
	}
}
