package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/gateway"
)

func serveCmd() *command {
	c := newCommand("serve", "serve --config FILE [--listen ADDR] [--data-dir DIR] [--deliver-to URL] [--log-level LEVEL]\nserve --demo",
		"run the postback gateway: HTTP ingest, durable queue, delivery",
		`Runs the postback gateway: accepts events on POST /v1/apps/{app}/events,
stores every enabled partner's postbacks in a durable queue, and delivers
them with retries. SIGHUP (or a change to the config or partner files)
reloads; SIGTERM stops intake and drains in-flight deliveries.

--demo runs examples/gateway.yaml with an in-process capture sink that
every postback is sent to, and prints each one; then, in another terminal:

  curl -H 'Authorization: Bearer demo-token' --data-binary @examples/events/install.json \
       http://127.0.0.1:8080/v1/apps/demo/events`, argNone)
	fs := c.flags
	var o serveOpts
	fs.StringVar(&o.cfgPath, "config", "", "gateway config `FILE` (gateway.yaml)")
	fs.StringVar(&o.listen, "listen", "", "listen `ADDR` (host:port), overrides the config's listen")
	fs.StringVar(&o.dataDir, "data-dir", "", "durable state `DIR`, overrides the config's data_dir")
	fs.StringVar(&o.deliverTo, "deliver-to", "", "send every postback to `URL` instead of the partner's host (keeps path and query; original host in X-Adgate-Original-Host)")
	fs.BoolVar(&o.demo, "demo", false, "run examples/gateway.yaml with an in-process capture sink and print every postback delivered")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn, error")
	c.run = func(ctx context.Context, st stdio, _ []string) int {
		if !o.demo && o.cfgPath == "" {
			return c.usageError(st, "--config FILE is required (or --demo)")
		}
		return runServe(ctx, st.out, st.errOut, o)
	}
	return c
}

type serveOpts struct {
	cfgPath, listen, dataDir, deliverTo, logLevel string
	demo                                          bool
}

func runServe(ctx context.Context, stdout, stderr io.Writer, o serveOpts) int {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintf(stderr, "adgate serve: --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: durationText}))

	opt := gateway.Options{ConfigPath: o.cfgPath, Listen: o.listen, DataDir: o.dataDir, DeliverTo: o.deliverTo, Logger: logger}
	if o.demo {
		stop, code := setUpDemo(ctx, &opt, stdout, stderr)
		if code != 0 {
			return code
		}
		defer stop()
	}

	srv, err := gateway.New(ctx, opt)
	if err != nil {
		var le diag.ListError
		if errors.As(err, &le) {
			_ = diag.List(le).Write(stderr, diag.Text)
			fmt.Fprintln(stderr, "adgate serve: the config has errors; nothing started")
			return 1
		}
		return errExit(stderr, "serve", err)
	}
	if err := srv.Listen(); err != nil {
		_ = srv.Close()
		return errExit(stderr, "serve", err)
	}
	if o.demo {
		fmt.Fprintf(stdout, "adgate demo: gateway on http://%s, postbacks go to the in-process sink at %s\n", srv.Addr(), opt.DeliverTo)
		fmt.Fprintf(stdout, "try:\n  curl -H 'Authorization: Bearer demo-token' --data-binary @examples/events/install.json http://%s/v1/apps/demo/events\n", srv.Addr())
		fmt.Fprintf(stdout, "metrics (demo-only token from examples/gateway.yaml):\n  curl -H 'Authorization: Bearer demo-metrics-token' http://%s/metrics\n", srv.Addr())
		fmt.Fprintf(stdout, "web console (log in with the demo-only admin token demo-admin-token):\n  http://%s/console/\n\n", srv.Addr())
	}

	// SIGHUP reloads; the context (SIGINT/SIGTERM) shuts down.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				_ = srv.Reload(runCtx)
			}
		}
	}()
	if err := srv.Run(runCtx); err != nil {
		return errExit(stderr, "serve", err)
	}
	return 0
}

// setUpDemo points opt at examples/gateway.yaml, starts the capture sink
// and a scratch data dir, and prints every postback the sink receives.
func setUpDemo(ctx context.Context, opt *gateway.Options, stdout, stderr io.Writer) (func(), int) {
	if opt.ConfigPath == "" {
		p, err := findUp(filepath.Join("examples", "gateway.yaml"))
		if err != nil {
			fmt.Fprintf(stderr, "adgate serve --demo: %v (run it from the adgate repository)\n", err)
			return nil, 1
		}
		opt.ConfigPath = p
	}
	var cleanup []func()
	stop := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	if opt.DataDir == "" {
		dir, err := os.MkdirTemp("", "adgate-demo-")
		if err != nil {
			fmt.Fprintf(stderr, "adgate serve --demo: %v\n", err)
			return nil, 1
		}
		opt.DataDir = dir
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
	}
	sinkURL, closeSink, err := startDemoSink(ctx, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "adgate serve --demo: starting the sink: %v\n", err)
		stop()
		return nil, 1
	}
	cleanup = append(cleanup, closeSink)
	opt.DeliverTo = sinkURL
	var mu sync.Mutex
	opt.OnAttempt = func(a gateway.Attempt) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "%s  %-9s %-10s %-13s attempt %d  %s (%.1f ms)\n", a.Time.Format(time.TimeOnly), a.Status, a.Partner, a.Postback, a.Attempt, statusText(a), a.LatencyMS)
	}
	return stop, 0
}

func statusText(a gateway.Attempt) string {
	if a.StatusCode > 0 {
		return fmt.Sprintf("%d %s", a.StatusCode, http.StatusText(a.StatusCode))
	}
	return a.Error
}

// findUp looks for rel in the working directory and its parents.
func findUp(rel string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return findUpFrom(wd, rel)
}

// findUpFrom looks for rel in start and its parents; the error names
// start, where the search began.
func findUpFrom(start, rel string) (string, error) {
	for dir := start; ; {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found in %s or its parents", rel, start)
		}
		dir = parent
	}
}

// startDemoSink runs the capture sink on a free loopback port; it answers
// 200 to every postback and prints each one as a JSON line, as the partner
// received it (X-Adgate-Original-Host names the partner's host).
func startDemoSink(ctx context.Context, stdout io.Writer) (string, func(), error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gateway.ServeSink(sctx, ln, gateway.NewSink(gateway.SinkOptions{Out: stdout}), 2*time.Second)
	}()
	stop := func() {
		cancel()
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// durationText logs durations as Go duration text ("10s", "1.5ms")
// instead of slog's JSON default, integer nanoseconds.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
