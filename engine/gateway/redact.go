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
	// idx finds the forms in a text; nil when there are none.
	idx *formIndex
}

func newRedactor(secrets []string) *redactor {
	forms := redactionForms(secrets)
	if len(forms) == 0 {
		return &redactor{}
	}
	return &redactor{idx: newFormIndex(forms)}
}

// redactionForms are the texts newRedactor replaces: every secret and
// its derived forms of at least formMin bytes, each once, longest first.
func redactionForms(secrets []string) []string {
	seen := map[string]bool{}
	var forms []string
	add := func(s string) {
		// a form shorter than the shortest secret config.Secrets keeps
		// would redact innocent text
		if len(s) >= formMin && !seen[s] {
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
	// At a position where several forms match, the longest is replaced,
	// so a form is never cut by a shorter one that is its prefix.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}

// formMin is the length of the shortest form redacted. The index reads
// 4 bytes of a form as one word, so it cannot be lower than 4.
const formMin = 4

// formIndex finds redaction forms in a text. It replaces a
// strings.Replacer over the same forms, which walked its trie at almost
// every byte of every URL (hex digests and base64 forms begin with any
// letter or digit) and copied the text twice even when nothing matched:
// redaction was 8% of a delivery attempt.
//
// Every form is at least min bytes long, so a form starting anywhere in
// [i, i+min-4] covers the 4 bytes at j = i+min-4, and they are one of the
// form's first min-3 grams (4-byte words). One bitset test of the gram at
// j therefore rules out min-3 starting positions at once; only when it
// passes are those positions tried one by one, leftmost first, each
// against a bitset of the forms' first grams and then the forms that
// really begin with that gram. The output is the Replacer's: scanning left
// to right, at each position the longest form starting there is replaced
// and the scan goes on after it. A text with no form in it is returned
// as is, without a copy.
type formIndex struct {
	min    int    // length of the shortest form
	grams  bitset // every form's grams at offsets 0 to min-4
	starts bitset // every form's first gram
	// byGram lists the forms by their first gram, longest first.
	byGram map[uint32][]string
}

func newFormIndex(forms []string) *formIndex {
	ix := &formIndex{min: len(forms[len(forms)-1]), byGram: map[uint32][]string{}}
	ix.grams = newBitset(len(forms) * (ix.min - formMin + 1))
	ix.starts = newBitset(len(forms))
	for _, f := range forms { // longest first, and so stays each list
		for o := 0; o <= ix.min-formMin; o++ {
			ix.grams.add(gram(f, o))
		}
		g := gram(f, 0)
		ix.starts.add(g)
		ix.byGram[g] = append(ix.byGram[g], f)
	}
	return ix
}

// gram is the 4 bytes of s at i as one word.
func gram(s string, i int) uint32 {
	s = s[i : i+formMin]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// replace returns s with every form replaced by Redacted.
func (ix *formIndex) replace(s string) string {
	var b strings.Builder
	i, last := 0, 0 // no form starts before i; s[:last] is written
	for {
		j := i + ix.min - formMin
		if j+formMin > len(s) {
			break // no form fits after i
		}
		if !ix.grams.has(gram(s, j)) {
			i = j + 1
			continue
		}
		p, n := i, 0
		for ; p <= j; p++ {
			if n = ix.match(s, p); n > 0 {
				break
			}
		}
		if n == 0 {
			i = j + 1
			continue
		}
		if b.Cap() == 0 {
			b.Grow(len(s) + len(Redacted))
		}
		b.WriteString(s[last:p])
		b.WriteString(Redacted)
		i = p + n
		last = i
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// match is the length of the longest form at s[p:], or 0; s has at
// least 4 bytes from p.
func (ix *formIndex) match(s string, p int) int {
	g := gram(s, p)
	if !ix.starts.has(g) {
		return 0
	}
	for _, f := range ix.byGram[g] {
		if strings.HasPrefix(s[p:], f) {
			return len(f)
		}
	}
	return 0
}

// bitset is a one-hash Bloom filter of grams.
type bitset struct {
	words []uint64
	shift uint // turns the 32-bit hash into a bit number
}

// newBitset sizes a bitset for n grams: about 64 bits each, so a gram
// not in it passes about once in 64 tests or less, within 512 B and 1 MiB.
func newBitset(n int) bitset {
	bits := uint(12)
	for 1<<bits < 64*n && bits < 23 {
		bits++
	}
	return bitset{words: make([]uint64, 1<<bits/64), shift: 32 - bits}
}

func (b bitset) bit(g uint32) uint32 { return (g * 0x9e3779b1) >> b.shift }

func (b bitset) add(g uint32) {
	h := b.bit(g)
	b.words[h/64] |= 1 << (h % 64)
}

func (b bitset) has(g uint32) bool {
	h := b.bit(g)
	return b.words[h/64]&(1<<(h%64)) != 0
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
	if rd == nil || rd.idx == nil {
		return s
	}
	return rd.idx.replace(s)
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
