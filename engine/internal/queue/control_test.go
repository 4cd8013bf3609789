package queue

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// waitBacklog polls until k's queued count is want.
func waitBacklog(t *testing.T, q *Queue, k Key, want uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := q.Backlogs(context.Background(), []Key{k})
		if err == nil && b[k].Queued == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog of %v: %+v (err %v), want %d queued", k, b[k], err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A paused pair's jobs wait in the stream without an attempt, the other
// pairs go on, and on resume each is delivered once, as its first attempt.
func TestPauseHoldsJobsUntilResume(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	r := newRecorder(func(Job, int) Outcome { return Delivered() })
	runQueue(t, q, r)
	ctx := context.Background()
	paused := Key{App: "a", Partner: "p"}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := q.Pause(ctx, paused, "maintenance", "admin", now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Paused || !p.PausedAt.Equal(now) || p.Reason != "maintenance" {
		t.Fatalf("pause record %+v", p)
	}
	// Pausing again keeps the first paused_at and takes the new reason.
	p, err = q.Pause(ctx, paused, "still down", "admin", now.Add(time.Hour))
	if err != nil || !p.PausedAt.Equal(now) || p.Reason != "still down" {
		t.Fatalf("second pause %+v %v", p, err)
	}
	var jobs []Job
	for _, id := range []string{"j1", "j2", "j3"} {
		jobs = append(jobs, job("a", "p", id))
	}
	if err := q.Enqueue(ctx, append(jobs, job("a", "other", "o1"))...); err != nil {
		t.Fatal(err)
	}
	// The unpaused pair is delivered; the paused one's jobs stay queued.
	if c := r.await(t, 1)[0]; c.Job.ID != "o1" {
		t.Fatalf("delivered %s while its pair was paused", c.Job.ID)
	}
	waitBacklog(t, q, paused, 3)
	r.mu.Lock()
	n := len(r.calls)
	r.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d handler calls while paused, want 1", n)
	}

	if _, err := q.Resume(ctx, paused, "admin", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range r.await(t, 3) {
		seen[c.Job.ID]++
		if c.Attempt != 1 {
			t.Errorf("%s delivered as attempt %d: the pause spent attempts", c.Job.ID, c.Attempt)
		}
	}
	for _, j := range jobs {
		if seen[j.ID] != 1 {
			t.Errorf("%s delivered %d times", j.ID, seen[j.ID])
		}
	}
	waitBacklog(t, q, paused, 0)
	if since, ok := q.PausedAt(paused, now.Add(90*time.Minute)); !ok || !since.Equal(now) {
		t.Errorf("PausedAt within the pause = %v %v", since, ok)
	}
	if _, ok := q.PausedAt(paused, now.Add(3*time.Hour)); ok {
		t.Error("PausedAt after the resume says paused")
	}
}

// A second queue on the same server obeys a pause made through the first,
// and a queue opened later (a restart) starts with it.
func TestPauseSharedAndPersisted(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	defer ns.Shutdown()
	cfg := testConfig("")
	cfg.URL, cfg.Token = ns.ClientURL(), "ext-token"
	a := openQueue(t, cfg)
	b := openQueue(t, cfg)
	stopB := runQueue(t, b, newRecorder(func(Job, int) Outcome { return Delivered() }))
	k := Key{App: "my.app", Partner: "part ner"}
	if _, err := a.Pause(context.Background(), k, "", "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p, ok := b.Control(k); ok && p.Paused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other queue did not see the pause within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopB()

	c := openQueue(t, cfg)
	r := newRecorder(func(Job, int) Outcome { return Delivered() })
	runQueue(t, c, r)
	if err := c.Enqueue(context.Background(), job(k.App, k.Partner, "waits")); err != nil {
		t.Fatal(err)
	}
	waitBacklog(t, c, k, 1)
	if p, ok := c.Control(k); !ok || !p.Paused {
		t.Fatalf("restarted queue: control %+v %v", p, ok)
	}
	r.mu.Lock()
	n := len(r.calls)
	r.mu.Unlock()
	if n != 0 {
		t.Fatalf("restarted queue delivered %d jobs of a paused pair", n)
	}
	if _, err := b.Resume(context.Background(), k, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := r.await(t, 1)[0]; got.Job.ID != "waits" {
		t.Fatalf("delivered %s", got.Job.ID)
	}
}

// The control bucket goes through ensureStream: an operator's history
// and limits stay, the configured description comes back.
func TestControlBucketKeepsOperatorSettings(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	defer ns.Shutdown()
	js := operatorJS(t, ns.ClientURL(), "ext-token")
	ctx := context.Background()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "ADGATE_CONTROL", History: 5, MaxBytes: 1 << 20, Description: "ops"}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("")
	cfg.URL, cfg.Token = ns.ClientURL(), "ext-token"
	q := openQueue(t, cfg)
	st, err := js.Stream(ctx, "KV_ADGATE_CONTROL")
	if err != nil {
		t.Fatal(err)
	}
	got := st.CachedInfo().Config
	if got.MaxMsgsPerSubject != 5 || got.MaxBytes != 1<<20 {
		t.Errorf("operator settings lost: history %d max_bytes %d", got.MaxMsgsPerSubject, got.MaxBytes)
	}
	if got.Description == "ops" {
		t.Error("description not brought to adgate's")
	}
	if _, err := q.Pause(ctx, Key{App: "a", Partner: "p"}, "", "admin", time.Now()); err != nil {
		t.Fatalf("pause on the operator's bucket: %v", err)
	}
}

func TestControlKeys(t *testing.T) {
	valid := regexp.MustCompile(`^[-/_=\.a-zA-Z0-9]+$`) // the client's rule for KV keys
	for _, k := range []Key{{"demo", "clevertap"}, {"my.app", "part*ner"}, {"a b", ">"}, {"", "=41"}, {"ünï", "x.y.z"}} {
		key := controlKey(k)
		if !valid.MatchString(key) {
			t.Errorf("%+v -> %q: not a valid KV key", k, key)
		}
		if got, ok := parseControlKey(key); !ok || got != k {
			t.Errorf("%+v -> %q -> %+v %v", k, key, got, ok)
		}
	}
	if controlKey(Key{"a.b", "c"}) == controlKey(Key{"a", "b.c"}) {
		t.Error("distinct pairs share a key")
	}
}

// The watch survives the server restarting under it, and a key deleted
// behind adgate's back (nats kv del) resumes the pair.
func TestControlWatchAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, dir, 0)
	port := serverPort(t, ns)
	cfg := testConfig("")
	cfg.URL, cfg.Token = ns.ClientURL(), "ext-token"
	q := openQueue(t, cfg)
	runQueue(t, q, newRecorder(func(Job, int) Outcome { return Delivered() }))
	k := Key{App: "a", Partner: "p"}
	pausedAt := time.Now()
	if _, err := q.Pause(context.Background(), k, "", "admin", pausedAt); err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	ns = startNATS(t, dir, port)
	defer ns.Shutdown()

	js := operatorJS(t, ns.ClientURL(), "ext-token")
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, "ADGATE_CONTROL")
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, controlKey(k)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := q.Control(k); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the queue did not see the key deleted after the restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := q.PausedAt(k, pausedAt.Add(time.Millisecond)); !ok {
		t.Error("the pause ended by the delete is not remembered")
	}
}

// A snapshot read while this process was writing never rolls a newer
// record back, and removes only keys older than the read.
func TestControlsReplaceByRevision(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	paused := func(rev uint64) Pause { return Pause{Paused: true, PausedAt: t0, Revision: rev} }
	resumed := func(rev uint64) Pause {
		return Pause{PausedAt: t0, ResumedAt: t0.Add(time.Hour), Revision: rev}
	}
	k := Key{App: "a", Partner: "p"}
	for _, tc := range []struct {
		name       string
		have       *Pause
		snap       snapshot
		wantKnown  bool
		wantPaused bool
	}{
		{"newer local resume kept over an older snapshot", ptr(resumed(3)), snapshot{entries: map[Key]snapEntry{k: {p: paused(2)}}, lastSeq: 2}, true, false},
		{"newer snapshot applied", ptr(paused(2)), snapshot{entries: map[Key]snapEntry{k: {p: resumed(3)}}, lastSeq: 3}, true, false},
		{"key written after the read began kept", ptr(paused(5)), snapshot{entries: map[Key]snapEntry{}, lastSeq: 4}, true, true},
		{"key gone before the read removed", ptr(paused(2)), snapshot{entries: map[Key]snapEntry{}, lastSeq: 4}, false, false},
		{"newer delete marker removes", ptr(paused(2)), snapshot{entries: map[Key]snapEntry{k: {p: Pause{Revision: 3}, deleted: true}}, lastSeq: 3}, false, false},
		{"older delete marker ignored", ptr(paused(4)), snapshot{entries: map[Key]snapEntry{k: {p: Pause{Revision: 3}, deleted: true}}, lastSeq: 3}, true, true},
		{"unknown key paused", nil, snapshot{entries: map[Key]snapEntry{k: {p: paused(1)}}, lastSeq: 1}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newControls()
			if tc.have != nil {
				c.apply(k, *tc.have)
			}
			c.replace(tc.snap, t0.Add(2*time.Hour))
			p, ok := c.get(k)
			if ok != tc.wantKnown || p.Paused != tc.wantPaused {
				t.Fatalf("after replace: %+v known %v, want known %v paused %v", p, ok, tc.wantKnown, tc.wantPaused)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
