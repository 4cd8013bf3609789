package gateway

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/sink"
)

// ValidateConfig checks a gateway.yaml (schema, semantics, and the partner
// specs it names) without starting anything, as `adgate validate` does.
// Secrets referenced as ${env:NAME} need not be set. It also returns the
// spec files it checked.
func ValidateConfig(ctx context.Context, path string) (diag.List, []string, error) {
	return config.ValidateFile(ctx, path, config.Options{})
}

// LooksLikeConfig reports whether a YAML document is a gateway config
// rather than a partner spec, so a tool can route mixed file arguments.
func LooksLikeConfig(data []byte) bool { return config.LooksLikeConfig(data) }

// SinkOptions configure a capture sink (see NewSink).
type SinkOptions = sink.Options

// SinkRecord is one request a sink captured.
type SinkRecord = sink.Record

// Sink is a capture server for postbacks: it answers every request and
// records it, failing on purpose when told to so retries can be seen.
type Sink = sink.Sink

// NewSink returns a Sink; `adgate sink` and `serve --demo` use it as the
// partners' endpoint.
func NewSink(opt SinkOptions) *Sink { return sink.New(opt) }

// ServeSink serves h on l until ctx ends, then shuts down within grace.
func ServeSink(ctx context.Context, l net.Listener, h http.Handler, grace time.Duration) error {
	return sink.Serve(ctx, l, h, grace)
}
