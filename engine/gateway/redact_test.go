package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// percentEncode escapes every byte outside safe as %XX (upper-case hex),
// space as plus when asked: an implementation independent of the ones
// the redactor uses, for the test to search with.
func percentEncode(s, safe string, plus bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(safe, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && plus:
			b.WriteByte('+')
		default:
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// encodings are every form in which a credential must not be found after
// redaction.
func encodings(s string) []string {
	jsonText := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), `"`)[1:]
	}
	escapes := []func(string) string{
		func(s string) string { return s },
		func(s string) string { return percentEncode(s, "-._~", false) },      // RFC 3986, the macros' escape
		func(s string) string { return percentEncode(s, "-._~", true) },       // url.QueryEscape
		func(s string) string { return percentEncode(s, "_-.!~'()*", false) }, // FreeMarker ?url
		func(s string) string { return percentEncode(s, ".-*_", true) },       // <@urlencode>, java.net.URLEncoder
		jsonText,
	}
	hexOf := func(sum []byte) string { return hex.EncodeToString(sum) }
	m, s1, s256 := md5.Sum([]byte(s)), sha1.Sum([]byte(s)), sha256.Sum256([]byte(s))
	bases := []string{s, strings.ToUpper(s), strings.ToLower(s),
		base64.StdEncoding.EncodeToString([]byte(s)), base32.StdEncoding.EncodeToString([]byte(s)),
		hexOf(m[:]), hexOf(s1[:]), hexOf(s256[:]), strings.ToUpper(hexOf(m[:])), strings.ToUpper(hexOf(s256[:]))}
	var out []string
	for _, b := range bases {
		for _, e1 := range escapes {
			for _, e2 := range escapes {
				out = append(out, e2(e1(b)))
			}
		}
	}
	return out
}

// credAlphabet mixes letters with every character that URL, form, JSON
// and FreeMarker escaping treat differently.
const credAlphabet = "abcXYZ0189 ~!'()*+/=&%\"\\<>-_.?#:;,@$[]{}|^`é😀"

func randomCredential(rng *rand.Rand) string {
	rs := []rune(credAlphabet)
	n := 8 + rng.Intn(12)
	var b strings.Builder
	for i := range n {
		if i%3 == 0 { // a letter every third character keeps it a plausible token
			b.WriteRune(rs[rng.Intn(6)])
			continue
		}
		b.WriteRune(rs[rng.Intn(len(rs))])
	}
	return b.String()
}

// TestRedactionEveryPartner renders every postback of every catalog
// partner for every event of partners/events with random credentials (a
// value for every parameter name, so every credential a spec reads has
// one), redacts the requests and the skip reasons as the gateway does,
// and searches the result for each credential in every encoding.
func TestRedactionEveryPartner(t *testing.T) {
	files, err := filepath.Glob("../../partners/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no partners: %v", err)
	}
	evFiles, err := filepath.Glob("../../partners/events/*.json")
	if err != nil || len(evFiles) == 0 {
		t.Fatalf("no events: %v", err)
	}
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(9))
	leaked, rendered := 0, 0
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yaml") {
			continue
		}
		p, _, err := l.LoadFile(context.Background(), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cp, err := render.Compile(p, l.Catalog())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for round := range 3 {
			creds := map[string]string{}
			var secrets []string
			for _, prm := range p.Parameters {
				v := randomCredential(rng)
				creds[prm.Macro] = v
				secrets = append(secrets, v)
			}
			red := newRedactor(secrets)
			forms := map[string][]string{}
			for _, c := range secrets {
				forms[c] = encodings(c)
			}
			acct := account.New(account.Data{Credentials: creds})
			for _, ef := range evFiles {
				b, err := os.ReadFile(ef)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := cp.ParseEvent(b)
				if err != nil {
					t.Fatalf("%s: %v", ef, err)
				}
				for _, key := range cp.Postbacks() {
					res, err := cp.Render(ev, acct, render.Options{Postback: key})
					if err != nil {
						t.Fatal(err)
					}
					var raw, out strings.Builder
					for _, rq := range res.Requests {
						raw.WriteString(rq.URL + "\n" + rq.Body + "\n")
						out.WriteString(red.String(rq.URL) + "\n" + red.String(rq.Body) + "\n")
						for k, v := range rq.Headers {
							raw.WriteString(v + "\n")
							out.WriteString(k + ": " + red.Headers(map[string]string{k: v})[k] + "\n")
						}
					}
					for _, s := range res.Skipped {
						out.WriteString(red.String(s.Reason) + "\n")
					}
					for _, c := range secrets {
						if strings.Contains(raw.String(), c) || strings.Contains(raw.String(), render.QueryEscape(c)) {
							rendered++
						}
						for _, form := range forms[c] {
							if strings.Contains(out.String(), form) {
								leaked++
								if leaked <= 10 {
									t.Errorf("%s %s %s round %d: credential %q found as %q in\n%s", p.ID, filepath.Base(ef), key, round, c, form, out.String())
								}
							}
						}
					}
				}
			}
		}
	}
	// the credentials must have reached the requests, or the search above
	// proves nothing
	if rendered < 100 {
		t.Errorf("credentials reached the rendered requests %d times; expected hundreds", rendered)
	}
	t.Logf("credentials rendered %d times, %d leaks", rendered, leaked)
}

// TestRedactionTransforms renders a credential through each transformation
// of issue 9 (and their pairs) in a URL, a header and a body, and checks
// that the redactor removes every one.
func TestRedactionTransforms(t *testing.T) {
	cred := `S3cr~t K!y/+="é`
	red := newRedactor([]string{cred})
	exprs := []string{
		"${c}", "${c?url}", "${c?url?url}", "${c?url_path}", "<@urlencode>${c}</@urlencode>",
		"<@urlencode><@urlencode>${c}</@urlencode></@urlencode>", "${c?json_string}", "<@json>${c}</@json>",
		"${sprig.b64enc(c)}", "${sprig.b64enc(c)?url}", "${sprig.b32enc(c)}", "${c?upper_case}", "${c?lower_case}",
		"${c?url?lower_case}", "${c?upper_case?url}",
		"${sprig.md5sum(c)}", "${sprig.sha1sum(c)}", "${sprig.sha256sum(c)}", "${sprig.sha256sum(c)?upper_case}",
		"{api_key}",
	}
	for _, x := range exprs {
		text := "c=" + x + "&n=1"
		for _, part := range []string{"url", "header", "body"} {
			got := renderPart(t, part, text, cred)
			if red.String(got) == got || strings.Contains(got, "{api_key}") {
				t.Errorf("%s %s: nothing redacted in %q", part, x, got)
				continue
			}
			for _, form := range encodings(cred) {
				if strings.Contains(red.String(got), form) {
					t.Errorf("%s %s: %q still holds %q", part, x, red.String(got), form)
				}
			}
		}
	}
}

// renderPart renders text as the URL query, a header or the body of a
// one-postback spec whose credential is cred.
func renderPart(t *testing.T, part, text, cred string) string {
	t.Helper()
	text = strings.ReplaceAll(text, "${c", "${ad_network.credentials.api_key")
	text = strings.ReplaceAll(text, "(c)", "(ad_network.credentials.api_key)")
	sp := &spec.Partner{ID: "vault", Name: "Vault", Parameters: []spec.Parameter{{Macro: "api_key", Branch: "ACCOUNT_CREDENTIAL"}}}
	pb := spec.Postback{Events: []string{"INSTALL"}, URL: "https://vault.test/p"}
	switch part {
	case "url":
		pb.URL += "?" + text
	case "header":
		pb.Headers = map[string]string{"X-Sig": text}
	case "body":
		pb.Method, pb.ContentType, pb.Body = "POST", "text/plain", text
	}
	sp.Postbacks = []spec.Postback{pb}
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := render.Compile(sp, l.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := cp.ParseEvent([]byte(`{"name":"INSTALL"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cp.Render(ev, account.New(account.Data{Credentials: map[string]string{"api_key": cred}}), render.Options{})
	if err != nil || len(res.Requests) != 1 {
		t.Fatalf("%s %q: %v %+v", part, text, err, res)
	}
	rq := res.Requests[0]
	switch part {
	case "url":
		return rq.URL
	case "header":
		return rq.Headers["X-Sig"]
	}
	return rq.Body
}

// TestRedactionEndToEnd sends acme's credential through the transformations
// of issue 9 to a partner that refuses it (echoing the request, as some
// do), and searches the deliveries list, the dead letters and the logs
// for it in every encoding.
func TestRedactionEndToEnd(t *testing.T) {
	const cred = "acme key+/=" // testdata/gateway.yaml
	c := "ad_network.credentials.api_key"
	extra := "&u=${" + c + "?url}&f=<@urlencode>${" + c + "}</@urlencode>&b=${sprig.b64enc(" + c + ")?url}" +
		"&b2=${sprig.b64enc(" + c + ")}&h=${sprig.md5sum(" + c + ")}&s=${sprig.sha256sum(" + c + ")?upper_case}" +
		"&uu=${" + c + "?url?url}&up=${" + c + "?upper_case?url}&lo=${" + c + "?lower_case?url}"
	sink := newCapture(t)
	sink.setBehave(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/beacon/") {
			// an answer quoting the request, credentials and all
			w.Header().Set("X-Request-Id", r.Header.Get("Authorization"))
			_, _ = io.WriteString(w, "ok: "+r.URL.RawQuery+" "+r.Header.Get("Authorization"))
			return true
		}
		if !strings.HasPrefix(r.URL.Path, "/acme/") {
			return false
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "bad request: "+r.URL.RawQuery)
		return true
	})
	e, logs := startEnv(t, sink, envOpts{spec: func(id, text string) string {
		if id != "acme" {
			return text
		}
		return strings.Replace(text, "&event={event}", "&event={event}"+extra, 1)
	}})
	e.ingest(mkEvent(91, "INSTALL", nil))
	admin := bearer("test-admin-token-1")
	var dead struct {
		DeadLetters []deadLetterView `json:"dead_letters"`
	}
	var deadBody []byte
	waitFor(t, "acme's dead letter", func() bool {
		_, _, deadBody = e.do(http.MethodGet, "/v1/deadletters?partner=acme", nil, admin)
		_ = json.Unmarshal(deadBody, &dead)
		return len(dead.DeadLetters) == 1
	})
	waitFor(t, "beacon's delivery in the history", func() bool {
		return len(listAttemptsT(t, e.srv, attemptFilter{Partner: "beacon", Status: "delivered", Limit: 1})) == 1
	})
	_, _, deliveries := e.do(http.MethodGet, "/v1/deliveries?partner=acme", nil, admin)
	// Every byte the history stream holds: attempts with their request and
	// response excerpts, and the ingest plans.
	stored := string(historyBytes(t, e.srv))
	if !strings.Contains(stored, `"body_excerpt":"ok: account=`) || !strings.Contains(stored, `"X-Request-Id":"`) {
		t.Errorf("history lacks beacon's response excerpt: %s", stored)
	}
	for what, text := range map[string]string{"dead letters": string(deadBody), "deliveries": string(deliveries), "logs": logs.String(), "history stream": stored} {
		if !strings.Contains(text, "/acme/install") || strings.Count(text, Redacted) < 10 {
			t.Errorf("%s do not show the redacted acme request: %s", what, text)
		}
		for _, secret := range []string{cred, "beacon-acct-9", "beacon-secret-token"} {
			for _, form := range encodings(secret) {
				if strings.Contains(text, form) {
					t.Errorf("%s hold the credential as %q: %s", what, form, text)
				}
			}
		}
	}
}
