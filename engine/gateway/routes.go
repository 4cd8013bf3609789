package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/adgate/adgate/engine/internal/console"
	"github.com/adgate/adgate/schemas"
)

// authClass says who may call a route. The OpenAPI document
// (schemas/openapi.json) names the same classes as security schemes, and
// TestRoutesMatchOpenAPI holds the two together.
type authClass string

const (
	// authPublic routes answer anyone: probes and the API description.
	authPublic authClass = "public"
	// authIngest routes authenticate the app's bearer token or HMAC
	// signature themselves (see handleIngest for why the order matters).
	authIngest authClass = "ingest"
	// authAdmin routes need the admin token.
	authAdmin authClass = "admin"
	// authAdminRead routes only read; today they take the admin token
	// like authAdmin, and a read-only credential may be allowed on them.
	authAdminRead authClass = "admin-read"
	// authMetrics routes take metrics.token or admin_token.
	authMetrics authClass = "metrics"
	// authConsole routes are the web console's pages, assets, login and
	// logout: each checks the console session itself (the login page and
	// the assets, which hold no data, need none).
	authConsole authClass = "console"
)

// route is one endpoint of the HTTP API.
type route struct {
	// Pattern is the http.ServeMux pattern, "METHOD /path/{param}".
	Pattern string
	Auth    authClass
	// Query lists the query parameters the route accepts; any other is a
	// 400 before the handler runs, so a misspelt filter (?partnr=x) can
	// never be read as "no filter".
	Query  []string
	Handle func(*Server, http.ResponseWriter, *http.Request)
}

// routeTable is every endpoint the gateway serves. Add a route here, with
// its query parameters, and describe it in schemas/openapi.json (the tests
// fail until both agree).
func routeTable() []route {
	return append([]route{
		{Pattern: "POST /v1/apps/{app}/events", Auth: authIngest, Handle: (*Server).handleIngest},
		{Pattern: "GET /v1/deliveries", Auth: authAdminRead, Query: []string{"event_id", "id", "app", "partner", "status", "since", "until", "cursor", "limit"}, Handle: (*Server).handleDeliveries},
		{Pattern: "GET /v1/apps/{app}/events/{event_id}/trace", Auth: authAdminRead, Query: []string{"since"}, Handle: (*Server).handleTrace},
		{Pattern: "GET /v1/deadletters", Auth: authAdminRead, Query: []string{"app", "partner", "since", "until", "error_class", "cursor", "limit"}, Handle: (*Server).handleDeadLetters},
		{Pattern: "POST /v1/deadletters/replay", Auth: authAdmin, Handle: (*Server).handleReplay},
		{Pattern: "POST /v1/apps/{app}/partners/{partner}/test", Auth: authAdmin, Query: []string{"postback", "os"}, Handle: (*Server).handleTest},
		{Pattern: "GET /v1/partners", Auth: authAdminRead, Query: []string{"app"}, Handle: (*Server).handlePartners},
		{Pattern: "POST /v1/apps/{app}/partners/{partner}/pause", Auth: authAdmin, Handle: (*Server).handlePause},
		{Pattern: "POST /v1/apps/{app}/partners/{partner}/resume", Auth: authAdmin, Handle: (*Server).handleResume},
		{Pattern: "GET /v1/stats", Auth: authAdminRead, Query: []string{"window", "app"}, Handle: (*Server).handleStats},
		{Pattern: "GET /v1/apps/{app}/sample", Auth: authAdminRead, Handle: (*Server).handleSample},
		// The playground changes nothing, whatever its method: admin-read.
		{Pattern: "POST /v1/playground", Auth: authAdminRead, Handle: (*Server).handlePlayground},
		{Pattern: "GET /v1/playground/specs", Auth: authAdminRead, Handle: (*Server).handlePlaygroundSpecs},
		{Pattern: "GET /console", Auth: authConsole, Handle: consoleRoot},
		// "/console/" is a prefix pattern: it answers the overview at
		// /console/ and a JSON 404 for any path no other row serves.
		{Pattern: "GET /console/", Auth: authConsole, Query: consolePageQuery, Handle: consolePage},
		{Pattern: "GET /console/static/{file}", Auth: authConsole, Handle: consoleStatic},
		{Pattern: "GET /console/static/js/{file}", Auth: authConsole, Handle: consoleStatic},
		{Pattern: "GET /console/login", Auth: authConsole, Query: []string{"next"}, Handle: func(s *Server, w http.ResponseWriter, r *http.Request) { s.con.ServeLoginPage(w, r) }},
		{Pattern: "POST /console/login", Auth: authConsole, Handle: func(s *Server, w http.ResponseWriter, r *http.Request) { s.con.ServeLogin(w, r) }},
		{Pattern: "POST /console/logout", Auth: authConsole, Handle: func(s *Server, w http.ResponseWriter, r *http.Request) { s.con.ServeLogout(w, r) }},
		{Pattern: "GET /console/session", Auth: authConsole, Handle: func(s *Server, w http.ResponseWriter, r *http.Request) { s.con.ServeSession(w, r) }},
		{Pattern: "POST /v1/reload", Auth: authAdmin, Handle: (*Server).handleReload},
		// /healthz and /readyz stay unauthenticated: orchestrators probe
		// them without credentials, and they expose nothing beyond
		// up/ready (and the config version hash). The API description
		// holds no secret and describes a public protocol.
		{Pattern: "GET /healthz", Auth: authPublic, Handle: (*Server).handleHealth},
		{Pattern: "GET /readyz", Auth: authPublic, Handle: (*Server).handleReady},
		{Pattern: "GET /v1/openapi.json", Auth: authPublic, Handle: (*Server).handleOpenAPI},
		{Pattern: "GET /metrics", Auth: authMetrics, Handle: (*Server).handleMetrics},
	}, consolePageRoutes()...)
}

// consolePageRoutes are the console's pages, one row each.
func consolePageRoutes() []route {
	var out []route
	for _, p := range console.Pages {
		out = append(out, route{Pattern: "GET /console/" + p, Auth: authConsole, Query: consolePageQuery, Handle: consolePage})
	}
	return out
}

// Handler is the HTTP API: the route table on a ServeMux, behind the
// layer that keeps every error answer JSON.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routeTable() {
		mux.Handle(rt.Pattern, s.guard(rt))
	}
	return s.jsonErrors(mux)
}

// guard wraps a route's handler in its authentication and its query
// parameter check, in that order: a caller without credentials learns
// nothing about the route, not even which parameters it takes.
func (s *Server) guard(rt route) http.Handler {
	accepted := slices.Clone(rt.Query)
	h := func(w http.ResponseWriter, r *http.Request) {
		if !checkQuery(w, r, accepted) {
			return
		}
		rt.Handle(s, w, r)
	}
	switch rt.Auth {
	case authAdmin:
		return s.admin(h)
	case authAdminRead:
		return s.adminRead(h)
	case authMetrics:
		return s.metricsAuth(http.HandlerFunc(h))
	default:
		// authPublic needs nothing; authIngest authenticates in its
		// handler, after cheap checks and before reading the body;
		// authConsole routes check the console session themselves.
		return http.HandlerFunc(h)
	}
}

// checkQuery answers 400 and reports false when r carries a query
// parameter outside accepted, or one of them more than once: handlers
// read the first value, so ?app=a&app=b would silently act on a alone.
// Handlers registered outside routeTable call it themselves.
func checkQuery(w http.ResponseWriter, r *http.Request, accepted []string) bool {
	var unknown, repeated []string
	q := r.URL.Query()
	for name, values := range q {
		switch {
		case !slices.Contains(accepted, name):
			unknown = append(unknown, name)
		case len(values) > 1:
			repeated = append(repeated, name)
		}
	}
	var msg string
	switch {
	case len(unknown) > 0:
		sort.Strings(unknown)
		takes := "this endpoint takes none"
		if len(accepted) > 0 {
			takes = "accepted: " + strings.Join(accepted, ", ")
		}
		msg = fmt.Sprintf("unknown query parameter %q (%s)", unknown[0], takes)
	case len(repeated) > 0:
		sort.Strings(repeated)
		msg = fmt.Sprintf("query parameter %q given %d times (once at most)", repeated[0], len(q[repeated[0]]))
	default:
		return true
	}
	// The body is left unread: without this net/http would read up to
	// 256 KiB of it to keep the connection alive.
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	writeError(w, http.StatusBadRequest, msg)
	return false
}

// jsonErrors answers what the mux answers itself (404 for an unknown path,
// 405 with Allow for a wrong method) in the API's JSON error shape, and
// turns a panic in a handler into a logged 500 rather than a dropped
// connection.
func (s *Server) jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if !sw.wrote {
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusInternalServerError, "internal error; the gateway logged it")
			}
		}()
		if pattern != "" {
			// Through the mux, not h: ServeHTTP sets the path values.
			mux.ServeHTTP(sw, r)
			return
		}
		// No route matched: the mux's own answer is text/plain. Keep its
		// status and headers (Allow, a redirect's Location) and replace
		// an error body with ours.
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.code < 400 {
			copyHeader(w.Header(), rec.header)
			w.WriteHeader(rec.code)
			_, _ = w.Write(rec.body.Bytes())
			return
		}
		var msg string
		switch rec.code {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			msg = fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow"))
		case http.StatusNotFound:
			msg = fmt.Sprintf("no endpoint %s %s; the API is described at GET /v1/openapi.json", r.Method, r.URL.Path)
		default:
			msg = strings.TrimSpace(rec.body.String())
		}
		writeError(w, rec.code, msg)
	})
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// statusWriter records whether a response was started, so a recovered
// panic does not write a second status line.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines) through the wrapper.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerRecorder takes the mux's answer for a request no route matched;
// that answer is a few bytes of text.
type headerRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.code == 0 {
		h.code = http.StatusOK
	}
	return h.body.Write(b)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// OpenAPIPath is the OpenAPI 3.1 document's path in package schemas.
const OpenAPIPath = "openapi.json"

// handleOpenAPI serves the OpenAPI document the binary embeds.
func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	b, err := schemas.FS.ReadFile(OpenAPIPath)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "reading the embedded OpenAPI document: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// httpError is a refusal with the status it answers.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// readLimited reads at most limit bytes of r's body. Beyond it the error
// is an *httpError 413 naming the limit; a failed read is a 400.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &httpError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body exceeds %d bytes", mbe.Limit)}
		}
		return nil, &httpError{code: http.StatusBadRequest, msg: "reading body: " + err.Error()}
	}
	return body, nil
}

// readAll is io.ReadAll with the buffer sized from a declared length
// within the limit, so that the usual event body is read into one
// allocation rather than grown from 512 bytes; the reader still decides
// where the body ends.
func readAll(rd io.Reader, declared, limit int64) ([]byte, error) {
	if declared <= 0 || declared > limit {
		return io.ReadAll(rd)
	}
	// one byte more, so the read that finds the end needs no growth
	b := make([]byte, 0, declared+1)
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// decodeStrict decodes one JSON value from body into v, refusing fields v
// does not have and anything after the value. An empty body leaves v as
// it is.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// readJSON reads r's body (at most limit bytes) into v strictly, see
// decodeStrict, answering 413 or 400 and reporting false when it cannot.
// what describes the expected body for the 400 message.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any, what string) bool {
	body, err := readLimited(w, r, limit)
	if err == nil {
		err = decodeStrict(body, v)
		if err != nil {
			err = &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf("body must be %s: %v", what, err)}
		}
	}
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.code, he.msg)
		return false
	}
	return true
}
