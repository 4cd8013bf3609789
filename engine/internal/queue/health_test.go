package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestProbe: the write probe fails while the work stream refuses writes
// (here: full, as a stream at its byte limit is) and passes again once it
// accepts them; a passing probe leaves nothing queued.
func TestProbe(t *testing.T) {
	q := openQueue(t, testConfig(t.TempDir()))
	ctx := context.Background()
	if err := q.Probe(ctx); err != nil {
		t.Fatalf("probe of a healthy queue: %v", err)
	}
	if d := waitDepth(t, q, 0, 0); len(d.ByPartner) != 0 {
		t.Errorf("probe left work behind: %+v", d)
	}
	setMaxBytes := func(n int64) {
		t.Helper()
		info, err := q.st().work.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sc := info.Config
		sc.MaxBytes = n
		if _, err := q.js.UpdateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	setMaxBytes(1)
	err := q.Probe(ctx)
	if err == nil || !strings.Contains(err.Error(), "write probe") {
		t.Fatalf("probe of a full stream: %v, want a write probe error", err)
	}
	if q.Enqueue(ctx, job("app", "p", "id-1")) == nil {
		t.Fatal("the test's full stream still accepts an enqueue; the probe test proves nothing")
	}
	setMaxBytes(-1)
	if err := q.Probe(ctx); err != nil {
		t.Fatalf("probe after the stream has room again: %v", err)
	}
}

// TestUndecodableReported: a work message whose job cannot be decoded is
// logged as lost and handed to OnLoss with its sequence (it is kept, raw,
// as a dead letter), rather than only counted among the dead letters.
func TestUndecodableReported(t *testing.T) {
	var (
		mu     sync.Mutex
		losses []Loss
	)
	cfg := testConfig(t.TempDir())
	cfg.OnLoss = func(l Loss) {
		mu.Lock()
		losses = append(losses, l)
		mu.Unlock()
	}
	q := openQueue(t, cfg)
	ctx := context.Background()
	ack, err := q.js.Publish(ctx, q.workSubject("app", "p"), []byte("\x00not a job"))
	if err != nil {
		t.Fatal(err)
	}
	runQueue(t, q, newRecorder(func(Job, int) Outcome { return Delivered() }))
	waitDepth(t, q, 0, 1)
	mu.Lock()
	defer mu.Unlock()
	if len(losses) != 1 {
		t.Fatalf("losses %+v, want one", losses)
	}
	if l := losses[0]; l.Stream != "ADGATE_PB" || l.Reason != "undecodable" || l.Msgs != 1 || len(l.Seqs) != 1 || l.Seqs[0] != ack.Sequence || l.Detail == "" {
		t.Errorf("loss %+v, want the undecodable message at sequence %d", l, ack.Sequence)
	}
}

// TestLostDataReported: postbacks lost to a message block corrupted while
// the server was stopped are reported at the next Open, with their
// sequences. The server itself only logs a warning and carries on with
// fewer messages (its Lost list stays empty).
func TestLostDataReported(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	q := openQueue(t, cfg)
	ctx := context.Background()
	var jobs []Job
	for i := range 20 {
		jobs = append(jobs, job("app", "p", fmt.Sprintf("id-%d", i)))
	}
	if err := q.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	blocks, err := filepath.Glob(filepath.Join(dir, "jetstream", "jetstream", "*", "streams", "ADGATE_PB", "msgs", "*.blk"))
	if err != nil || len(blocks) != 1 {
		t.Fatalf("message blocks %v (%v), want one", blocks, err)
	}
	b, err := os.ReadFile(blocks[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 2; i < len(b)/2+8; i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(blocks[0], b, 0o600); err != nil {
		t.Fatal(err)
	}

	var (
		mu     sync.Mutex
		losses []Loss
	)
	cfg.OnLoss = func(l Loss) {
		mu.Lock()
		losses = append(losses, l)
		mu.Unlock()
	}
	q2 := openQueue(t, cfg)
	if err := q2.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := q2.st().work.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(losses) != 1 {
		t.Fatalf("losses %+v, want one report (stream now %+v)", losses, info.State)
	}
	l := losses[0]
	if l.Stream != "ADGATE_PB" || l.Reason != "store" || l.Msgs == 0 || len(l.Seqs) != l.Msgs || l.Seqs[len(l.Seqs)-1] != 20 {
		t.Errorf("loss %+v", l)
	}
	// What is left plus what was reported is what was enqueued.
	if got := int(info.State.Msgs) + l.Msgs; got != len(jobs) {
		t.Errorf("%d messages left + %d reported lost = %d, want the %d enqueued", info.State.Msgs, l.Msgs, got, len(jobs))
	}
}
