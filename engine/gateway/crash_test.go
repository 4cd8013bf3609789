package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildAdgate compiles the adgate binary into a temp dir.
func buildAdgate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "adgate")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/adgate/adgate/cmd/adgate")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is a running `adgate serve` process.
type child struct {
	cmd  *exec.Cmd
	addr string
	logs *syncBuffer
}

func startChild(t *testing.T, bin, cfg string) *child {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--log-level", "debug")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, logs: &syncBuffer{}}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = c.logs.Write(append(line, '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "adgate gateway listening" {
				addr <- rec.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		c.addr = a
	case <-time.After(20 * time.Second):
		t.Fatalf("adgate serve did not start:\n%s", c.logs.String())
	}
	waitReady(t, "http://"+c.addr)
	return c
}

// TestCrashRecovery kills a real `adgate serve` with SIGKILL in the middle
// of a stream of events, starts it again on the same data dir, and checks
// that every postback of every event that got a 202 reaches the partner at
// least once. Duplicates are allowed and identified by Idempotency-Key.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the adgate binary")
	}
	bin := buildAdgate(t)
	sink := newCapture(t)
	// A little latency keeps deliveries in flight when the kill lands.
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(5 * time.Millisecond)
		return false
	})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, sink.host(), envOpts{})
	first := startChild(t, bin, cfg)

	var (
		mu       sync.Mutex
		accepted = map[string][]string{} // event id -> postback ids
	)
	client := &http.Client{Timeout: 5 * time.Second}
	post := func(base string, id int64) bool {
		body := mkEvent(id, "INSTALL", nil)
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/v1/apps/shop/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer shop-token-123")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusAccepted {
			return false
		}
		var pl Plan
		if err := json.Unmarshal(b, &pl); err != nil {
			t.Errorf("202 with an unreadable body %s", b)
			return false
		}
		var ids []string
		for _, pb := range pl.Postbacks {
			ids = append(ids, pb.ID)
		}
		mu.Lock()
		accepted[pl.EventID] = ids
		mu.Unlock()
		return true
	}

	// Stream events from two senders; kill the gateway once 40 were
	// accepted, while requests and deliveries are in flight.
	base := "http://" + first.addr
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				post(base, 100000*int64(g+1)+i)
			}
		}()
	}
	waitFor(t, "40 accepted events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) >= 40
	})
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	close(killed)
	wg.Wait()
	_ = first.cmd.Wait()
	mu.Lock()
	n := len(accepted)
	want := map[string]bool{}
	for _, ids := range accepted {
		for _, id := range ids {
			want[id] = true
		}
	}
	mu.Unlock()
	before := len(sink.matching("/"))
	t.Logf("killed after %d accepted events (%d postbacks); %d requests had reached the sink", n, len(want), before)

	second := startChild(t, bin, cfg)
	// Events sent after the restart are delivered too.
	if !post("http://"+second.addr, 999999) {
		t.Fatal("the restarted gateway did not accept an event")
	}
	mu.Lock()
	for _, id := range accepted["999999"] {
		want[id] = true
	}
	mu.Unlock()

	deadline := time.Now().Add(40 * time.Second)
	var missing []string
	for {
		seen := map[string]int{}
		for _, r := range sink.matching("/") {
			seen[r.Header.Get("Idempotency-Key")]++
		}
		missing = missing[:0]
		for id := range want {
			if seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			dups := 0
			for _, c := range seen {
				dups += c - 1
			}
			t.Logf("all %d postbacks delivered after the restart; %d duplicate deliveries (same Idempotency-Key)", len(want), dups)
			// A kill loses nothing, so the queue's loss check must not
			// claim otherwise (it compares with marks of a run that did
			// not close cleanly).
			if logs := second.logs.String(); strings.Contains(logs, "postbacks lost") || strings.Contains(logs, "dead letters lost") {
				t.Errorf("the restart reported lost queue data after a kill:\n%s", tail(logs, 30))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted postbacks never delivered, e.g. %s\nsecond run logs:\n%s",
				len(missing), len(want), strings.Join(missing[:min(3, len(missing))], ", "), tail(second.logs.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestGracefulShutdown reloads a real `adgate serve` with SIGHUP, then
// sends it SIGTERM while
// deliveries are in flight: it stops taking events, finishes what is in
// flight within the shutdown timeout, exits 0, and the next start delivers
// what was left queued.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the adgate binary")
	}
	bin := buildAdgate(t)
	sink := newCapture(t)
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(200 * time.Millisecond)
		return false
	})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, sink.host(), envOpts{})
	first := startChild(t, bin, cfg)
	base := "http://" + first.addr
	// SIGHUP reloads (the files are unchanged, so the watcher would not).
	if err := first.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a reload on SIGHUP", func() bool { return strings.Contains(first.logs.String(), "config reloaded") })
	want := map[string]bool{}
	for i := range 20 {
		code, b := postEvent(t, base, mkEvent(int64(300+i), "INSTALL", nil))
		if code != http.StatusAccepted {
			t.Fatalf("ingest %d: %d %s", i, code, b)
		}
		var pl Plan
		if err := json.Unmarshal(b, &pl); err != nil {
			t.Fatal(err)
		}
		for _, pb := range pl.Postbacks {
			want[pb.ID] = true
		}
	}
	waitFor(t, "deliveries in flight", func() bool { return len(sink.matching("/")) >= 1 })
	start := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := first.cmd.Wait()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("adgate serve exited with %v after SIGTERM\n%s", err, tail(first.logs.String(), 20))
	}
	// shutdown_timeout is 3s in testdata/gateway.yaml.
	if took > 10*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	logs := first.logs.String()
	if !strings.Contains(logs, "shutting down") || !strings.Contains(logs, "shutdown complete") {
		t.Errorf("shutdown not logged:\n%s", tail(logs, 20))
	}
	delivered := len(sink.matching("/"))
	t.Logf("SIGTERM: exited after %v; %d of %d postbacks delivered before exit", took.Round(time.Millisecond), delivered, len(want))
	if code, _ := postEvent(t, base, mkEvent(999, "INSTALL", nil)); code == http.StatusAccepted {
		t.Error("an event was accepted after shutdown")
	}

	second := startChild(t, bin, cfg)
	_ = second
	waitFor(t, "every postback after the restart", func() bool {
		seen := map[string]bool{}
		for _, r := range sink.matching("/") {
			seen[r.Header.Get("Idempotency-Key")] = true
		}
		for id := range want {
			if !seen[id] {
				return false
			}
		}
		return true
	})
}

// postEvent posts one event for app shop; code 0 means no answer.
func postEvent(t *testing.T, base string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/apps/shop/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer shop-token-123")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
