package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// Redacted replaces every secret in text.
const Redacted = "[REDACTED]"

// redactor removes credentials from text bound for logs, errors and the
// deliveries list. It knows the secret values themselves (from the config)
// in the forms they take in a URL, so it catches them wherever a template
// put them, whatever the query key is called.
type redactor struct {
	r *strings.Replacer
}

func newRedactor(secrets []string) *redactor {
	var pairs []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			pairs = append(pairs, s, Redacted)
		}
	}
	for _, s := range secrets {
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		add(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
	}
	if len(pairs) == 0 {
		return &redactor{}
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (rd *redactor) String(s string) string {
	if rd == nil || rd.r == nil {
		return s
	}
	return rd.r.Replace(s)
}

// sensitiveHeaders never show their values, whether or not they hold a
// configured secret.
var sensitiveHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"x-api-key": true, "api-key": true, "x-auth-token": true,
}

func (rd *redactor) Headers(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if sensitiveHeaders[strings.ToLower(k)] {
			out[k] = Redacted
			continue
		}
		out[k] = rd.String(v)
	}
	return out
}

// redactHandler is a slog.Handler that passes every string, error and
// message through the current redactor, so a credential that reaches a log
// call by any route (a URL, an error from net/http) never reaches the sink.
type redactHandler struct {
	h   slog.Handler
	red func() *redactor
}

func (rh *redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return rh.h.Enabled(ctx, l) }

func (rh *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	red := rh.red()
	out := slog.NewRecord(r.Time, r.Level, red.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(red, a))
		return true
	})
	return rh.h.Handle(ctx, out)
}

func (rh *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := rh.red()
	cp := make([]slog.Attr, len(as))
	for i, a := range as {
		cp[i] = redactAttr(red, a)
	}
	return &redactHandler{h: rh.h.WithAttrs(cp), red: rh.red}
}

func (rh *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: rh.h.WithGroup(name), red: rh.red}
}

func redactAttr(red *redactor, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, red.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = redactAttr(red, ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, red.String(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, red.String(x.String()))
		case map[string]string:
			return slog.Any(a.Key, red.Headers(x))
		}
		return slog.String(a.Key, red.String(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
