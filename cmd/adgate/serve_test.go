package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a command's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeDemo runs the quick start: `adgate serve --demo` and one curl of
// examples/events/install.json, and checks that the CleverTap and the
// attributed partner's postbacks are printed.
func TestServeDemo(t *testing.T) {
	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, stdio{out: &stdout, errOut: &stderr})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve --demo exited %d: %s", code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("serve --demo did not stop")
		}
	}()
	addrRe := regexp.MustCompile(`gateway on (http://[0-9.:]+)`)
	var base string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" {
		if m := addrRe.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	body, err := os.ReadFile("../../examples/events/install.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/apps/demo/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer demo-token")
	var resp *http.Response
	for {
		// The listener is up before the gateway reports ready.
		resp, err = http.DefaultClient.Do(req)
		if err == nil && resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(b), `"partner":"clevertap"`) || !strings.Contains(string(b), `"partner":"jampp"`) {
		t.Fatalf("ingest: %d %s", resp.StatusCode, b)
	}
	// Every other example is accepted too, the batch as a batch.
	for _, f := range []string{"open.json", "purchase.json", "signup.json", "batch.ndjson"} {
		b, err := os.ReadFile("../../examples/events/" + f)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/apps/demo/events", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer demo-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || (f == "batch.ndjson") != strings.Contains(string(out), `"accepted":4`) {
			t.Errorf("%s: %d %s", f, resp.StatusCode, out)
		}
	}
	// /metrics takes the demo's documented metrics token, and nothing less.
	for _, tc := range []struct {
		tok  string
		code int
	}{{"", http.StatusUnauthorized}, {"demo-token", http.StatusForbidden}, {"demo-metrics-token", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
		if tc.tok != "" {
			req.Header.Set("Authorization", "Bearer "+tc.tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("GET /metrics with %q: %d, want %d", tc.tok, resp.StatusCode, tc.code)
		}
	}
	if !strings.Contains(stdout.String(), "Bearer demo-metrics-token' http://") {
		t.Errorf("the demo does not say how to scrape /metrics:\n%s", stdout.String())
	}
	for _, want := range []string{`"X-Adgate-Original-Host":"api.clevertap.com"`, `"X-Adgate-Original-Host":"tracking.jampp.com"`, "delivered clevertap", "delivered jampp", "custom_event", "&account_token=demo%2Btoken%2Fwith%3Dspecials&"} {
		for !strings.Contains(stdout.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("demo output lacks %s:\n%s", want, stdout.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestServeUsageAndStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"serve"}, 2, "--config FILE is required"},
		{"stray argument", []string{"serve", "--config", "x.yaml", "extra"}, 2, "unexpected argument"},
		{"bad log level", []string{"serve", "--demo", "--log-level", "loud"}, 2, "--log-level"},
		{"missing config file", []string{"serve", "--config", "does-not-exist.yaml"}, 1, "does-not-exist.yaml"},
		{"invalid config", []string{"serve", "--config", "../../engine/internal/config/testdata/bad/unknown_key.yaml"}, 1, `unknown key "scop"`},
		{"address in use", []string{"serve", "--demo", "--listen", busy.Addr().String(), "--data-dir", t.TempDir()}, 1, "listen on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr lockedBuffer
			if code := run(context.Background(), tc.args, stdio{out: &stdout, errOut: &stderr}); code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

func TestDurationText(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: durationText}))
	log.Info("x", "deadline", 10*time.Second, "latency", 1500*time.Microsecond, "n", 3)
	for _, want := range []string{`"deadline":"10s"`, `"latency":"1.5ms"`, `"n":3`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %s lacks %s", buf.String(), want)
		}
	}
}
