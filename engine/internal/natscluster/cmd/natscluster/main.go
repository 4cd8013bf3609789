// Command natscluster runs the sample 3-node NATS JetStream cluster of
// docs/cluster.md in one process, from n1.conf, n2.conf and n3.conf as
// written, until interrupted. It stands in for three nats-server processes
// (`nats-server -c n1.conf` and so on) where nats-server is not installed;
// examples/cluster/run.sh runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/adgate/adgate/engine/internal/natscluster"
)

func main() {
	dir := flag.String("dir", ".", "directory holding n1.conf, n2.conf and n3.conf")
	quiet := flag.Bool("quiet", false, "do not print the servers' log")
	flag.Parse()
	if err := run(*dir, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "natscluster:", err)
		os.Exit(1)
	}
}

func run(dir string, quiet bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var logf func(node, level, msg string)
	if !quiet {
		logf = func(node, level, msg string) { fmt.Fprintf(os.Stderr, "[%s] %s %s\n", node, level, msg) }
	}
	var files []string
	for _, n := range []string{"n1.conf", "n2.conf", "n3.conf"} {
		files = append(files, filepath.Join(dir, n))
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	c, err := natscluster.Start(sctx, natscluster.Options{Files: files, Log: logf})
	cancel()
	if err != nil {
		return err
	}
	defer c.Shutdown()
	fmt.Printf("cluster ready: queue.url: %s\n", c.URLs())
	<-ctx.Done()
	return nil
}
