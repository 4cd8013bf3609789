package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/template"
)

// Redacted replaces every secret in text.
const Redacted = "[REDACTED]"

// redactor removes credentials from text bound for logs, errors, the
// deliveries list and the dead letters. It knows the secret values
// themselves (from the config) and every form a template or the renderer
// can turn them into, so it catches them wherever a template put them,
// whatever the query key is called.
//
// Why a set of derived forms and not taint tracking through rendering:
// the text to redact is met long after rendering and far from it (a URL
// stored in the durable queue and replayed after a restart, a net/http
// error quoting the URL, a partner's response echoing it), where only
// text is left, so redaction must work on text alone. The forms are
// prepared once per config load (newRuntime), never per postback: every
// transformation of derivations applied to each secret, then each escape
// and case mapping applied to each result (so ?url twice, base64 then
// URL-escaped, an upper-cased digest), replaced longest first. The escapes and case mappings work
// character by character, so a secret escaped inside a longer text is
// caught too. What the set cannot catch is a transformation outside it
// applied to the secret alone (a substring, a reversal) or base64 or a
// digest of the secret mixed with other text; the sensitive headers are
// blanked whatever they hold.
type redactor struct {
	r *strings.Replacer
}

func newRedactor(secrets []string) *redactor {
	seen := map[string]bool{}
	var forms []string
	add := func(s string) {
		// a form shorter than the shortest secret config.Secrets keeps
		// would redact innocent text
		if len(s) >= 4 && !seen[s] {
			seen[s] = true
			forms = append(forms, s)
		}
	}
	ds := derivations()
	for _, s := range secrets {
		add(s)
		for _, d := range ds {
			v, ok := d.apply(s)
			if !ok {
				continue
			}
			add(v)
			// then each escape and case mapping of that; a digest is only
			// upper-cased (escaping hex changes nothing)
			for _, d2 := range ds {
				if d2.kind == formCase || d2.kind == formEscape && d.kind != formDigest {
					if w, ok := d2.apply(v); ok {
						add(w)
					}
				}
			}
		}
	}
	if len(forms) == 0 {
		return &redactor{}
	}
	// strings.Replacer tries the old strings in argument order at each
	// position: longest first, so a form is never cut by a shorter one
	// that is its prefix
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

// A derivation is one transformation of a credential that redaction
// looks for.
type derivation struct {
	kind  formKind
	apply func(string) (string, bool)
}

type formKind uint8

const (
	formEscape   formKind = iota // character by character: URL, form, JSON escapes
	formCase                     // upper or lower case
	formEncoding                 // base64, base32
	formDigest                   // hex digests
)

// derivations are the template language's own escapes, case mappings,
// encodings and digests, computed by the engine itself (so they stay the
// rules templates follow), the renderer's macro escapes, and the URL
// escapes of Go's net/url that a sender or an error message may apply.
var derivations = sync.OnceValue(func() []derivation {
	ds := []derivation{
		{formEscape, func(s string) (string, bool) { return render.QueryEscape(s), true }},
		{formEscape, func(s string) (string, bool) { return render.JSONEscape(s), true }},
		{formEscape, func(s string) (string, bool) { return url.QueryEscape(s), true }},
		{formEscape, func(s string) (string, bool) { return url.PathEscape(s), true }},
	}
	for _, f := range []struct {
		kind formKind
		text string
	}{
		{formEscape, "${s?url}"}, {formEscape, "${s?url_path}"}, {formEscape, "${s?json_string}"},
		{formEscape, "<@urlencode>${s}</@urlencode>"}, {formEscape, "<@json>${s}</@json>"},
		{formCase, "${s?upper_case}"}, {formCase, "${s?lower_case}"},
		{formEncoding, "${sprig.b64enc(s)}"}, {formEncoding, "${sprig.b32enc(s)}"},
		{formDigest, "${sprig.md5sum(s)}"}, {formDigest, "${sprig.sha1sum(s)}"}, {formDigest, "${sprig.sha256sum(s)}"},
	} {
		t, err := template.Parse("redaction form", f.text, template.Options{})
		if err != nil {
			panic("gateway: redaction form " + f.text + ": " + err.Error()) // a constant above is wrong
		}
		json := strings.HasPrefix(f.text, "<@json>")
		ds = append(ds, derivation{f.kind, func(s string) (string, bool) {
			out, err := t.ExecuteString(template.NewHash([]string{"s"}, []template.Value{template.String(s)}), nil)
			if json {
				// the inside of the quotes is what stands in a longer JSON text
				out = strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
			}
			return out, err == nil
		}})
	}
	return ds
})

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
