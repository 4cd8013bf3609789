//go:build unix

package gateway

// Ingest request cost by the number of partners an app enables, without
// the delivery side running (nothing consumes the queue), so the figure is
// the request's own:
//
//	go test -run '^$' -bench IngestPartners -benchtime 2000x ./engine/gateway/
//
// It reports the process CPU time per ingested event besides ns/op.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePartners writes a config whose app shop enables n generated
// partners, each rendering a GET postback with a few macros.
func writePartners(b *testing.B, dir string, n int) string {
	b.Helper()
	pdir := filepath.Join(dir, "partners")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		b.Fatal(err)
	}
	var cfg strings.Builder
	cfg.WriteString("partners_dir: partners\ndata_dir: data\napps:\n  - id: shop\n    ingest:\n      bearer_tokens: [shop-token-123]\n    partners:\n")
	for i := range n {
		id := fmt.Sprintf("p%03d", i)
		spec := fmt.Sprintf(`id: %[1]s
name: Bench partner %[1]s
postbacks:
  - events: [INSTALL, PURCHASE]
    url: http://%[1]s.partner.example/pb?click={click_id}&aaid={aaid}&event={event}&revenue={revenue}&key={api_key}
parameters:
  - macro: click_id
    branch: CLICK_ID
    link_macro: "{click}"
  - macro: aaid
    branch: AAID
  - macro: event
    branch: EVENT_NAME
  - macro: revenue
    branch: PURCHASE_REVENUE
  - macro: api_key
    branch: ACCOUNT_CREDENTIAL
    label: API key
`, id)
		if err := os.WriteFile(filepath.Join(pdir, id+".yaml"), []byte(spec), 0o644); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&cfg, "      - id: %s\n        scope: all\n        credentials: {api_key: key-%d}\n", id, i)
	}
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkIngestPartners(b *testing.B) {
	for _, n := range []int{1, 10, 60} {
		b.Run(fmt.Sprintf("partners=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			s, err := New(context.Background(), Options{
				ConfigPath: writePartners(b, dir, n), Listen: "127.0.0.1:0", WatchEvery: -1,
				DataDir: filepath.Join(dir, "data"),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := s.Handler()
			evs := make([][]byte, b.N)
			for i := range evs {
				evs[i] = mkEvent(int64(900000000000000000+i), "INSTALL", nil)
			}
			b.ResetTimer()
			cpu0 := cpuTime(b)
			start := time.Now()
			for _, ev := range evs {
				req := httptest.NewRequest(http.MethodPost, "/v1/apps/shop/events", bytes.NewReader(ev))
				req.Header.Set("Authorization", "Bearer shop-token-123")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					b.Fatalf("ingest: %d %s", rec.Code, rec.Body)
				}
			}
			elapsed := time.Since(start)
			cpu := cpuTime(b) - cpu0
			b.StopTimer()
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/event")
			b.ReportMetric(float64(elapsed.Microseconds())/float64(b.N), "wall-us/event")
		})
	}
}
