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
	read := func(q *Queue) map[string]string {
		got := map[string]string{}
		err := q.Stats(ctx, m0, func(r StatsRollup) error {
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
	check("running", read(q))
	if err := q.PutStats(ctx, "", m0, nil); err == nil {
		t.Error("a rollup without an instance was stored")
	}
	_ = q.Close()
	check("after a restart", read(openQueue(t, testConfig(dir))))
}
