package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// An unknown status filter is a 400 naming the valid ones, not an empty
// list that looks like "nothing failed".
func TestDeliveriesStatusFilter(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	admin := bearer("test-admin-token-1")
	for _, tc := range []struct {
		status string
		code   int
	}{
		{"bogus", http.StatusBadRequest},
		{"DEAD", http.StatusBadRequest},
		{"6xx", http.StatusBadRequest},
		{"", http.StatusOK},
		{"delivered", http.StatusOK},
		{"retry", http.StatusOK},
		{"dead", http.StatusOK},
		{"5xx", http.StatusOK},
		{"error", http.StatusOK},
	} {
		t.Run(tc.status, func(t *testing.T) {
			code, _, body := e.do("GET", "/v1/deliveries?status="+tc.status, nil, admin)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if code == http.StatusBadRequest {
				for _, want := range []string{`\"` + tc.status + `\"`, "delivered", "retry", "dead", "5xx"} {
					if !strings.Contains(string(body), want) {
						t.Errorf("answer %s does not mention %s", body, want)
					}
				}
			}
		})
	}
}
