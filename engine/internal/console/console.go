// Package console is the gateway's web console at /console/: the login
// page, the console session (an HMAC-signed cookie) and its CSRF token,
// the security headers, and the embedded HTML, CSS and JavaScript. The
// pages read and change the gateway through its /v1 admin API, which
// accepts the session through Authenticate.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// CookieName is the session cookie; HeaderCSRF carries the session's CSRF
// token on every unsafe request the console makes.
const (
	CookieName = "adgate_session"
	HeaderCSRF = "X-CSRF-Token"
)

// DefaultTTL is how long a session lasts: a working day.
const DefaultTTL = 8 * time.Hour

// Pages are the console's pages, each served at /console/<page>.
var Pages = []string{"overview", "partners", "deliveries", "trace", "deadletters", "playground"}

//go:embed assets
var assets embed.FS

// Tokens are the credentials a login may present, read from the running
// config at every request so a reload applies at once.
type Tokens struct {
	Admin    string
	ReadOnly string
}

// Options configure a Console.
type Options struct {
	// Tokens returns the running config's tokens.
	Tokens func() Tokens
	// Equal compares a presented token with a configured one in constant
	// time (the gateway's comparison, so there is one).
	Equal func(got, want string) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TTL is a session's lifetime; 0 means DefaultTTL.
	TTL time.Duration
	// LoginBurst and LoginRefill rate-limit logins per client address;
	// 0 means 5 attempts, then one every 12 seconds.
	LoginBurst  int
	LoginRefill time.Duration
	// Log receives logins and logouts; nil discards them.
	Log *slog.Logger
	// WriteJSON writes an answer (the gateway's, so every body, errors
	// included, has the API's one shape).
	WriteJSON func(w http.ResponseWriter, code int, v any)
	// Revoked, if set, shares logouts between the instances (the queue's
	// session bucket); without it a logout is known to this instance only.
	Revoked Revoker
}

// Revoker keeps the logged-out sessions where every instance sees them.
type Revoker interface {
	RevokeSession(ctx context.Context, id string, until time.Time) error
	SessionRevoked(ctx context.Context, id string) (bool, error)
}

// Console serves /console/ and authenticates its sessions.
type Console struct {
	opt     Options
	static  fs.FS
	login   *template.Template
	shell   []byte
	limit   *loginLimiter
	revoked revocations
	cop     *http.CrossOriginProtection
}

// New returns a Console.
func New(opt Options) (*Console, error) {
	if opt.Tokens == nil || opt.Equal == nil || opt.WriteJSON == nil {
		return nil, errors.New("console: Options.Tokens, Equal and WriteJSON are required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.LoginBurst <= 0 {
		opt.LoginBurst = 5
	}
	if opt.LoginRefill <= 0 {
		opt.LoginRefill = 12 * time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	login, err := template.ParseFS(assets, "assets/login.html")
	if err != nil {
		return nil, err
	}
	shell, err := assets.ReadFile("assets/index.html")
	if err != nil {
		return nil, err
	}
	return &Console{opt: opt, static: static, login: login, shell: shell,
		limit: newLoginLimiter(opt.LoginBurst, opt.LoginRefill), cop: http.NewCrossOriginProtection()}, nil
}

// The console's handlers, each with the console's security headers. The
// gateway's route table mounts them:
//
//	GET  /console/static/...  ServeStatic (no session: CSS and scripts, no data)
//	GET  /console/login       ServeLoginPage
//	POST /console/login       ServeLogin
//	POST /console/logout      ServeLogout
//	GET  /console/session     ServeSession
//	GET  /console/, /console/<page>  ServePage
func (c *Console) ServeStatic(w http.ResponseWriter, r *http.Request) {
	c.secure(false, http.StripPrefix("/console/static/", http.HandlerFunc(c.serveStatic))).ServeHTTP(w, r)
}

// ServeLoginPage serves the login form.
func (c *Console) ServeLoginPage(w http.ResponseWriter, r *http.Request) {
	c.secured(w, r, c.serveLogin)
}

// ServeLogin starts a session.
func (c *Console) ServeLogin(w http.ResponseWriter, r *http.Request) { c.secured(w, r, c.handleLogin) }

// ServeLogout ends the session.
func (c *Console) ServeLogout(w http.ResponseWriter, r *http.Request) {
	c.secured(w, r, c.handleLogout)
}

// ServeSession answers the session's role, CSRF token and expiry.
func (c *Console) ServeSession(w http.ResponseWriter, r *http.Request) {
	c.secured(w, r, c.handleSession)
}

// ServePage serves a console page: /console/ (the overview) or
// /console/<one of Pages>; any other path is a 404.
func (c *Console) ServePage(w http.ResponseWriter, r *http.Request) { c.secured(w, r, c.servePage) }

func (c *Console) secured(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	c.secure(true, h).ServeHTTP(w, r)
}

// csp allows only the console's own scripts, styles and API: no inline
// script or style, no framing, forms posting only here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// secure sets the headers every console response carries; private
// responses (pages, session answers) are never stored by a cache.
func (c *Console) secure(private bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if private {
			hd.Set("Cache-Control", "no-store")
		} else {
			hd.Set("Cache-Control", "no-cache")
		}
		h.ServeHTTP(w, r)
	})
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	b, err := fs.ReadFile(c.static, p)
	if err != nil || !fs.ValidPath(p) {
		c.writeError(w, http.StatusNotFound, "no such console asset")
		return
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if strings.HasSuffix(p, ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(b)
}

// servePage answers a console page with the app shell, whose scripts
// draw the page named by the path; without a session it sends the
// browser to the login page.
func (c *Console) servePage(w http.ResponseWriter, r *http.Request) {
	page := strings.TrimPrefix(r.URL.Path, "/console/")
	if page != "" && !validPage(page) {
		c.writeError(w, http.StatusNotFound, "no such console page")
		return
	}
	if _, err := c.session(r); err != nil {
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(c.shell)
}

func validPage(p string) bool {
	for _, q := range Pages {
		if p == q {
			return true
		}
	}
	return false
}

// loginView fills login.html.
type loginView struct {
	Error string
	Next  string
}

func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, http.StatusOK, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) renderLogin(w http.ResponseWriter, code int, v loginView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = c.login.Execute(w, v)
}

// safeNext keeps a post-login destination only if it is a console page,
// so the login form cannot be used to redirect elsewhere.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/console/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/console/"
	}
	return u.RequestURI()
}

// maxLoginBody bounds a login request.
const maxLoginBody = 4 << 10

// handleLogin is POST /console/login with a form (token=..., next=...)
// from the login page, or JSON {"token": "..."} from a script. The token
// is compared with both configured tokens in constant time.
func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	isJSON := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	fail := func(code int, msg, next string) {
		if isJSON {
			c.writeError(w, code, msg)
			return
		}
		c.renderLogin(w, code, loginView{Error: msg, Next: next})
	}
	if err := c.cop.Check(r); err != nil {
		fail(http.StatusForbidden, "cross-origin login refused", "/console/")
		return
	}
	now := c.opt.Now()
	if ok, wait := c.limit.allow(clientAddr(r), now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		fail(http.StatusTooManyRequests, "too many login attempts from your address: try again in "+(wait.Round(time.Second)+time.Second).String(), "/console/")
		return
	}
	token, next, err := readLogin(w, r, isJSON)
	if err != nil {
		fail(http.StatusBadRequest, err.Error(), "/console/")
		return
	}
	t := c.opt.Tokens()
	if t.Admin == "" {
		fail(http.StatusForbidden, "the console is disabled: set admin_token in the gateway config", next)
		return
	}
	isAdmin := c.opt.Equal(token, t.Admin)
	isRO := t.ReadOnly != "" && c.opt.Equal(token, t.ReadOnly)
	var role Role
	switch {
	case isAdmin:
		role = RoleAdmin
	case isRO:
		role = RoleReadOnly
	default:
		c.opt.Log.Warn("console login refused", "addr", clientAddr(r))
		fail(http.StatusUnauthorized, "token not accepted", next)
		return
	}
	value, s, err := newSession(t, role, now, c.opt.TTL)
	if err != nil {
		fail(http.StatusInternalServerError, "cannot start a session", next)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: value, Path: "/", Expires: s.expires, MaxAge: int(c.opt.TTL.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	c.opt.Log.Info("console login", "session", s.id, "role", string(role), "addr", clientAddr(r))
	if isJSON {
		c.opt.WriteJSON(w, http.StatusOK, sessionView{Role: s.role, CSRFToken: csrfToken(t, s), Expires: s.expires.UTC()})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func readLogin(w http.ResponseWriter, r *http.Request, isJSON bool) (token, next string, err error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err != nil {
		return "", "", errors.New("login request too large")
	}
	if isJSON {
		var in struct {
			Token string `json:"token"`
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return "", "", errors.New(`body must be {"token": "..."}`)
		}
		return in.Token, "/console/", nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "", errors.New("malformed form")
	}
	return form.Get("token"), safeNext(form.Get("next")), nil
}

// clientAddr is the address logins are limited by: the connection's, not
// a header a client could set.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// handleLogout is POST /console/logout: it needs the session and its
// CSRF token (so another site cannot log you out), revokes the session
// and clears the cookie.
func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request) {
	s, err := c.check(r)
	if err != nil && !errors.Is(err, ErrReadOnly) {
		c.writeAuthError(w, err)
		return
	}
	c.revoked.revoke(s, c.opt.Now())
	if c.opt.Revoked != nil {
		if err := c.opt.Revoked.RevokeSession(r.Context(), s.id, s.expires); err != nil {
			// This instance refuses the session already; say that the
			// others may not.
			c.opt.Log.Error("console logout not shared with the other instances", "session", s.id, "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	c.opt.Log.Info("console logout", "session", s.id, "role", string(s.role))
	c.opt.WriteJSON(w, http.StatusOK, map[string]bool{"logged_out": true})
}

// sessionView answers GET /console/session: what the pages need to know.
type sessionView struct {
	Role      Role      `json:"role"`
	CSRFToken string    `json:"csrf_token"`
	Expires   time.Time `json:"expires"`
}

func (c *Console) handleSession(w http.ResponseWriter, r *http.Request) {
	s, err := c.session(r)
	if err != nil {
		c.writeAuthError(w, err)
		return
	}
	c.opt.WriteJSON(w, http.StatusOK, sessionView{Role: s.role, CSRFToken: csrfToken(c.opt.Tokens(), s), Expires: s.expires.UTC()})
}

// HasSession reports whether r carries a session cookie (valid or not):
// such a request is authenticated by Authenticate, not a bearer token.
func (c *Console) HasSession(r *http.Request) bool {
	ck, err := r.Cookie(CookieName)
	return err == nil && ck.Value != ""
}

// session verifies r's session cookie.
func (c *Console) session(r *http.Request) (session, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return session{}, ErrNoSession
	}
	s, err := parseSession(c.opt.Tokens(), ck.Value, c.opt.Now())
	if err != nil {
		return session{}, err
	}
	if c.revoked.revoked(s.id) {
		return session{}, ErrSession
	}
	if c.opt.Revoked != nil {
		gone, err := c.opt.Revoked.SessionRevoked(r.Context(), s.id)
		if err != nil {
			// Fail closed: a session logged out elsewhere must not pass
			// because the record of it cannot be read.
			c.opt.Log.Error("console session not checked", "session", s.id, "err", err)
			return session{}, ErrUnavailable
		}
		if gone {
			c.revoked.revoke(s, c.opt.Now())
			return session{}, ErrSession
		}
	}
	return s, nil
}

// check verifies the session and, for an unsafe method, that the request
// is same-origin and carries the CSRF token, and that the session may
// change things (ErrReadOnly, with the session, if not).
func (c *Console) check(r *http.Request) (session, error) { return c.checkFor(r, false) }

// checkFor is check; readOK lets a read-only session use an unsafe method
// on a route that changes nothing (the playground).
func (c *Console) checkFor(r *http.Request, readOK bool) (session, error) {
	s, err := c.session(r)
	if err != nil {
		return s, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return s, nil
	}
	if err := c.cop.Check(r); err != nil {
		return s, ErrCSRF
	}
	if !csrfValid(c.opt.Tokens(), s, r.Header.Get(HeaderCSRF)) {
		return s, ErrCSRF
	}
	if s.role != RoleAdmin && !readOK {
		return s, ErrReadOnly
	}
	return s, nil
}

// Authenticate checks a request that carries a session cookie, as the
// admin API's one auth function does for such requests (see HasSession):
// the session must be valid and not logged out, and unsafe methods need
// the CSRF token, a same-origin request and, unless readOK (a route that
// changes nothing), an admin session.
func (c *Console) Authenticate(r *http.Request, readOK bool) (Identity, error) {
	s, err := c.checkFor(r, readOK)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Role: s.role, Via: "session", Session: s.id}, nil
}

// AuthStatus is the HTTP status for an Authenticate error.
func AuthStatus(err error) int {
	switch {
	case errors.Is(err, ErrNoSession):
		return http.StatusUnauthorized
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusForbidden
}

func (c *Console) writeAuthError(w http.ResponseWriter, err error) {
	c.writeError(w, AuthStatus(err), err.Error())
}

func (c *Console) writeError(w http.ResponseWriter, code int, msg string) {
	c.opt.WriteJSON(w, code, map[string]string{"error": msg})
}
