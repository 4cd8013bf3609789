package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/adgate/adgate/engine/gateway"
)

const sinkUsage = `Usage: adgate sink --addr HOST:PORT [--out FILE] [--fail-rate R] [--latency D] [--status CODE]

Runs a capture server that answers postbacks and writes one JSON line per request
({time, method, url, headers, body, status, seq}) to FILE or stdout. Point
` + "`adgate serve --deliver-to http://HOST:PORT`" + ` at it to see what partners would receive.
Each line is written as its request arrives and only the last 1000 requests are
kept in memory, so it runs at the same rate and size for any number of requests.
It prints "listening on ADDR" to stderr once it accepts requests (useful with port 0).
SIGINT or SIGTERM stops it after in-flight requests finish.

Flags:
`

func runSink(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:9999", "listen `address` HOST:PORT")
	out := fs.String("out", "", "append JSON lines to `FILE` instead of stdout")
	status := fs.Int("status", 200, "HTTP status `code` for requests that do not fail")
	failRate := fs.Float64("fail-rate", 0, "fraction `R` (0-1) of requests answered with --fail-status")
	failFirst := fs.Int("fail-first", 0, "fail the first `N` requests")
	failStatus := fs.Int("fail-status", 503, "HTTP status `code` of failed requests")
	retryAfter := fs.String("retry-after", "", "Retry-After header `value` sent with failed requests")
	seed := fs.Uint64("seed", 1, "`seed` choosing which requests --fail-rate fails (same seed, same run)")
	latency := fs.Duration("latency", 0, "`delay` before every answer, e.g. 50ms")
	maxBody := fs.Int64("max-body", 1<<20, "`bytes` of each request body kept; longer bodies are truncated")
	err := fs.Parse(args)
	if err == nil {
		err = noArgs(fs)
	}
	if err == nil {
		err = sinkCheckFlags(*status, *failStatus, *failRate, *failFirst, *latency, *maxBody)
	}
	if err != nil {
		return quietUsageExit(stdout, stderr, fs, sinkUsage, err)
	}

	var w io.Writer = stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return errExit(stderr, "sink", err)
		}
		defer f.Close()
		w = f // unbuffered: each request is one write, visible at once
	}
	s := gateway.NewSink(gateway.SinkOptions{
		Out: w, Status: *status, FailFirst: *failFirst, FailRate: *failRate, Seed: *seed,
		FailStatus: *failStatus, RetryAfter: *retryAfter, Latency: *latency, MaxBody: *maxBody,
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return errExit(stderr, "sink", err)
	}
	fmt.Fprintf(stderr, "adgate sink: listening on %s\n", l.Addr())
	if err := gateway.ServeSink(ctx, l, s, 5*time.Second); err != nil {
		return errExit(stderr, "sink", err)
	}
	if err := s.Err(); err != nil {
		fmt.Fprintln(stderr, "adgate sink: writing output:", err)
		return 1
	}
	fmt.Fprintf(stderr, "adgate sink: %d requests captured\n", s.Count())
	return 0
}

func sinkCheckFlags(status, failStatus int, failRate float64, failFirst int, latency time.Duration, maxBody int64) error {
	switch {
	case status < 100 || status > 599:
		return fmt.Errorf("--status %d is not an HTTP status code", status)
	case failStatus < 100 || failStatus > 599:
		return fmt.Errorf("--fail-status %d is not an HTTP status code", failStatus)
	case failRate < 0 || failRate > 1:
		return fmt.Errorf("--fail-rate %v is not between 0 and 1", failRate)
	case failFirst < 0:
		return fmt.Errorf("--fail-first %d is negative", failFirst)
	case latency < 0:
		return fmt.Errorf("--latency %v is negative", latency)
	case maxBody <= 0:
		return fmt.Errorf("--max-body %d must be positive", maxBody)
	}
	return nil
}
