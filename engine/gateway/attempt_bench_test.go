package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/deliver"
	"github.com/adgate/adgate/engine/internal/queue"
)

// BenchmarkDeliveryAttempt is one first attempt as the render worker
// makes it (delivery.Handle: the sender, the redactor, metrics, stats,
// the history record), sequentially, to a local endpoint that answers
// 200 "ok", as --deliver-to sends it. The URL is CleverTap's from the
// README, with two credentials in it, so redaction has work to do. No
// queue is involved: compare allocs/op with BenchmarkAttempt in
// engine/internal/deliver for what the gateway adds around the sender.
func BenchmarkDeliveryAttempt(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()

	s := &Server{opt: Options{Now: time.Now, DeliverTo: srv.URL}, m: newMetrics(), log: slog.New(slog.DiscardHandler),
		stats: newStatsRecorder(time.Now), instance: "bench"}
	s.hist = newHistory(s)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for range s.hist.ch {
		}
	}()
	defer func() { close(s.hist.ch); <-drained }()
	k := queue.Key{App: "shop", Partner: "clevertap"}
	s.rt.Store(&runtime{
		version: "bench",
		red:     newRedactor([]string{"TEST-R44-4Z5Z", "Zm9v+YmFy/YmF6==", "open sesame"}),
		policies: map[queue.Key]deliver.Policy{k: {
			Timeout: 5 * time.Second, AllowedHosts: []string{"api.clevertap.com"},
		}},
	})
	d, err := newDelivery(s)
	if err != nil {
		b.Fatal(err)
	}
	defer d.snd.Close()
	j := queue.Job{
		ID: "bench-1", App: k.App, Partner: k.Partner, Postback: "INSTALL", EventID: "ev-1", Method: http.MethodGet,
		ConfigVersion: "bench",
		URL: "https://api.clevertap.com/branch?account_id=TEST-R44-4Z5Z&account_token=Zm9v%2BYmFy%2FYmF6%3D%3D" +
			"&account_passcode=open%20sesame&event=INSTALL&event_timestamp=1767225600&identity=user-42&os=ANDROID" +
			"&os_version=14&ip=203.0.113.7&utm_campaign=spring_sale&utm_source=jampp&utm_medium=cpi&reinstall=" +
			"&google_advertising_id=38400000-8cf0-11bd-b23e-10b96e40000d&idfa=",
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if out := d.Handle(ctx, j, 1); out.Kind != queue.OutcomeDelivered {
			b.Fatalf("outcome %+v", out)
		}
	}
}
