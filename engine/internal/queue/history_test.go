package queue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// publishHistory stores records synchronously-enough for a test: it waits
// for every ack.
func publishHistory(t *testing.T, q *Queue, recs map[string][]string) {
	t.Helper()
	for subj, datas := range recs {
		for _, d := range datas {
			if err := q.PublishHistory(subj, []byte(d)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.HistoryFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestHistoryPagesNewestFirst(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx := context.Background()
	// 300 attempts over two partners and 30 events, plans in between, in
	// a known order (one publish at a time so the order is the stream's).
	var order []string
	for i := range 300 {
		ev := fmt.Sprintf("ev%d", i%30)
		partner := []string{"acme", "beacon"}[i%2]
		data := fmt.Sprintf("%s|%s|%d", partner, ev, i)
		if err := q.PublishHistory(q.HistoryAttemptSubject("shop", partner, ev), []byte(data)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if err := q.PublishHistory(q.HistoryPlanSubject("shop", ev), []byte("plan|"+ev)); err != nil {
				t.Fatal(err)
			}
		}
		order = append(order, data)
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := q.HistoryFlush(fctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	slices.Reverse(order)
	tests := []struct {
		name          string
		filter        HistoryFilter
		limit, budget int
		accept        func(HistoryRecord) bool
		want          func(string) bool
	}{
		{"all attempts", HistoryFilter{Attempts: true}, 7, 10000, nil, func(string) bool { return true }},
		{"one partner", HistoryFilter{Partner: "beacon", Attempts: true}, 50, 10000, nil, func(d string) bool { return strings.HasPrefix(d, "beacon|") }},
		{"one event", HistoryFilter{EventID: "ev7", Attempts: true}, 3, 10000,
			func(r HistoryRecord) bool { return strings.Contains(string(r.Data), "|ev7|") },
			func(d string) bool { return strings.Contains(d, "|ev7|") }},
		{"small scan budget", HistoryFilter{Attempts: true}, 100, 40, nil, func(string) bool { return true }},
		{"other app", HistoryFilter{App: "other", Attempts: true}, 10, 10000, nil, func(string) bool { return false }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, d := range order {
				if tc.want(d) {
					want = append(want, d)
				}
			}
			var got []string
			var before uint64
			for pages := 0; ; pages++ {
				if pages > 1000 {
					t.Fatal("cursor does not end")
				}
				p, err := q.HistoryNewest(ctx, HistoryQuery{Filter: tc.filter, Before: before, Limit: tc.limit, MaxScan: tc.budget, Accept: tc.accept})
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Records) > tc.limit || p.Scanned > tc.budget+256 {
					t.Fatalf("page of %d records, %d scanned", len(p.Records), p.Scanned)
				}
				for _, r := range p.Records {
					if r.Plan {
						t.Fatalf("plan %q among attempts", r.Data)
					}
					got = append(got, string(r.Data))
				}
				if p.Next == 0 {
					break
				}
				if before != 0 && p.Next >= before {
					t.Fatalf("cursor went from %d to %d", before, p.Next)
				}
				before = p.Next
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %d records %q..., want %d %q...", len(got), head(got), len(want), head(want))
			}
		})
	}

	// The trace's read: one event's plans and attempts, oldest first.
	var trace []string
	cut, err := q.HistoryScan(ctx, HistoryFilter{App: "shop", EventID: "ev0", Attempts: true, Plans: true}, time.Time{}, 1000, func(r HistoryRecord) {
		if strings.HasSuffix(string(r.Data), "|ev0") || strings.Contains(string(r.Data), "|ev0|") && strings.HasPrefix(string(r.Data), "plan|") == r.Plan {
			trace = append(trace, string(r.Data))
		}
	})
	if err != nil || cut {
		t.Fatalf("scan: cut %v err %v", cut, err)
	}
	if len(trace) != 20 || trace[0] != "acme|ev0|0" || trace[1] != "plan|ev0" || trace[19] != "plan|ev0" {
		t.Errorf("trace of ev0: %q", trace)
	}
	cut, err = q.HistoryScan(ctx, HistoryFilter{Attempts: true}, time.Time{}, 10, func(HistoryRecord) {})
	if err != nil || !cut {
		t.Errorf("a scan past its bound: cut %v err %v", cut, err)
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func TestHistoryTimeRange(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx := context.Background()
	publishHistory(t, q, map[string][]string{q.HistoryAttemptSubject("a", "p", "e1"): {"old"}})
	time.Sleep(20 * time.Millisecond) // store times are the only clock here
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	publishHistory(t, q, map[string][]string{q.HistoryAttemptSubject("a", "p", "e2"): {"new"}})
	p, err := q.HistoryNewest(ctx, HistoryQuery{Filter: HistoryFilter{Attempts: true}, Since: mid, Limit: 10, MaxScan: 100})
	if err != nil || len(p.Records) != 1 || string(p.Records[0].Data) != "new" || p.Next != 0 {
		t.Errorf("since: %+v %v", p, err)
	}
	// Until is widened by historyLag, so the caller filters by its own
	// times; both records come back here.
	p, err = q.HistoryNewest(ctx, HistoryQuery{Filter: HistoryFilter{Attempts: true}, Until: mid, Limit: 10, MaxScan: 100})
	if err != nil || len(p.Records) != 2 {
		t.Errorf("until: %+v %v", p, err)
	}
}

// An empty history (a fresh queue, or every record expired) reads as
// empty: its first sequence is 0, where no consumer can start.
func TestHistoryEmpty(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx := context.Background()
	for _, since := range []time.Time{{}, time.Now().Add(-time.Hour)} {
		n := 0
		cut, err := q.HistoryScan(ctx, HistoryFilter{App: "a", EventID: "e1", Attempts: true, Plans: true}, since, 100, func(HistoryRecord) { n++ })
		if err != nil || cut || n != 0 {
			t.Errorf("scan since %v of an empty history: %d records, cut %v, %v", since, n, cut, err)
		}
	}
	p, err := q.HistoryNewest(ctx, HistoryQuery{Filter: HistoryFilter{Attempts: true}, Limit: 10, MaxScan: 100})
	if err != nil || len(p.Records) != 0 {
		t.Errorf("newest of an empty history: %+v %v", p, err)
	}
}

func TestHistoryRetentionReachesStream(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.HistoryMaxAge, cfg.HistoryMaxBytes = 36*time.Hour, 8<<20
	q := openQueue(t, cfg)
	info, err := q.HistoryInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 36*time.Hour || info.Config.MaxBytes != 8<<20 || info.Config.Name != "ADGATE_HIST" {
		t.Errorf("history stream %s max_age %v max_bytes %d", info.Config.Name, info.Config.MaxAge, info.Config.MaxBytes)
	}
	_ = q.Close()
	// A larger limit at the next start raises it; a smaller one is not
	// applied (it would drop records at once).
	for _, tc := range []struct {
		bytes, want int64
	}{{16 << 20, 16 << 20}, {4 << 20, 16 << 20}} {
		cfg.HistoryMaxBytes = tc.bytes
		q := openQueue(t, cfg)
		info, err := q.HistoryInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.MaxBytes != tc.want {
			t.Errorf("configured %d: stream max_bytes %d, want %d", tc.bytes, info.Config.MaxBytes, tc.want)
		}
		_ = q.Close()
	}
}

// A history record the stream cannot take is reported to OnHistoryError,
// and PublishHistory does not wait for it.
func TestHistoryWriteFailureReported(t *testing.T) {
	cfg := testConfig(t.TempDir())
	errs := make(chan error, 16)
	cfg.OnHistoryError = func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	q := openQueue(t, cfg)
	ctx := context.Background()
	if err := q.js.DeleteStream(ctx, "ADGATE_HIST"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := q.PublishHistory(q.HistoryAttemptSubject("a", "p", "e"), []byte("x")); err != nil {
		t.Fatalf("the publish itself: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("PublishHistory waited %v", d)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), "queue: history") {
			t.Errorf("reported %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the failed write was never reported")
	}
	if _, err := q.HistoryNewest(ctx, HistoryQuery{Filter: HistoryFilter{Attempts: true}, Limit: 1, MaxScan: 10}); err == nil {
		t.Error("reading a missing history stream succeeded")
	}
}
