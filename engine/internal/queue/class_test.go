package queue

import "testing"

func TestErrorClass(t *testing.T) {
	tests := []struct {
		class  string
		status int
		reason string
		want   string
	}{
		{ClassTimeout, 0, "anything", ClassTimeout},
		{"bogus", 503, "", Class5xx},
		{"", 404, "HTTP 404: not retried", Class4xx},
		{"", 429, "retry budget exhausted after 3 attempts: HTTP 429", Class4xx},
		{"", 200, "HTTP 200 but the response matches the failure pattern", ClassBody},
		// Dead letters written before classes were kept: the reason only.
		{"", 0, "HTTP 404: not retried", Class4xx},
		{"", 0, "retry budget exhausted after 10 attempts: HTTP 503", Class5xx},
		{"", 0, "max deliveries (25) reached: HTTP 502", Class5xx},
		{"", 0, "retry budget exhausted after 3 attempts: timeout", ClassTimeout},
		{"", 0, "retry budget exhausted after 3 attempts: dial tcp 10.0.0.1:80: connect: connection refused", ClassNetwork},
		{"", 0, "outside postback window: it closed at 2026-01-01T00:00:00Z", ClassWindowClosed},
		{"", 0, `host "x.example" is not allowed for partner "p" (add it to the spec's allowed_hosts)`, ClassRefusedHost},
		{"", 0, "refused: 10.0.0.1 is a loopback, private or link-local address", ClassRefusedHost},
		{"", 0, "invalid postback URL: want an absolute http(s) URL", ClassRender},
		{"", 0, `invalid header "a b": a name must be a token`, ClassRender},
		{"", 0, `partner "p" is not enabled for app "a"`, ClassDisabled},
		{"", 0, "retry budget exhausted: it would wait until 25h0m0s after enqueue (max 24h0m0s): circuit breaker open", ClassBudgetExhausted},
		{"", 0, "delivered 26 times without an outcome (max 25)", ClassBudgetExhausted},
		{"", 0, "undecodable job: truncated job", ClassOther},
		{"", 0, "something new", ClassOther},
	}
	for _, tc := range tests {
		if got := ErrorClass(tc.class, tc.status, tc.reason); got != tc.want {
			t.Errorf("ErrorClass(%q, %d, %q) = %q, want %q", tc.class, tc.status, tc.reason, got, tc.want)
		}
		if !ValidErrorClass(tc.want) {
			t.Errorf("%q is not a valid class", tc.want)
		}
	}
}
