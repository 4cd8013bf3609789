package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStatusClass(t *testing.T) {
	// what it was before it returned constants
	old := func(code int) string {
		if code < 100 || code > 599 {
			return "error"
		}
		return strconv.Itoa(code/100) + "xx"
	}
	for _, code := range []int{-1, 0, 1, 99, 100, 101, 199, 200, 204, 299, 301, 399, 404, 429, 499, 500, 503, 599, 600, 1000} {
		if got, want := statusClass(code), old(code); got != want {
			t.Errorf("statusClass(%d) = %q, want %q", code, got, want)
		}
	}
}

// TestMetricsAttempt: counting attempts through the cached children
// exposes the very series, values and buckets that WithLabelValues on
// every attempt did, and no series an attempt did not touch.
func TestMetricsAttempt(t *testing.T) {
	type att struct {
		app, partner, outcome string
		code                  int
		latency               time.Duration
	}
	tests := []struct {
		name string
		atts []att
	}{
		{"none", nil},
		{"one delivered", []att{{"shop", "acme", "delivered", 200, 3 * time.Millisecond}}},
		{"every outcome and class", []att{
			{"shop", "acme", "delivered", 204, time.Millisecond},
			{"shop", "acme", "retry", 503, 20 * time.Millisecond},
			{"shop", "acme", "retry", 0, 0}, // no answer: class error, no latency
			{"shop", "acme", "dead", 404, 7 * time.Second},
			{"shop", "acme", "delayed", 0, 0}, // nothing sent: counted nowhere
			{"shop", "beacon", "delivered", 302, 40 * time.Millisecond},
			{"shop", "beacon", "delivered", 101, 2 * time.Millisecond},
			{"game", "acme", "dead", 0, 11 * time.Second},
		}},
		{"repeats", []att{
			{"shop", "acme", "delivered", 200, time.Millisecond},
			{"shop", "acme", "delivered", 200, time.Millisecond},
			{"shop", "acme", "delivered", 201, 300 * time.Millisecond},
			{"shop", "acme", "retry", 429, 5 * time.Millisecond},
			{"shop", "acme", "retry", 429, 5 * time.Millisecond},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := newMetrics(), newMetrics()
			for _, a := range tt.atts {
				got.attempt(a.app, a.partner, a.outcome, a.code, a.latency)
				// what delivery.observe did before the cache
				class := statusClass(a.code)
				switch a.outcome {
				case "delivered":
					want.delivered.WithLabelValues(a.app, a.partner, class).Inc()
				case "retry":
					want.retried.WithLabelValues(a.app, a.partner, class).Inc()
				case "dead":
					want.deadLettered.WithLabelValues(a.app, a.partner, class).Inc()
				}
				if a.latency > 0 {
					want.deliveryLatency.WithLabelValues(a.app, a.partner).Observe(a.latency.Seconds())
				}
			}
			g, w := attemptSeriesText(t, got), attemptSeriesText(t, want)
			if g != w {
				t.Errorf("series differ:\n got:\n%s\nwant:\n%s", g, w)
			}
			if len(tt.atts) > 0 && w == "" {
				t.Error("the attempts made no series: the comparison proves nothing")
			}
		})
	}
}

// attemptSeriesText prints the attempt metrics' series as Gather sees
// them.
func attemptSeriesText(t *testing.T, m *metrics) string {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "adgate_postbacks_") && f.GetName() != "adgate_delivery_duration_seconds" {
			continue
		}
		for _, mt := range f.GetMetric() {
			fmt.Fprintf(&b, "%s{", f.GetName())
			for _, l := range mt.GetLabel() {
				fmt.Fprintf(&b, "%s=%q ", l.GetName(), l.GetValue())
			}
			fmt.Fprintf(&b, "} %v", mt.GetCounter().GetValue())
			if h := mt.GetHistogram(); h != nil {
				fmt.Fprintf(&b, " count=%d sum=%v", h.GetSampleCount(), h.GetSampleSum())
				for _, bk := range h.GetBucket() {
					fmt.Fprintf(&b, " le%v=%d", bk.GetUpperBound(), bk.GetCumulativeCount())
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
