package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSinkChildProcess runs `adgate sink` as a real child process (this
// test binary re-executed), sends it requests, stops it with SIGTERM and
// reads the JSON lines it wrote.
func TestSinkChildProcess(t *testing.T) {
	if os.Getenv("ADGATE_SINK_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		args := strings.Split(os.Getenv("ADGATE_SINK_ARGS"), "\x1f")
		os.Exit(run(ctx, append([]string{"sink"}, args...), stdio{in: os.Stdin, out: os.Stdout, errOut: os.Stderr}))
	}
	out := filepath.Join(t.TempDir(), "captured.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSinkChildProcess$")
	cmd.Env = append(os.Environ(), "ADGATE_SINK_CHILD=1",
		"ADGATE_SINK_ARGS="+strings.Join([]string{"--addr", "127.0.0.1:0", "--out", out, "--fail-first", "1", "--status", "202"}, "\x1f"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	lines := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "adgate sink: listening on "); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatal("the sink never said where it listens")
	}
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		rest <- b.String()
	}()

	var codes []int
	for _, body := range []string{"", `{"e":1}`} {
		resp, err := http.Post("http://"+addr+"/pb?k=v", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 503 || codes[1] != 202 {
		t.Fatalf("statuses %v, want [503 202]", codes)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Read stderr to EOF (the child closing it on exit) before cmd.Wait:
	// Wait closes the pipe's read end, and calling it while the scanner is
	// still reading raced with that read and lost the final lines.
	var tail string
	select {
	case tail = <-rest:
	case <-time.After(15 * time.Second):
		t.Fatal("sink did not stop on SIGTERM")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sink exited with %v; stderr: %s", err, tail)
	}
	if !strings.Contains(tail, "2 requests captured") {
		t.Errorf("stderr tail %q", tail)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(recs) != 2 {
		t.Fatalf("%d lines in %s", len(recs), out)
	}
	var second struct {
		Method, URL, Body string
		Headers           map[string]string
		Status            int
	}
	if err := json.Unmarshal(recs[1], &second); err != nil {
		t.Fatal(err)
	}
	if second.Method != "POST" || second.URL != "/pb?k=v" || second.Body != `{"e":1}` ||
		second.Headers["Content-Type"] != "application/json" || second.Status != 202 {
		t.Fatalf("record %+v", second)
	}
}

func TestSinkFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--status", "99"},
		{"--fail-rate", "1.5"},
		{"--latency", "-1s"},
		{"--fail-first", "-2"},
		{"extra"},
		{"--nope"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"sink"}, args...), stdio{out: &stdout, errOut: &stderr}); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"sink", "--help"}, stdio{out: &stdout, errOut: &stderr}); code != 0 || !strings.Contains(stdout.String(), "--fail-rate") {
		t.Errorf("--help: exit %d, %q", code, stdout.String())
	}
}
