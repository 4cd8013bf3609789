// Package natscluster starts a NATS JetStream cluster in this process from
// nats-server config files, one server per file, with the routes the files
// name. The cluster test and `go run ./examples/cluster` start the same
// files (examples/cluster/n*.conf), so the sample config in the docs is the
// one that is tested; the test moves the nodes to free ports so runs do not
// collide.
package natscluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options says which nodes to start and what to change in their files.
type Options struct {
	// Files are the node config files, one per node.
	Files []string
	// Dir, when set, replaces each node's store_dir by Dir/<server_name>.
	Dir string
	// FreePorts moves every node's client and cluster listener to a free
	// loopback port and rewrites the routes to match.
	FreePorts bool
	// Log, when set, receives the servers' log lines.
	Log func(node, level, msg string)
}

// Node is one server of the cluster.
type Node struct {
	Name   string
	Opts   *server.Options
	Server *server.Server
}

// Cluster is a running set of nodes.
type Cluster struct {
	Nodes []*Node
}

// Start reads the files and starts every node, then waits until the
// cluster has a JetStream meta leader (or ctx ends).
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if len(o.Files) == 0 {
		return nil, errors.New("natscluster: no node config files")
	}
	c := &Cluster{}
	// Old cluster port -> new, to rewrite the routes.
	ports := map[int]int{}
	for _, f := range o.Files {
		opts, err := server.ProcessConfigFile(f)
		if err != nil {
			return nil, fmt.Errorf("natscluster: %s: %w", f, err)
		}
		opts.NoSigs = true
		if o.Dir != "" {
			opts.StoreDir = filepath.Join(o.Dir, opts.ServerName)
		}
		if o.FreePorts {
			if opts.Port, err = freePort(); err != nil {
				return nil, err
			}
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			ports[opts.Cluster.Port] = p
			opts.Cluster.Port = p
			opts.HTTPPort = 0
		}
		c.Nodes = append(c.Nodes, &Node{Name: opts.ServerName, Opts: opts})
	}
	if o.FreePorts {
		for _, n := range c.Nodes {
			for i, r := range n.Opts.Routes {
				p, _ := strconv.Atoi(r.Port())
				if np, ok := ports[p]; ok {
					u := *r
					u.Host = net.JoinHostPort(r.Hostname(), strconv.Itoa(np))
					n.Opts.Routes[i] = &u
				}
			}
		}
	}
	for i := range c.Nodes {
		if err := c.start(i, o.Log); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.WaitMeta(ctx); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("natscluster: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) start(i int, logf func(node, level, msg string)) error {
	n := c.Nodes[i]
	opts := *n.Opts
	opts.NoLog = logf == nil
	s, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("natscluster: node %s: %w", n.Name, err)
	}
	if logf != nil {
		s.SetLoggerV2(logger{n.Name, logf}, false, false, false)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("natscluster: node %s did not start", n.Name)
	}
	n.Server = s
	return nil
}

// Restart starts node i again after Kill, on the same ports and store.
func (c *Cluster) Restart(i int, logf func(node, level, msg string)) error {
	return c.start(i, logf)
}

// Kill stops node i at once, as losing the machine would.
func (c *Cluster) Kill(i int) {
	n := c.Nodes[i]
	if n.Server == nil {
		return
	}
	n.Server.Shutdown()
	n.Server.WaitForShutdown()
	n.Server = nil
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.Nodes {
		c.Kill(i)
	}
}

// URLs is the comma-separated client URLs of every node, as queue.url
// takes them.
func (c *Cluster) URLs() string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, (&url.URL{Scheme: "nats", Host: net.JoinHostPort(n.Opts.Host, strconv.Itoa(n.Opts.Port))}).String())
	}
	return strings.Join(out, ",")
}

// Token is the client token of the first node's config ("" for none).
func (c *Cluster) Token() string { return c.Nodes[0].Opts.Authorization }

// StreamLeader is the index of the node leading stream in the global
// account, or -1 while it has none.
func (c *Cluster) StreamLeader(stream string) int {
	for i, n := range c.Nodes {
		if n.Server != nil && n.Server.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i
		}
	}
	return -1
}

// WaitMeta waits until a JetStream request through a running node is
// answered, that is until the cluster has elected its meta leader.
func (c *Cluster) WaitMeta(ctx context.Context) error {
	nc, err := c.Connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natscluster: no JetStream meta leader: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Connect opens a client connection to the running nodes.
func (c *Cluster) Connect() (*nats.Conn, error) {
	opts := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond)}
	if t := c.Token(); t != "" {
		opts = append(opts, nats.Token(t))
	}
	nc, err := nats.Connect(c.URLs(), opts...)
	if err != nil {
		return nil, fmt.Errorf("natscluster: connect: %w", err)
	}
	return nc, nil
}

type logger struct {
	node string
	f    func(node, level, msg string)
}

func (l logger) Noticef(f string, v ...any) { l.f(l.node, "INF", fmt.Sprintf(f, v...)) }
func (l logger) Warnf(f string, v ...any)   { l.f(l.node, "WRN", fmt.Sprintf(f, v...)) }
func (l logger) Fatalf(f string, v ...any)  { l.f(l.node, "FTL", fmt.Sprintf(f, v...)) }
func (l logger) Errorf(f string, v ...any)  { l.f(l.node, "ERR", fmt.Sprintf(f, v...)) }
func (l logger) Debugf(f string, v ...any)  {}
func (l logger) Tracef(f string, v ...any)  {}
