package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/internal/sink"
)

// TestOutboundAttacks: postbacks whose destination or content an attacker
// may have shaped (through event data, a partner's DNS or its answers)
// never reach anything but the intended, allowed host, and never carry
// injected headers. Literal internal addresses and their IPv6 embeddings
// are TestPrivateAddr's; the allow-list exemption is TestPrivateHostsExact's.
func TestOutboundAttacks(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/latest/meta-data", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	sk, base := startSink(t, sink.Options{})
	port := strings.TrimPrefix(base, "http://127.0.0.1:")

	for _, tc := range []struct {
		name   string
		job    func() queue.Job
		want   queue.OutcomeKind
		reason string
	}{
		{"redirect to an internal address is not followed", func() queue.Job { return testJob(redirect.URL + "/pb") }, queue.OutcomeDead, "HTTP 302"},
		{"name resolving to loopback", func() queue.Job {
			j := testJob("http://localhost:" + port + "/pb")
			j.Partner = "strict"
			return j
		}, queue.OutcomeDead, "resolves to a loopback"},
		{"CRLF in a header value", func() queue.Job {
			j := testJob(base + "/pb")
			j.Headers = map[string]string{"X-Note": "a\r\nX-Injected: 1"}
			return j
		}, queue.OutcomeDead, "header"},
		{"CRLF in a header name", func() queue.Job {
			j := testJob(base + "/pb")
			j.Headers = map[string]string{"X-Note\r\nX-Injected": "1"}
			return j
		}, queue.OutcomeDead, "header"},
		{"CRLF in the URL", func() queue.Job { return testJob(base + "/pb?a=1\r\nX-Injected: 1") }, queue.OutcomeDead, "invalid postback URL"},
		{"userinfo hiding the host", func() queue.Job { return testJob("http://127.0.0.1:" + port + "@169.254.169.254/pb") }, queue.OutcomeDead, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := testPolicy()
			pol.AllowedHosts = append(pol.AllowedHosts, "localhost", "169.254.169.254")
			s, _ := newSender(t, pol, func(o *Options) {
				o.Policy = func(_, partner string) (Policy, bool) {
					p := pol
					if partner == "strict" {
						p.PrivateHosts = nil
					}
					return p, true
				}
			})
			out := s.Handle(context.Background(), tc.job(), 1)
			if out.Kind != tc.want || !strings.Contains(out.Reason, tc.reason) {
				t.Errorf("outcome %+v, want %v mentioning %q", out, tc.want, tc.reason)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	for _, r := range sk.Requests() {
		for k := range r.Headers {
			if strings.EqualFold(k, "X-Injected") {
				t.Errorf("injected header reached the sink: %+v", r)
			}
		}
	}
}
