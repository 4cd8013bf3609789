package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/console"
)

// newConsole builds the web console, reading the tokens from the running
// config at each request so a reload (a rotated admin token) applies at
// once.
func (s *Server) newConsole() (*console.Console, error) {
	return console.New(console.Options{
		Tokens: func() console.Tokens {
			cfg := s.rt.Load().cfg
			return console.Tokens{Admin: cfg.AdminToken, ReadOnly: cfg.ReadOnlyToken}
		},
		Equal:     tokenEqual,
		Now:       s.now,
		Log:       s.log.With("component", "console"),
		WriteJSON: writeJSON,
		Revoked:   queueRevoker{s},
	})
}

// queueRevoker keeps console logouts in the queue's session bucket,
// shared by every instance; it reads s.q at each call, since the console
// is built before the queue is opened.
type queueRevoker struct{ s *Server }

func (q queueRevoker) RevokeSession(ctx context.Context, id string, until time.Time) error {
	return q.s.q.RevokeSession(ctx, id, until)
}

func (q queueRevoker) SessionRevoked(ctx context.Context, id string) (bool, error) {
	return q.s.q.SessionRevoked(ctx, id)
}

// consolePageQuery are the query parameters of the console's pages: their
// filters, kept in the address so a view can be shared.
var consolePageQuery = []string{"app", "partner", "status", "event_id", "id", "since", "until", "window", "error_class"}

func consolePage(s *Server, w http.ResponseWriter, r *http.Request)   { s.con.ServePage(w, r) }
func consoleStatic(s *Server, w http.ResponseWriter, r *http.Request) { s.con.ServeStatic(w, r) }

// consoleRoot sends /console to the console's overview.
func consoleRoot(_ *Server, w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// adminIdentity is the admin API's one auth function. A request with a
// console session cookie and no bearer token is the console's: the
// session decides (and, on unsafe methods, its CSRF token and origin).
// Otherwise the bearer token decides: the admin token may do anything,
// the read-only token only read: safe methods, or any method when readOK
// says the route changes nothing. On refusal it has answered and reports
// false.
func (s *Server) adminIdentity(w http.ResponseWriter, r *http.Request, cfg *config.Config, readOK bool) (console.Identity, bool) {
	readOK = readOK || safeMethod(r.Method)
	if !hasBearer(r) && s.con.HasSession(r) {
		id, err := s.con.Authenticate(r, readOK)
		if err != nil {
			writeError(w, console.AuthStatus(err), err.Error())
			return id, false
		}
		return id, true
	}
	isAdmin := checkBearer(r, []string{cfg.AdminToken}) == nil
	isRO := cfg.ReadOnlyToken != "" && checkBearer(r, []string{cfg.ReadOnlyToken}) == nil
	switch {
	case isAdmin:
		return console.Identity{Role: console.RoleAdmin, Via: "bearer"}, true
	case isRO && readOK:
		return console.Identity{Role: console.RoleReadOnly, Via: "bearer"}, true
	case isRO:
		writeError(w, http.StatusForbidden, console.ErrReadOnly.Error())
		return console.Identity{}, false
	}
	bearerRefused(w, r, []string{cfg.AdminToken}, "adgate-admin", "admin endpoint: send Authorization: Bearer <admin_token>, or log in to the console", "admin token not accepted")
	return console.Identity{}, false
}
