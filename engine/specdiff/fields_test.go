package specdiff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/render"
)

// show writes changes compactly: field name[<-from]: old => new, with
// absent values as -.
func show(cs []FieldChange) string {
	var out []string
	for _, c := range cs {
		v := func(p *string) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprintf("%q", *p)
		}
		name := c.Field
		if c.Name != "" {
			name += " " + c.Name
		}
		if c.From != "" {
			name += "<-" + c.From
		}
		out = append(out, fmt.Sprintf("%s: %s => %s", name, v(c.Old), v(c.New)))
	}
	return strings.Join(out, "; ")
}

func TestDiffRequests(t *testing.T) {
	get := func(url string) *render.Request { return &render.Request{Method: "GET", URL: url} }
	post := func(ct, body string) *render.Request {
		return &render.Request{Method: "POST", URL: "https://p.example/e", Headers: map[string]string{"Content-Type": ct}, Body: body}
	}
	cases := []struct {
		name string
		b, h *render.Request
		want string
	}{
		{"same", get("https://p.example/e?a=1"), get("https://p.example/e?a=1"), ""},
		{"method", get("https://p.example/e"), &render.Request{Method: "POST", URL: "https://p.example/e"}, `method: "GET" => "POST"`},
		{"host", get("https://p.example/e?a=1"), get("https://q.example/e?a=1"), `url: "https://p.example/e" => "https://q.example/e"`},
		{"value decoded", get("https://p.example/e?a=x%20y"), get("https://p.example/e?a=x+z"), `query a: "x y" => "x z"`},
		{"added and removed", get("https://p.example/e?a=1&b=2"), get("https://p.example/e?a=1&c=3"), `query c: - => "3"; query b: "2" => -`},
		{"renamed", get("https://p.example/e?cid=7&z="), get("https://p.example/e?click_id=7&z="), `query click_id<-cid: "7" => "7"`},
		// Two removed keys share the value: which one became click_id is
		// a guess, so no rename is reported.
		{"ambiguous rename", get("https://p.example/e?a=7&b=7"), get("https://p.example/e?c=7"), `query c: - => "7"; query a: "7" => -; query b: "7" => -`},
		{"repeated key", get("https://p.example/e?a=1&a=2"), get("https://p.example/e?a=1"), `query a: "[\"1\", \"2\"]" => "1"`},
		{"order only", get("https://p.example/e?a=1&b=2"), get("https://p.example/e?b=2&a=1"), `query: "a=1&b=2" => "b=2&a=1"`},
		{"encoding only", get("https://p.example/e?a=x%20y"), get("https://p.example/e?a=x+y"), `query: "a=x%20y" => "a=x+y"`},
		{"header case", &render.Request{Method: "GET", URL: "u", Headers: map[string]string{"X-Key": "1"}}, &render.Request{Method: "GET", URL: "u", Headers: map[string]string{"x-key": "2", "X-New": "n"}}, `header x-key: "1" => "2"; header x-new: - => "n"`},
		{"json body", post("application/json", `{"a":{"b":1,"c":[1,2]},"d":"x"}`), post("application/json", `{"a":{"b":2,"c":[1]},"d":"x"}`), `body $.a.b: "1" => "2"; body $.a.c[1]: "2" => -`},
		{"json same value, other text", post("application/json", `{"a":1}`), post("application/json", `{"a": 1}`), `body: "{\"a\":1}" => "{\"a\": 1}"`},
		{"form body", post("application/x-www-form-urlencoded", "a=1&b=2"), post("application/x-www-form-urlencoded", "a=1&b=3"), `body b: "2" => "3"`},
		{"text body", post("text/plain", "hello"), post("text/plain", "hullo"), `body: "hello" => "hullo"`},
		{"bad url", get("%zz"), get("https://p.example/"), `url: "%zz" => "https://p.example/"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := show(diffRequests(c.b, c.h)); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// FuzzDiffRequests checks that any two requests compare without a panic,
// and that a request never differs from itself.
func FuzzDiffRequests(f *testing.F) {
	f.Add("https://p.example/e?a=1&b=%20", `{"a":[1,{"b":null}]}`, "https://p.example/e?b=&a=2", "a=1&a=2")
	f.Add("%", "", "?&&=&", "{")
	f.Fuzz(func(t *testing.T, u1, b1, u2, b2 string) {
		r1 := &render.Request{Method: "POST", URL: u1, Body: b1, Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		r2 := &render.Request{Method: "POST", URL: u2, Body: b2}
		_ = diffRequests(r1, r2)
		if d := diffRequests(r1, r1); len(d) != 0 {
			t.Errorf("a request differs from itself: %s", show(d))
		}
	})
}
