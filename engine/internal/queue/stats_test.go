package queue

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestStatsReplaceAndSurvive: a second flush of an instance's minute
// replaces the first, other instances and minutes sit beside it, minutes
// before since are not read, and all of it is there after a restart.
func TestStatsReplaceAndSurvive(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	m0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	puts := []struct {
		inst   string
		minute time.Time
		data   string
	}{
		{"gw-a", m0, "a0 first"},
		{"gw-a", m0, "a0 second"},
		{"gw-b", m0, "b0"},
		{"gw-a", m0.Add(time.Minute), "a1"},
		{"gw.odd*name", m0.Add(time.Minute), "odd1"},
		{"gw-a", m0.Add(-time.Minute), "before since"},
	}
	q := openQueue(t, testConfig(dir))
	for _, p := range puts {
		if err := q.PutStats(ctx, p.inst, p.minute, []byte(p.data)); err != nil {
			t.Fatal(err)
		}
	}
	var last uint64
	read := func(q *Queue, after uint64) map[string]string {
		got := map[string]string{}
		var err error
		last, _, err = q.Stats(ctx, m0, after, func(r StatsRollup) error {
			got[fmt.Sprintf("%s@%s", r.Instance, r.Minute.Format("15:04"))] = string(r.Data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := map[string]string{"gw-a@08:00": "a0 second", "gw-b@08:00": "b0", "gw-a@08:01": "a1", "gw.odd*name@08:01": "odd1"}
	check := func(when string, got map[string]string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: read %v, want %v", when, got, want)
		}
	}
	check("running", read(q, 0))
	if got := read(q, last); len(got) != 0 {
		t.Errorf("read after the last sequence: %v, want nothing", got)
	}
	// A re-flush is read again from the last sequence, alone.
	if err := q.PutStats(ctx, "gw-b", m0, []byte("b0 again")); err != nil {
		t.Fatal(err)
	}
	if got := read(q, last); fmt.Sprint(got) != "map[gw-b@08:00:b0 again]" {
		t.Errorf("read after a re-flush: %v", got)
	}
	want["gw-b@08:00"] = "b0 again"
	if err := q.PutStats(ctx, "", m0, nil); err == nil {
		t.Error("a rollup without an instance was stored")
	}
	_ = q.Close()
	q = openQueue(t, testConfig(dir))
	check("after a restart", read(q, 0))

	// A stream created anew (here: deleted, and made again by the next
	// setup) has lower sequences: the reader starts over.
	if err := q.js.DeleteStream(ctx, q.cfg.StatsStream); err != nil {
		t.Fatal(err)
	}
	if err := q.ensureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.PutStats(ctx, "gw-c", m0, []byte("c0")); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	_, reset, err := q.Stats(ctx, m0, 1000, func(r StatsRollup) error {
		got[r.Instance] = string(r.Data)
		return nil
	})
	if err != nil || !reset || fmt.Sprint(got) != "map[gw-c:c0]" {
		t.Errorf("after the stream was created anew: reset %v, read %v, err %v", reset, got, err)
	}
}
