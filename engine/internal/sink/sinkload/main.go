// Command sinkload drives `adgate sink` over loopback with a bounded number
// of requests and prints, per block of requests, the rate the sink held and
// its resident memory (Linux /proc), so a slowdown or growth with the
// request count shows. It exits 1 when a later block falls below half the
// rate of the first full-speed block or the sink's memory more than doubles
// after the first block.
//
//	go build -o /tmp/adgate ./cmd/adgate
//	go run ./engine/internal/sink/sinkload -bin /tmp/adgate -n 1000000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sinkload:", err)
		os.Exit(1)
	}
}

type block struct {
	done int64
	at   time.Time
}

func run() error {
	bin := flag.String("bin", "", "path of the adgate binary (required)")
	n := flag.Int64("n", 1_000_000, "requests to send")
	size := flag.Int64("block", 100_000, "requests per reported block")
	conc := flag.Int("c", 16, "concurrent connections")
	out := flag.String("out", os.DevNull, "the sink's --out file")
	limit := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if *bin == "" || *n <= 0 || *size <= 0 || *conc <= 0 {
		flag.Usage()
		return errors.New("-bin is required; -n, -block and -c must be positive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()

	cmd := exec.Command(*bin, "sink", "--addr", "127.0.0.1:0", "--out", *out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the sink: %w", err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stderr)
	var addr string
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "adgate sink: listening on "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		return errors.New("the sink did not say where it listens")
	}
	rest := make(chan string, 1)
	go func() {
		var last string
		for lines.Scan() {
			last = lines.Text()
		}
		rest <- last
	}()

	tr := &http.Transport{MaxIdleConns: *conc, MaxIdleConnsPerHost: *conc}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		next, done atomic.Int64
		failed     atomic.Value
		wg         sync.WaitGroup
	)
	blocks := make(chan block, *n / *size + 1)
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > *n || ctx.Err() != nil {
					return
				}
				url := fmt.Sprintf("http://%s/pb/acme?click_id=c%d&event=install&os=android", addr, i)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := client.Do(req)
				if err != nil {
					failed.CompareAndSwap(nil, err)
					cancel()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if d := done.Add(1); d%*size == 0 || d == *n {
					blocks <- block{d, time.Now()}
				}
			}
		})
	}
	go func() { wg.Wait(); close(blocks) }()

	fmt.Printf("%10s %10s %10s\n", "requests", "req/s", "rss_mib")
	var (
		prev     = block{0, start}
		firstHz  float64
		firstRSS int64
		verdict  []string
	)
	for b := range blocks {
		hz := float64(b.done-prev.done) / b.at.Sub(prev.at).Seconds()
		rss, err := rssKiB(cmd.Process.Pid)
		if err != nil {
			return err
		}
		fmt.Printf("%10d %10.0f %10.1f\n", b.done, hz, float64(rss)/1024)
		// The first block includes connection set-up and warm-up: compare
		// with the second.
		switch {
		case prev.done == *size:
			firstHz, firstRSS = hz, rss
		case firstHz > 0 && b.done-prev.done == *size && hz < firstHz/2:
			verdict = append(verdict, fmt.Sprintf("block ending at %d: %.0f req/s, under half of %.0f", b.done, hz, firstHz))
		}
		if firstRSS > 0 && rss > 2*firstRSS {
			verdict = append(verdict, fmt.Sprintf("at %d requests the sink holds %d KiB, more than twice %d KiB", b.done, rss, firstRSS))
		}
		prev = b
	}
	if err, _ := failed.Load().(error); err != nil {
		return fmt.Errorf("after %d requests: %w", done.Load(), err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stopped after %d of %d requests: %w", done.Load(), *n, ctx.Err())
	}
	total := time.Since(start)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("the sink: %w", err)
	}
	fmt.Printf("%d requests in %s (%.0f req/s); the sink said: %s\n", *n, total.Round(time.Millisecond), float64(*n)/total.Seconds(), <-rest)
	if len(verdict) > 0 {
		return errors.New(strings.Join(verdict, "; "))
	}
	return nil
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the sink's memory: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}
