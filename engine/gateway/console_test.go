package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/internal/console"
)

const testReadOnlyToken = "test-read-only-token-1"

// withReadOnly adds a read-only token to the test config.
func withReadOnly(cfg string) string {
	return strings.Replace(cfg, "admin_token: test-admin-token-1", "admin_token: test-admin-token-1\nread_only_token: "+testReadOnlyToken, 1)
}

// login posts the login form and returns the session cookie ("" if none
// was set) and the status.
func (e *testEnv) login(token string) (string, int) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/console/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == console.CookieName {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
				e.t.Errorf("session cookie attributes: %+v", c)
			}
			return c.Value, resp.StatusCode
		}
	}
	return "", resp.StatusCode
}

// csrf reads the session's CSRF token.
func (e *testEnv) csrf(cookie string) string {
	e.t.Helper()
	code, _, b := e.do("GET", "/console/session", nil, map[string]string{"Cookie": console.CookieName + "=" + cookie})
	if code != http.StatusOK {
		e.t.Fatalf("GET /console/session: %d %s", code, b)
	}
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.CSRF == "" {
		e.t.Fatalf("session answer %s: %v", b, err)
	}
	return s.CSRF
}

func TestConsoleAuth(t *testing.T) {
	sink := newCapture(t)
	e, logs := startEnv(t, sink, envOpts{mutate: withReadOnly})

	admin, code := e.login("test-admin-token-1")
	if admin == "" || code != http.StatusSeeOther {
		t.Fatalf("admin login: %d, cookie %q", code, admin)
	}
	ro, _ := e.login(testReadOnlyToken)
	if ro == "" {
		t.Fatal("read-only login set no cookie")
	}
	if c, code := e.login("not-a-token"); c != "" || code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, cookie %q", code, c)
	}
	adminCSRF, roCSRF := e.csrf(admin), e.csrf(ro)
	cookie := func(v string) string { return console.CookieName + "=" + v }
	same := "http://" + e.srv.Addr()
	replayBody := []byte(`{"ids":["none"]}`)
	type authCase struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		want   int
	}
	cases := []authCase{
		// Nothing but the login page and the static assets answers
		// without a session.
		{"page without session redirects", "GET", "/console/", nil, nil, http.StatusSeeOther},
		{"overview without session", "GET", "/console/overview", nil, nil, http.StatusSeeOther},
		{"playground page without session", "GET", "/console/playground", nil, nil, http.StatusSeeOther},
		{"session without session", "GET", "/console/session", nil, nil, http.StatusUnauthorized},
		{"logout without session", "POST", "/console/logout", nil, nil, http.StatusUnauthorized},
		{"api without anything", "GET", "/v1/deliveries", nil, nil, http.StatusUnauthorized},
		{"playground without anything", "POST", "/v1/playground", []byte(`{"partner":"acme"}`), nil, http.StatusUnauthorized},
		{"login page is public", "GET", "/console/login", nil, nil, http.StatusOK},
		{"static asset is public", "GET", "/console/static/app.css", nil, nil, http.StatusOK},
		{"unknown page", "GET", "/console/nope", nil, map[string]string{"Cookie": cookie(admin)}, http.StatusNotFound},
		{"forged cookie", "GET", "/v1/deliveries", nil, map[string]string{"Cookie": cookie(admin[:len(admin)-2] + "xx")}, http.StatusForbidden},
		{"role swapped in cookie", "GET", "/v1/deliveries", nil, map[string]string{"Cookie": cookie(strings.Replace(ro, ".read-only.", ".admin.", 1))}, http.StatusForbidden},

		{"page with session", "GET", "/console/deliveries", nil, map[string]string{"Cookie": cookie(admin)}, http.StatusOK},
		{"api GET with session", "GET", "/v1/deliveries", nil, map[string]string{"Cookie": cookie(admin)}, http.StatusOK},
		{"unsafe without CSRF", "POST", "/v1/deadletters/replay", replayBody, map[string]string{"Cookie": cookie(admin)}, http.StatusForbidden},
		{"unsafe with wrong CSRF", "POST", "/v1/deadletters/replay", replayBody, map[string]string{"Cookie": cookie(admin), console.HeaderCSRF: roCSRF}, http.StatusForbidden},
		{"unsafe cross-site", "POST", "/v1/deadletters/replay", replayBody, map[string]string{"Cookie": cookie(admin), console.HeaderCSRF: adminCSRF, "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"unsafe from another origin", "POST", "/v1/deadletters/replay", replayBody, map[string]string{"Cookie": cookie(admin), console.HeaderCSRF: adminCSRF, "Origin": "http://evil.example"}, http.StatusForbidden},
		{"unsafe with CSRF", "POST", "/v1/deadletters/replay", replayBody, map[string]string{"Cookie": cookie(admin), console.HeaderCSRF: adminCSRF, "Origin": same, "Sec-Fetch-Site": "same-origin"}, http.StatusOK},

		{"read-only session reads", "GET", "/v1/deadletters", nil, map[string]string{"Cookie": cookie(ro)}, http.StatusOK},
		{"read-only session cannot change", "POST", "/v1/deadletters/replay", replayBody, map[string]string{"Cookie": cookie(ro), console.HeaderCSRF: roCSRF}, http.StatusForbidden},
		{"read-only session uses the playground", "POST", "/v1/playground", []byte(`{"partner":"acme"}`), map[string]string{"Cookie": cookie(ro), console.HeaderCSRF: roCSRF}, http.StatusOK},
		{"read-only session's playground needs CSRF", "POST", "/v1/playground", []byte(`{"partner":"acme"}`), map[string]string{"Cookie": cookie(ro)}, http.StatusForbidden},
		{"read-only token uses the playground", "POST", "/v1/playground", []byte(`{"partner":"acme"}`), bearer(testReadOnlyToken), http.StatusOK},
		{"read-only token reads", "GET", "/v1/deliveries", nil, bearer(testReadOnlyToken), http.StatusOK},
		{"read-only token cannot change", "POST", "/v1/deadletters/replay", replayBody, bearer(testReadOnlyToken), http.StatusForbidden},
		{"admin token still works", "POST", "/v1/deadletters/replay", replayBody, bearer("test-admin-token-1"), http.StatusOK},
		{"ingest token is not admin", "GET", "/v1/deliveries", nil, bearer("shop-token-123"), http.StatusForbidden},
	}
	for _, pg := range console.Pages {
		cases = append(cases, authCase{"page " + pg + " without session", "GET", "/console/" + pg, nil, nil, http.StatusSeeOther})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, h, b := e.noFollow(c.method, c.path, c.body, c.hdr)
			if code != c.want {
				t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, code, c.want, b)
			}
			if strings.HasPrefix(c.path, "/console/") {
				if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
					t.Errorf("CSP %q", csp)
				}
				if h.Get("X-Frame-Options") != "DENY" {
					t.Errorf("X-Frame-Options %q", h.Get("X-Frame-Options"))
				}
				if !strings.HasPrefix(c.path, "/console/static/") && h.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q on a private page", h.Get("Cache-Control"))
				}
			}
			if code >= 400 && strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				var eb struct {
					Error string `json:"error"`
				}
				if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
					t.Errorf("error body %s is not {\"error\": ...}", b)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), `"by":"session `) || !strings.Contains(logs.String(), `"by":"bearer token (admin)"`) {
		t.Errorf("admin changes not logged with who made them:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), admin) {
		t.Error("a session cookie reached the logs")
	}

	// Logout revokes the session: the same cookie no longer works.
	code, _, b := e.do("POST", "/console/logout", nil, map[string]string{"Cookie": cookie(admin), console.HeaderCSRF: adminCSRF})
	if code != http.StatusOK {
		t.Fatalf("logout: %d %s", code, b)
	}
	if code, _, _ := e.do("GET", "/v1/deliveries", nil, map[string]string{"Cookie": cookie(admin)}); code != http.StatusForbidden {
		t.Fatalf("revoked session still accepted: %d", code)
	}

	// Rotating the admin token ends every session.
	fresh, _ := e.login("test-admin-token-1")
	cfg, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfg, []byte(strings.Replace(string(cfg), "test-admin-token-1", "test-admin-token-2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := e.do("GET", "/v1/deliveries", nil, map[string]string{"Cookie": cookie(fresh)}); code != http.StatusForbidden {
		t.Fatalf("session survived the admin token's rotation: %d", code)
	}
}

func TestConsoleLoginRateLimit(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	var codes []int
	for range 7 {
		_, code := e.login("wrong-token-guess")
		codes = append(codes, code)
	}
	if codes[0] != http.StatusUnauthorized || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("login statuses %v: want 401s then 429", codes)
	}
	// The right token is refused too while the address is limited: the
	// limit is on attempts, not failures.
	if c, code := e.login("test-admin-token-1"); c != "" || code != http.StatusTooManyRequests {
		t.Fatalf("limited login: %d, cookie %q", code, c)
	}
}

// TestConsoleLogoutShared checks a logout is kept in the queue, not only
// in the memory of the instance that served it: after a restart on the
// same data, the logged-out session is still refused while another one
// still works.
func TestConsoleLogoutShared(t *testing.T) {
	sink := newCapture(t)
	e, _ := startEnv(t, sink, envOpts{})
	out, _ := e.login("test-admin-token-1")
	kept, _ := e.login("test-admin-token-1")
	if code, _, b := e.do("POST", "/console/logout", nil, map[string]string{"Cookie": console.CookieName + "=" + out, console.HeaderCSRF: e.csrf(out)}); code != http.StatusOK {
		t.Fatalf("logout: %d %s", code, b)
	}
	e.stop()
	e2, _ := startEnv(t, sink, envOpts{dir: e.dir})
	cases := []struct {
		name   string
		cookie string
		want   int
	}{
		{"logged out before the restart", out, http.StatusForbidden},
		{"never logged out", kept, http.StatusOK},
	}
	for _, c := range cases {
		if code, _, b := e2.do("GET", "/console/session", nil, map[string]string{"Cookie": console.CookieName + "=" + c.cookie}); code != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, code, c.want, b)
		}
	}
}
