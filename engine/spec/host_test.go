package spec

import (
	"slices"
	"strings"
	"testing"
)

func TestLiteralHost(t *testing.T) {
	for _, tc := range []struct {
		tmpl, host string
		ok         bool
	}{
		{"https://api.example.com/x", "api.example.com", true},
		{"HTTPS://api.example.com", "api.example.com", true},
		{"https://{Account_SID}:{Authorization_Token}@api.impactradius.com/Advertisers/{Account_SID}/AppEvents/?AppId={AppId}", "api.impactradius.com", true},
		{"https://${sid?url}:${token?url}@api.example.com/p", "api.example.com", true},
		{"https://${a + '/' + b}@h.example.com:8443/p", "h.example.com", true},
		{"https://u:p@h.example.com#f", "h.example.com", true},
		{"https://h.example.com?x=a@b", "h.example.com", true},
		{"https://u@{host}/x", "", false},
		{"https://{sid}@{host}.example.com/x", "", false},
		{"https://widget.${region}.criteo.com/x", "", false},
		{"https://branch.io&{abc}", "", false},
		{"https://branch.io&x/", "", false},
		{"https://<#if a>x</#if>.example.com/", "", false},
		{"https://{a/b}", "", false},
		// {p/q} is no macro: its '/' ends the authority, as the lint
		// reads it (and rejects the URL)
		{"https://{user@x}:{p/q}@h.example.com:8443/p", "", false},
		{"https://[2001:db8::1]:80/x", "2001:db8::1", true},
		{"ftp://files.example.com/x", "", false},
		{"not a url", "", false},
		{"", "", false},
	} {
		host, ok := literalHost(tc.tmpl)
		if host != tc.host || ok != tc.ok {
			t.Errorf("literalHost(%q) = %q, %v; want %q, %v", tc.tmpl, host, ok, tc.host, tc.ok)
		}
	}
}

func TestHosts(t *testing.T) {
	p := &Partner{
		ID: "x",
		Postbacks: []Postback{
			{Events: []string{"INSTALL"}, URL: "https://API.example.com/pb?a={a}"},
			{Events: []string{"OPEN"}, URL: "https://api.example.com:8443/open"},
			{Events: []string{"PURCHASE"}, URL: "https://widget.${region}.criteo.com/x"},
			{Events: []string{"custom_event"}, URL: "https://{host}/x"},
			{Events: []string{"LOGIN"}, URL: "http://[2001:db8::1]:80/x"},
			{Events: []string{"SHARE"}, URL: "not a url"},
			{Events: []string{"REINSTALL"}, URL: "https://{Account_SID}:{Authorization_Token}@api.impactradius.com/Advertisers/{Account_SID}/AppEvents/?Event=OPEN"},
		},
		AllowedHosts: []string{"*.criteo.com", "api.example.com", " Trailing.example.com. "},
	}
	want := []string{"api.example.com", "2001:db8::1", "api.impactradius.com", "*.criteo.com", "trailing.example.com"}
	if got := p.Hosts(); !slices.Equal(got, want) {
		t.Fatalf("Hosts = %v, want %v", got, want)
	}
}

// The host the lint checks and the host Hosts derives are one: a URL the
// lint accepts with a literal host yields that host.
func TestHostProblemAgreesWithLiteralHost(t *testing.T) {
	for _, u := range []string{
		"https://api.example.com/x",
		"https://{sid}:{tok}@api.example.com/x",
		"https://branch.io&{abc}",
		"https://a b.example.com/",
		"https://[2001:db8::1]:80/x",
	} {
		_, _, bad := HostProblem(u)
		_, ok := literalHost(u)
		if bad && ok {
			t.Errorf("%q: HostProblem reports a bad host, literalHost accepts it", u)
		}
	}
}

func FuzzLiteralHost(f *testing.F) {
	for _, s := range []string{"https://a.com/x", "https://{h}/", "http://[::1]:80", "x", "https://u@h:1?x", "https://${a}@b.c/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := literalHost(s)
		if ok && (h == "" || strings.ContainsAny(h, "/?#{}$@ ")) {
			t.Fatalf("literalHost(%q) = %q", s, h)
		}
		if _, _, bad := HostProblem(s); bad && ok {
			t.Fatalf("literalHost(%q) = %q, but HostProblem rejects the host", s, h)
		}
	})
}
