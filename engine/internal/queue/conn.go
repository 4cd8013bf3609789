package queue

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// tokenFile holds the embedded server's auth token inside the data dir.
const tokenFile = "nats.token"

// startEmbedded runs a nats-server with JetStream in this process. It has
// no network listener unless cfg.Listen asks for one, and even then every
// client must present the token generated for this data directory.
func startEmbedded(ctx context.Context, cfg Config, log *slog.Logger) (*server.Server, *nats.Conn, error) {
	if cfg.DataDir == "" {
		return nil, nil, errors.New("queue: no data directory for the embedded NATS server")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("queue: data directory: %w", err)
	}
	token, err := loadOrCreateToken(filepath.Join(cfg.DataDir, tokenFile))
	if err != nil {
		return nil, nil, err
	}
	opts := &server.Options{
		ServerName:    "adgate",
		JetStream:     true,
		StoreDir:      filepath.Join(cfg.DataDir, "jetstream"),
		SyncAlways:    cfg.SyncAlways,
		Authorization: token,
		NoSigs:        true, // adgate owns signal handling
		DontListen:    cfg.Listen == "",
		Host:          "127.0.0.1",
		Port:          -1,
		HTTPPort:      0, // no monitoring endpoint
		MaxPayload:    4 << 20,
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("queue: listen address %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, nil, fmt.Errorf("queue: listen port %q: %w", port, err)
		}
		if host == "" {
			host = "127.0.0.1" // ":4222" means loopback here, not every interface
		}
		opts.Host, opts.Port = host, p
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("queue: embedded NATS server: %w", err)
	}
	// log already names the queue component; the server is a part of it.
	srv.SetLoggerV2(serverLogger{log.With("subsystem", "nats-server")}, false, false, false)
	go srv.Start()
	wait := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		return nil, nil, fmt.Errorf("queue: embedded NATS server in %s did not start within %s", cfg.DataDir, wait)
	}
	nc, err := nats.Connect("", append(connOptions(log),
		nats.InProcessServer(srv),
		nats.Token(token),
	)...)
	if err != nil {
		srv.Shutdown()
		return nil, nil, fmt.Errorf("queue: connect to embedded NATS server: %w", err)
	}
	return srv, nc, nil
}

func connectExternal(cfg Config, log *slog.Logger, onDialErr func(error)) (*nats.Conn, error) {
	opts := append(connOptions(log), nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
		if err != nil {
			onDialErr(err)
		}
	}))
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("queue: token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return nil, fmt.Errorf("queue: token file %s is empty", cfg.TokenFile)
		}
		opts = append(opts, nats.Token(tok))
	}
	if cfg.TLS.set() {
		if cfg.TLS.CAFile != "" {
			opts = append(opts, nats.RootCAs(cfg.TLS.CAFile))
		}
		if (cfg.TLS.CertFile == "") != (cfg.TLS.KeyFile == "") {
			return nil, errors.New("queue: tls: a client certificate needs its key and a key its certificate")
		}
		if cfg.TLS.CertFile != "" {
			opts = append(opts, nats.ClientCert(cfg.TLS.CertFile, cfg.TLS.KeyFile))
		}
		// Set last: the options above create the TLS config this one
		// amends, and a server name alone still asks for TLS.
		opts = append(opts, func(o *nats.Options) error {
			if o.TLSConfig == nil {
				o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			if cfg.TLS.ServerName != "" {
				o.TLSConfig.ServerName = cfg.TLS.ServerName
			}
			o.Secure = true
			return nil
		})
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("queue: nkey seed: %w", err)
		}
		opts = append(opts, o)
	}
	// RetryOnFailedConnect lets adgate start while NATS is still coming up;
	// the workers keep retrying until it answers.
	opts = append(opts, nats.RetryOnFailedConnect(true))
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("queue: connect to NATS: %w", err)
	}
	return nc, nil
}

// serverHosts lists the host:port of each server in a NATS URL list,
// leaving out the userinfo, which may hold credentials.
func serverHosts(urls string) string {
	var hosts []string
	for _, u := range strings.Split(urls, ",") {
		if p, err := url.Parse(strings.TrimSpace(u)); err == nil && p.Host != "" {
			hosts = append(hosts, p.Host)
		} else {
			hosts = append(hosts, "(unparsable URL)")
		}
	}
	return strings.Join(hosts, ", ")
}

// connOptions are shared by both paths: reconnect forever, and log state
// changes without the server URL's userinfo.
func connOptions(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.Name("adgate"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("queue: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("queue: reconnected to NATS") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("queue: NATS error", "err", err)
		}),
	}
}

// loadOrCreateToken reads the data dir's token, creating a random one on
// first use. The file is private to the user running adgate.
func loadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("queue: read token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("queue: generate token: %w", err)
	}
	t := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("queue: write token: %w", err)
	}
	return t, nil
}

// serverLogger routes nats-server logs to slog.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(f string, v ...any) { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s serverLogger) Warnf(f string, v ...any)   { s.l.Warn(fmt.Sprintf(f, v...)) }
func (s serverLogger) Fatalf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s serverLogger) Errorf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s serverLogger) Debugf(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s serverLogger) Tracef(f string, v ...any)  {}
