package deliver

import (
	"context"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

type requestCtxKey struct{}

// TestNewRequest: newRequest builds the request http.NewRequestWithContext
// builds for the same method, URL and body, and refuses the methods it
// refuses.
func TestNewRequest(t *testing.T) {
	tests := []struct{ method, body string }{
		{"", ""}, {"GET", ""}, {"get", ""}, {"POST", ""}, {"PURGE", ""}, {"M-SEARCH", ""},
		{"POST", "a=1&b=2"}, {"PUT", `{"k":"v"}`}, {"", "x"},
		{"BAD METHOD", ""}, {"GÉT", ""}, {"GET\n", ""}, {"(GET)", ""}, {"BAD METHOD", "x"},
	}
	u, err := url.Parse("https://user:pw@api.partner.test:8443/p/a%2Fb?k=v&t=1#frag")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), requestCtxKey{}, "attempt")
	for _, tt := range tests {
		var body io.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		want, werr := http.NewRequestWithContext(ctx, tt.method, u.String(), body)
		got, gerr := newRequest(ctx, tt.method, u, tt.body)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%q %q: error %v, NewRequestWithContext's %v", tt.method, tt.body, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		if got.URL != u {
			t.Errorf("%q: the request does not carry the parsed URL", tt.method)
		}
		if got.Context() != ctx {
			t.Errorf("%q: the request does not carry the context", tt.method)
		}
		// Compared with the URL and the body functions taken out: the
		// URLs are equal by the check above, and functions never are.
		gotBody, wantBody := readAll(t, got.Body), readAll(t, want.Body)
		gotGet, wantGet := got.GetBody != nil, want.GetBody != nil
		for _, r := range []*http.Request{got, want} {
			r.URL, r.Body, r.GetBody = nil, nil, nil
		}
		want.Host = "" // NewRequestWithContext takes it from the URL; the sender sets it
		if gotBody != wantBody || gotGet != wantGet || !reflect.DeepEqual(got, want) {
			t.Errorf("%q %q:\n got %+v (body %q, GetBody %v)\nwant %+v (body %q, GetBody %v)", tt.method, tt.body,
				got, gotBody, gotGet, want, wantBody, wantGet)
		}
	}
}

func readAll(t *testing.T, rc io.ReadCloser) string {
	t.Helper()
	if rc == nil {
		return ""
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCanonicalHeaderKeys: the header keys the sender writes and reads
// without canonicalising them are canonical already.
func TestCanonicalHeaderKeys(t *testing.T) {
	keys := append([]string{"Idempotency-Key", "User-Agent", "X-Adgate-Original-Host"}, responseHeaders...)
	for _, k := range keys {
		if c := textproto.CanonicalMIMEHeaderKey(k); c != k {
			t.Errorf("header key %q is not canonical: %q", k, c)
		}
	}
}
