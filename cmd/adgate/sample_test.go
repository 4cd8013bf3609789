package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSamplePull pulls from a real HTTP server answering as the gateway
// does; the gateway's own side is tested in engine/gateway.
func TestSamplePull(t *testing.T) {
	const sample = "{\"name\":\"INSTALL\"}\n{\"name\":\"OPEN\"}\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer admin-tok-1":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"admin token not accepted"}`))
		case r.URL.Path == "/v1/apps/my_app/sample":
			w.Header().Set("Content-Type", "application/x-ndjson")
			_, _ = w.Write([]byte(sample))
		default:
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":"sampling is off: set sample.events_per_app in the config"}`))
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "sample.ndjson")
	cases := []struct {
		name, token string
		args        []string
		code        int
		stdout      string
		inStderr    string
	}{
		{"stdout", "admin-tok-1", []string{"pull", "--app", "my_app", "--url", srv.URL}, 0, sample, ""},
		{"file", "admin-tok-1", []string{"pull", "--app", "my_app", "--url", srv.URL + "/", "-o", out}, 0, "", "wrote 2 event(s) to " + out},
		{"server error", "admin-tok-1", []string{"pull", "--app", "other", "--url", srv.URL}, 1, "", "409 Conflict: sampling is off"},
		{"wrong token", "nope", []string{"pull", "--app", "my_app", "--url", srv.URL}, 1, "", "admin token not accepted"},
		{"no token", "", []string{"pull", "--app", "my_app", "--url", srv.URL}, 1, "", "$ADGATE_ADMIN_TOKEN is not set"},
		{"no app", "admin-tok-1", []string{"pull", "--url", srv.URL}, 2, "", "--app is required"},
		{"no pull", "admin-tok-1", []string{"--app", "my_app"}, 2, "", "give: sample pull"},
		{"bad url", "admin-tok-1", []string{"pull", "--app", "my_app", "--url", "127.0.0.1:8080"}, 1, "", "want the gateway's http(s)://HOST:PORT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(adminTokenEnv, c.token)
			code, stdout, stderr := runCLI(t, append([]string{"sample"}, c.args...)...)
			if code != c.code || stdout != c.stdout || !strings.Contains(stderr, c.inStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, c.code, c.stdout, c.inStderr)
			}
		})
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != sample {
		t.Errorf("-o wrote %q, %v", b, err)
	}
}
