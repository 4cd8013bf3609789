package render

import (
	"testing"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/spec"
)

// TestAccountMutation: changing the data an account was built from, or the
// copy it hands out, never shows in a render with that account, whether
// its values come from a macro or from a template that reads the whole
// model (the path that reuses the last account's values). A new account
// from the changed data renders every new value; no render mixes the two.
func TestAccountMutation(t *testing.T) {
	l, err := spec.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	src := `id: mut
name: Mut
postbacks:
  - events: [INSTALL]
    url: https://m.test/i?tok={token}&goal={goal}&t={tpl}
parameters:
  - macro: token
    branch: ACCOUNT_CREDENTIAL
    label: token
  - macro: goal
    branch: GOAL_ID
  - macro: tpl
    branch: CUSTOM_LINK_MACRO
    link_macro: "{m_tpl}"
    template: ${ad_network.credentials.token}-${app.app_bundles[0].os}
`
	p, ds := l.Check("mut.yaml", []byte(src))
	if p == nil {
		t.Fatalf("spec: %v", ds)
	}
	cp, err := Compile(p, l.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	ev := parseEvent(t, `{"name":"INSTALL"}`)
	render := func(a *Account) string {
		t.Helper()
		res, err := cp.Render(ev, a, Options{})
		if err != nil || len(res.Requests) != 1 {
			t.Fatalf("render: %v %+v", err, res)
		}
		return res.Requests[0].URL
	}
	d := account.Data{
		Credentials: map[string]string{"token": "old"},
		Settings:    map[string]string{"goal_id": "g-old"},
		App:         account.App{Bundles: []account.Bundle{{OS: "ANDROID"}}},
	}
	const oldURL = "https://m.test/i?tok=old&goal=g-old&t=old-ANDROID"
	const newURL = "https://m.test/i?tok=new&goal=g-new&t=new-IOS"
	a := account.New(d)
	if got := render(a); got != oldURL {
		t.Fatalf("first render = %s, want %s", got, oldURL)
	}
	mutate := func(d account.Data) {
		d.Credentials["token"] = "new"
		d.Settings["goal_id"] = "g-new"
		d.App.Bundles[0].OS = "IOS"
	}
	mutate(d)
	mutate(a.Data())
	for i := 0; i < 2; i++ { // the second render reuses the cached values
		if got := render(a); got != oldURL {
			t.Errorf("render %d after mutating the source = %s, want %s", i, got, oldURL)
		}
	}
	b := account.New(d)
	if got := render(b); got != newURL {
		t.Errorf("account from the changed data = %s, want %s", got, newURL)
	}
	if got := render(a); got != oldURL {
		t.Errorf("first account again = %s, want %s", got, oldURL)
	}
}
