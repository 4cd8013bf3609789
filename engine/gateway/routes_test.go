package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// routePath fills a route pattern's path parameters with the testdata
// config's app and partner.
func routePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return method, strings.NewReplacer("{app}", "shop", "{partner}", "acme").Replace(path)
}

// credentialsFor are credentials each auth class accepts in the testdata
// config.
func credentialsFor(a authClass) map[string]string {
	switch a {
	case authIngest:
		return bearer("shop-token-123")
	case authAdmin, authAdminRead:
		return bearer("test-admin-token-1")
	case authMetrics:
		return bearer("test-metrics-token-1")
	}
	return nil
}

// wantJSONError requires the documented error shape: JSON with a
// non-empty "error" holding want.
func wantJSONError(t *testing.T, what string, code, wantCode int, hdr http.Header, body []byte, want string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: status %d, want %d: %s", what, code, wantCode, body)
	}
	if mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type")); mt != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, hdr.Get("Content-Type"))
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("%s: body %q is not {\"error\": \"...\"}", what, body)
	}
	if !strings.Contains(e.Error, want) {
		t.Errorf("%s: error %q does not say %q", what, e.Error, want)
	}
}

// TestRoutesAnswerJSONErrors walks the route table: on every route an
// unknown query parameter is a 400 naming the accepted ones, and so is a
// repeated one (after authentication), a wrong method a 405 with Allow,
// and every such answer is the JSON error shape. The harness checks each
// answer against the OpenAPI document as well.
func TestRoutesAnswerJSONErrors(t *testing.T) {
	e, _ := startEnv(t, newCapture(t), envOpts{})
	for _, rt := range routeTable() {
		method, path := routePath(rt.Pattern)
		t.Run(rt.Pattern, func(t *testing.T) {
			code, hdr, body := e.do(method, path+"?partnr=x", nil, credentialsFor(rt.Auth))
			want := `unknown query parameter "partnr" (this endpoint takes none)`
			if len(rt.Query) > 0 {
				want = `unknown query parameter "partnr" (accepted: ` + strings.Join(rt.Query, ", ") + ")"
			}
			wantJSONError(t, "unknown parameter", code, http.StatusBadRequest, hdr, body, want)

			if len(rt.Query) > 0 {
				p := rt.Query[0]
				code, hdr, body = e.do(method, path+"?"+p+"=a&"+p+"=b", nil, credentialsFor(rt.Auth))
				wantJSONError(t, "repeated parameter", code, http.StatusBadRequest, hdr, body, fmt.Sprintf("query parameter %q given 2 times", p))
			}

			if rt.Auth == authAdmin || rt.Auth == authAdminRead || rt.Auth == authMetrics {
				code, hdr, body = e.do(method, path+"?partnr=x", nil, nil)
				wantJSONError(t, "unknown parameter without credentials", code, http.StatusUnauthorized, hdr, body, "Bearer")
			}

			code, hdr, body = e.do(http.MethodDelete, path, nil, credentialsFor(rt.Auth))
			wantJSONError(t, "wrong method", code, http.StatusMethodNotAllowed, hdr, body, "method DELETE not allowed on "+path)
			if !strings.Contains(hdr.Get("Allow"), method) {
				t.Errorf("wrong method: Allow %q does not list %s", hdr.Get("Allow"), method)
			}
		})
	}
	// The description is served without credentials, and is the
	// repository's file.
	code, hdr, body := e.do(http.MethodGet, "/v1/openapi.json", nil, nil)
	want, err := os.ReadFile(filepath.Join("..", "..", "schemas", OpenAPIPath))
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" || !bytes.Equal(body, want) {
		t.Errorf("GET /v1/openapi.json: %d %s, not schemas/%s", code, hdr.Get("Content-Type"), OpenAPIPath)
	}
	for _, path := range []string{"/", "/v1", "/v1/nope", "/v1/apps/shop", "/metrics/x", "/v1/apps/shop/partners/acme/test/x"} {
		code, hdr, body := e.do(http.MethodGet, path, nil, bearer("test-admin-token-1"))
		wantJSONError(t, "GET "+path, code, http.StatusNotFound, hdr, body, "no endpoint GET "+path)
	}
}

// TestRequestBodiesBounded: every route that reads a body refuses one over
// its bound with a JSON 413, and the strict JSON decoding refuses unknown
// fields and trailing data.
func TestRequestBodiesBounded(t *testing.T) {
	e, _ := startEnv(t, newCapture(t), envOpts{})
	admin := bearer("test-admin-token-1")
	big := bytes.Repeat([]byte(" "), 2<<20)
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		body               []byte
		code               int
		want               string
	}{
		{"ingest over max_body_bytes", "POST", "/v1/apps/shop/events", bearer("shop-token-123"), big, 413, "body exceeds 8192 bytes"},
		{"test over max_body_bytes", "POST", "/v1/apps/shop/partners/acme/test", admin, big, 413, "body exceeds 8192 bytes"},
		{"replay over 1 MiB", "POST", "/v1/deadletters/replay", admin, big, 413, "body exceeds 1048576 bytes"},
		{"replay unknown field", "POST", "/v1/deadletters/replay", admin, []byte(`{"partnr":"acme"}`), 400, `unknown field "partnr"`},
		{"replay trailing data", "POST", "/v1/deadletters/replay", admin, []byte(`{"partner":"acme"} {}`), 400, "unexpected data after the JSON value"},
		{"replay bad time", "POST", "/v1/deadletters/replay", admin, []byte(`{"since":"yesterday"}`), 400, "RFC 3339"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := e.do(tc.method, tc.path, tc.body, tc.hdr)
			wantJSONError(t, tc.name, code, tc.code, hdr, body, tc.want)
		})
	}
	// A valid strict body still works.
	code, _, body := e.do("POST", "/v1/deadletters/replay", []byte(`{"partner":"acme"}`+"\n"), admin)
	if code != http.StatusOK || !bytes.Contains(body, []byte(`"replayed":0`)) {
		t.Errorf("replay with a valid body: %d %s", code, body)
	}
}

// TestPanicAnswersJSON: a panicking handler (there should be none) is
// answered with a logged JSON 500, and the server keeps serving.
func TestPanicAnswersJSON(t *testing.T) {
	logs := &syncBuffer{}
	s := &Server{log: slog.New(slog.NewJSONHandler(logs, nil))}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("handler bug") })
	mux.HandleFunc("GET /late", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		panic("after the header")
	})
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	srv := httptest.NewServer(s.jsonErrors(mux))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	resp.Body.Close()
	wantJSONError(t, "panic", resp.StatusCode, http.StatusInternalServerError, resp.Header, b.Bytes(), "internal error")
	if !strings.Contains(logs.String(), "handler bug") {
		t.Errorf("the panic is not logged: %s", logs.String())
	}
	if resp, err := http.Get(srv.URL + "/late"); err == nil {
		if resp.StatusCode != http.StatusOK {
			t.Errorf("a panic after the header changed the status to %d", resp.StatusCode)
		}
		resp.Body.Close()
	}
	resp, err = http.Get(srv.URL + "/ok")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("server stopped serving after a panic: %v", err)
	}
	resp.Body.Close()
}
