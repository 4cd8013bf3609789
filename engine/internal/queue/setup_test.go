package queue

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adgate/adgate/engine/internal/natscluster"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// operatorJS connects to a test server as an operator would, with the nats
// CLI, outside adgate.
func operatorJS(t *testing.T, url, token string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.Token(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func workStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: "ADGATE_PB", Subjects: []string{"adgate.pb.>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Discard: jetstream.DiscardNew,
	}
}

// An operator's settings on an existing stream survive a start: limits
// adgate does not own stay, a longer max age is not shortened; adgate's
// own fields (description, duplicate window) are brought to its values.
func TestOpenKeepsOperatorSettings(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	defer ns.Shutdown()
	js := operatorJS(t, ns.ClientURL(), "ext-token")
	ctx := context.Background()
	sc := workStreamConfig()
	sc.Description = "made by ops"
	sc.MaxBytes = 64 << 20
	sc.MaxAge = 30 * 24 * time.Hour
	sc.Duplicates = time.Minute
	if _, err := js.CreateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("")
	cfg.URL, cfg.Token, cfg.Replicas = ns.ClientURL(), "ext-token", 1
	openQueue(t, cfg)
	st, err := js.Stream(ctx, "ADGATE_PB")
	if err != nil {
		t.Fatal(err)
	}
	got := st.CachedInfo().Config
	if got.MaxBytes != 64<<20 || got.MaxAge != 30*24*time.Hour {
		t.Errorf("operator limits changed: max_bytes %d max_age %v", got.MaxBytes, got.MaxAge)
	}
	if got.Duplicates != 10*time.Minute || got.Description != "adgate postbacks waiting for delivery" {
		t.Errorf("adgate's fields not applied: duplicates %v description %q", got.Duplicates, got.Description)
	}
}

// A stream adgate cannot use refuses the start with the difference named,
// and is left as it was.
func TestOpenRefusesIncompatibleStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*jetstream.StreamConfig)
		field  string
		detail string
		fix    string
	}{
		{"retention", func(c *jetstream.StreamConfig) { c.Retention = jetstream.LimitsPolicy }, "retention", "with retention Limits, adgate needs WorkQueue", "nats stream rm"},
		{"subjects", func(c *jetstream.StreamConfig) { c.Subjects = []string{"other.>"} }, "subjects", `"adgate.pb.>" among them`, "nats stream edit"},
		{"storage", func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }, "storage", "with storage Memory, adgate needs File", "nats stream rm"},
		{"deny_delete", func(c *jetstream.StreamConfig) { c.DenyDelete = true }, "deny_delete", "with deny_delete set, adgate needs unset", "nats stream edit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := startNATS(t, t.TempDir(), 0)
			defer ns.Shutdown()
			js := operatorJS(t, ns.ClientURL(), "ext-token")
			ctx := context.Background()
			sc := workStreamConfig()
			tc.edit(&sc)
			if _, err := js.CreateStream(ctx, sc); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig("")
			cfg.URL, cfg.Token = ns.ClientURL(), "ext-token"
			octx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			q, err := Open(octx, cfg, testLogger(t))
			if err == nil {
				_ = q.Close()
				t.Fatal("Open succeeded")
			}
			var se *SetupError
			if !errors.As(err, &se) || se.Field != tc.field || se.Name != "ADGATE_PB" {
				t.Fatalf("error %v, want a SetupError on field %s", err, tc.field)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.detail) || !strings.Contains(msg, tc.fix) {
				t.Errorf("error %q does not name %q and the fix %q", msg, tc.detail, tc.fix)
			}
			st, err := js.Stream(ctx, "ADGATE_PB")
			if err != nil {
				t.Fatal(err)
			}
			if got := st.CachedInfo().Config; got.Retention != sc.Retention || got.Storage != sc.Storage || got.Subjects[0] != sc.Subjects[0] {
				t.Errorf("stream changed: %+v", got)
			}
		})
	}
}

// Many instances starting at once on a fresh server all start: "already
// exists" from the one that won the race is success.
func TestConcurrentOpen(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	defer ns.Shutdown()
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	qs := make([]*Queue, n)
	for i := range n {
		wg.Go(func() {
			cfg := testConfig("")
			cfg.URL, cfg.Token = ns.ClientURL(), "ext-token"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			qs[i], errs[i] = Open(ctx, cfg, testLogger(t))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
			continue
		}
		_ = qs[i].Close()
	}
}

// The queue's connection secrets never reach its log or its errors, even
// when the connection fails.
func TestSecretsNotLogged(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	defer ns.Shutdown()
	dir := t.TempDir()
	const token = "tok-9f8e7d6c5b4a39281706"
	tokenFile := filepath.Join(dir, "nats.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An nkey seed file whose seed the server does not know.
	const seed = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU"
	seedFile := filepath.Join(dir, "adgate.nk")
	if err := os.WriteFile(seedFile, []byte(seed+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"token file, wrong", func(c *Config) { c.TokenFile = tokenFile }},
		{"nkey seed, unknown", func(c *Config) { c.NKeySeedFile = seedFile }},
		{"token in URL", func(c *Config) { c.URL = strings.Replace(c.URL, "nats://", "nats://"+token+"@", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuf
			cfg := testConfig("")
			cfg.URL = ns.ClientURL()
			tc.edit(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			q, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err == nil {
				_ = q.Close()
				t.Fatal("Open succeeded with credentials the server does not accept")
			}
			all := logs.String() + "\n" + err.Error()
			if !strings.Contains(all, "queue") {
				t.Fatalf("nothing logged or returned: %q", all)
			}
			for _, secret := range []string{token, seed, seed[:20]} {
				if strings.Contains(all, secret) {
					t.Errorf("secret %q in the log or error:\n%s", secret, all)
				}
			}
		})
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCluster starts the sample cluster of examples/cluster on free ports.
func startCluster(t *testing.T) *natscluster.Cluster {
	t.Helper()
	t.Setenv("ADGATE_NATS_TOKEN", "cluster-test-token")
	files, err := filepath.Glob("../../../examples/cluster/n*.conf")
	if err != nil || len(files) != 3 {
		t.Fatalf("sample cluster configs: %v %v", files, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := natscluster.Start(ctx, natscluster.Options{Files: files, Dir: t.TempDir(), FreePorts: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// On a cluster, instances starting together all start; replicas apply to
// the streams and to the consumers adgate creates, scale an existing
// stream up, and never down.
func TestClusterReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	c := startCluster(t)
	js := operatorJS(t, c.URLs(), c.Token())
	ctx := context.Background()
	// The operator made the dead-letter stream with one replica.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "ADGATE_DEAD", Subjects: []string{"adgate.dead.>"}, Storage: jetstream.FileStorage, Replicas: 1,
	}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("")
	cfg.URL, cfg.Token, cfg.Replicas = c.URLs(), c.Token(), 3
	// Three instances start at once on the fresh work stream (the case
	// that used to end every loser with "context deadline exceeded").
	qs := make([]*Queue, 3)
	var wg sync.WaitGroup
	for i := range qs {
		wg.Go(func() {
			octx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			var err error
			if qs[i], err = Open(octx, cfg, testLogger(t)); err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for _, q := range qs[1:] {
		if q != nil {
			_ = q.Close()
		}
	}
	q := qs[0]
	if q == nil {
		t.FailNow()
	}
	t.Cleanup(func() { _ = q.Close() })
	replicas := func(stream string) int {
		t.Helper()
		st, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config.Replicas
	}
	if w, d, e := replicas("ADGATE_PB"), replicas("ADGATE_DEAD"), replicas("ADGATE_EV"); w != 3 || d != 3 || e != 3 {
		t.Fatalf("replicas: work %d, dead %d, events %d; want 3, 3 and 3 (the dead stream scaled up)", w, d, e)
	}
	// A render consumer is made like every other consumer: with the
	// event stream's replicas.
	if err := q.SetTopology(ctx, Topology{Partners: []Key{{"a", "p"}}}); err != nil {
		t.Fatal(err)
	}
	rci, err := js.Consumer(ctx, "ADGATE_EV", appConsumerName("a"))
	if err != nil {
		t.Fatal(err)
	}
	if n := rci.CachedInfo().Config.Replicas; n != 3 {
		t.Errorf("render consumer replicas %d, want 3", n)
	}
	r := newRecorder(func(Job, int) Outcome { return Delivered() })
	stop := runQueue(t, q, r)
	if err := q.Enqueue(ctx, job("a", "p", "one")); err != nil {
		t.Fatal(err)
	}
	r.await(t, 1)
	stop()
	ci, err := js.Consumer(ctx, "ADGATE_PB", consumerName(q.workSubject("a", "p")))
	if err != nil {
		t.Fatal(err)
	}
	if n := ci.CachedInfo().Config.Replicas; n != 3 {
		t.Errorf("consumer replicas %d, want 3", n)
	}
	_ = q.Close()

	// A start asking for fewer replicas keeps the three.
	cfg.Replicas = 1
	openQueue(t, cfg)
	if w := replicas("ADGATE_PB"); w != 3 {
		t.Errorf("work stream scaled down to %d", w)
	}
}

// mergeStream's rules field by field, without a server.
func TestMergeStream(t *testing.T) {
	want := workStreamConfig()
	want.Description, want.MaxAge, want.Duplicates, want.Replicas = "adgate's", 7*24*time.Hour, 10*time.Minute, 3
	want.Placement = &jetstream.Placement{Cluster: "east"}
	for _, tc := range []struct {
		name            string
		edit            func(*jetstream.StreamConfig)
		withR, withP    bool
		unstated        bool
		replicas        int
		maxAge          time.Duration
		placement       string
		changes, refuse string
	}{
		{name: "identical", edit: func(*jetstream.StreamConfig) {}, withR: true, withP: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east"},
		{name: "scaled up", edit: func(c *jetstream.StreamConfig) { c.Replicas = 1 }, withR: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east", changes: "replicas 1 -> 3"},
		{name: "never down", edit: func(c *jetstream.StreamConfig) { c.Replicas = 5 }, withR: true, replicas: 5, maxAge: 7 * 24 * time.Hour, placement: "east"},
		{name: "replicas not configured", edit: func(c *jetstream.StreamConfig) { c.Replicas = 1 }, replicas: 1, maxAge: 7 * 24 * time.Hour, placement: "east"},
		{name: "longer max age kept", edit: func(c *jetstream.StreamConfig) { c.MaxAge = 30 * 24 * time.Hour }, withR: true, replicas: 3, maxAge: 30 * 24 * time.Hour, placement: "east"},
		{name: "unlimited max age kept", edit: func(c *jetstream.StreamConfig) { c.MaxAge = 0 }, withR: true, replicas: 3, maxAge: 0, placement: "east"},
		{name: "shorter max age raised", edit: func(c *jetstream.StreamConfig) { c.MaxAge = time.Hour }, withR: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east", changes: "max_age 1h0m0s -> 168h0m0s"},
		{name: "placement applied", edit: func(c *jetstream.StreamConfig) { c.Placement = nil }, withP: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east", changes: `placement none -> cluster="east" tags=[]`},
		{name: "placement not configured", edit: func(c *jetstream.StreamConfig) { c.Placement = &jetstream.Placement{Cluster: "west"} }, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "west"},
		{name: "operator limit kept", edit: func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 30; c.Description = "ops" }, withR: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east", changes: `description "ops" -> "adgate's"`},
		{name: "extra subject kept", edit: func(c *jetstream.StreamConfig) { c.Subjects = append(c.Subjects, "ops.>") }, withR: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east"},
		{name: "sealed", edit: func(c *jetstream.StreamConfig) { c.Sealed = true }, refuse: "sealed"},
		{name: "window stated is applied", edit: func(c *jetstream.StreamConfig) { c.Duplicates = 2 * time.Minute }, withR: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east", changes: "duplicate_window 2m0s -> 10m0s"},
		// History and the archive state no window: the server's default
		// stays, instead of an update to zero at every start.
		{name: "no window stated", unstated: true, edit: func(c *jetstream.StreamConfig) { c.Duplicates = 2 * time.Minute }, withR: true, replicas: 3, maxAge: 7 * 24 * time.Hour, placement: "east"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := want
			have.Subjects = slices.Clone(want.Subjects)
			tc.edit(&have)
			w := want
			if tc.unstated {
				w.Duplicates = 0
			}
			m, err := mergeStream(have, w, tc.withR, tc.withP)
			if tc.refuse != "" {
				var se *SetupError
				if !errors.As(err, &se) || se.Field != tc.refuse {
					t.Fatalf("err %v, want a refusal on %s", err, tc.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Replicas != tc.replicas || m.MaxAge != tc.maxAge || m.Placement == nil || m.Placement.Cluster != tc.placement || m.MaxBytes != have.MaxBytes {
				t.Errorf("merged replicas %d max_age %v placement %v max_bytes %d", m.Replicas, m.MaxAge, placementString(m.Placement), m.MaxBytes)
			}
			if got := streamChanges(have, m); got != tc.changes {
				t.Errorf("changes %q, want %q", got, tc.changes)
			}
		})
	}
}

// A durable consumer with adgate's name but another filter is refused,
// with the fix, and left as it is.
func TestConsumerRefused(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	defer ns.Shutdown()
	cfg := testConfig("")
	cfg.URL, cfg.Token = ns.ClientURL(), "ext-token"
	q := openQueue(t, cfg)
	ctx := context.Background()
	subj := q.workSubject("a", "p")
	js := operatorJS(t, ns.ClientURL(), "ext-token")
	if _, err := js.CreateOrUpdateConsumer(ctx, "ADGATE_PB", jetstream.ConsumerConfig{
		Durable: consumerName(subj), FilterSubject: q.workSubject("a", "other"), AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	_, err := q.consumer(ctx, subj)
	var se *SetupError
	if !errors.As(err, &se) || se.Kind != "consumer" || se.Field != "filter_subject" || !strings.Contains(err.Error(), "nats consumer rm") {
		t.Fatalf("err %v, want a consumer refusal on filter_subject naming the fix", err)
	}
	c, err := js.Consumer(ctx, "ADGATE_PB", consumerName(subj))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.CachedInfo().Config.FilterSubject; f != q.workSubject("a", "other") {
		t.Errorf("consumer filter changed to %q", f)
	}
}
