package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/adgate/adgate/engine/gateway"
)

func sinkCmd() *command {
	c := newCommand("sink", "sink [--addr HOST:PORT] [--out FILE] [--status CODE] [--fail-rate R] [--latency DURATION] [flags]",
		"run a capture server that answers and records postbacks (demos, tests)",
		`Runs a capture server that answers postbacks and writes one JSON line per request
({time, method, url, headers, body, status, seq}) to FILE or stdout. Point
`+"`adgate serve --deliver-to http://HOST:PORT`"+` at it to see what partners would receive.
Each line is written as its request arrives and only the last 1000 requests are
kept in memory, so it runs at the same rate and size for any number of requests.
It prints "listening on ADDR" to stderr once it accepts requests (useful with port 0).
SIGINT or SIGTERM stops it after in-flight requests finish.`, argNone)
	fs := c.flags
	var o sinkOpts
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9999", "listen address `HOST:PORT`")
	fs.StringVar(&o.out, "out", "", "append JSON lines to `FILE` instead of stdout")
	fs.IntVar(&o.status, "status", 200, "HTTP status `CODE` for requests that do not fail")
	fs.Float64Var(&o.failRate, "fail-rate", 0, "fraction `R` (0-1) of requests answered with --fail-status")
	fs.IntVar(&o.failFirst, "fail-first", 0, "fail the first `N` requests")
	fs.IntVar(&o.failStatus, "fail-status", 503, "HTTP status `CODE` of failed requests")
	fs.StringVar(&o.retryAfter, "retry-after", "", "Retry-After header `VALUE` sent with failed requests")
	fs.Uint64Var(&o.seed, "seed", 1, "`SEED` choosing which requests --fail-rate fails (same seed, same run)")
	fs.DurationVar(&o.latency, "latency", 0, "`DURATION` to wait before every answer, e.g. 50ms")
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, "`BYTES` of each request body kept; longer bodies are truncated")
	c.run = func(ctx context.Context, st stdio, _ []string) int {
		if err := sinkCheckFlags(o.status, o.failStatus, o.failRate, o.failFirst, o.latency, o.maxBody); err != nil {
			return c.usageError(st, err.Error())
		}
		return runSink(ctx, st.out, st.errOut, o)
	}
	return c
}

type sinkOpts struct {
	addr, out, retryAfter         string
	status, failFirst, failStatus int
	failRate                      float64
	seed                          uint64
	latency                       time.Duration
	maxBody                       int64
}

func runSink(ctx context.Context, stdout, stderr io.Writer, o sinkOpts) int {
	var w io.Writer = stdout
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return errExit(stderr, "sink", err)
		}
		defer f.Close()
		w = f // unbuffered: each request is one write, visible at once
	}
	s := gateway.NewSink(gateway.SinkOptions{
		Out: w, Status: o.status, FailFirst: o.failFirst, FailRate: o.failRate, Seed: o.seed,
		FailStatus: o.failStatus, RetryAfter: o.retryAfter, Latency: o.latency, MaxBody: o.maxBody,
	})
	l, err := net.Listen("tcp", o.addr)
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
