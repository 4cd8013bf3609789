// Package account is the advertiser's context for one partner: what
// templates see as ad_network.credentials and app, plus per-postback
// settings. It comes from --account FILE on the command line, from
// fixture files and from the gateway config.
//
// An Account is immutable and prepared once: New copies the Data it is
// given, so changing that Data (or a file re-read into it) afterwards
// never shows in an Account already built, and a renderer may keep values
// derived from an Account for as long as it holds it.
package account

import (
	"maps"

	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/template"
)

// Data is an account's fields as a file writes them; New turns it into
// an Account.
type Data struct {
	// Credentials are ACCOUNT_CREDENTIAL values by macro name.
	Credentials map[string]string `json:"credentials,omitempty"`
	App         App               `json:"app,omitzero"`
	// Settings hold per-integration values such as goal_id or app_name.
	Settings map[string]string `json:"settings,omitempty"`
}

// App is the advertiser's app: app.app_bundles in templates.
type App struct {
	Bundles []Bundle `json:"app_bundles,omitempty"`
}

// Bundle, AndroidBundle and IOSBundle describe one app of the account.
type (
	Bundle        = event.Bundle
	AndroidBundle = event.AndroidBundle
	IOSBundle     = event.IOSBundle
)

// Account is a prepared, immutable account. The zero value and nil are
// the empty account.
type Account struct {
	data Data
	app  template.Value // app as templates see it; valid when bundles exist
}

// New builds an Account from a copy of d.
func New(d Data) *Account {
	a := &Account{data: copyData(d)}
	if len(a.data.App.Bundles) > 0 {
		a.app = event.AppValue(a.data.App.Bundles)
	}
	return a
}

func copyData(d Data) Data {
	c := Data{Credentials: maps.Clone(d.Credentials), Settings: maps.Clone(d.Settings)}
	if d.App.Bundles != nil {
		c.App.Bundles = make([]Bundle, len(d.App.Bundles))
		for i, b := range d.App.Bundles {
			nb := Bundle{OS: b.OS}
			if b.Android != nil {
				an := *b.Android
				nb.Android = &an
			}
			if b.IOS != nil {
				ios := *b.IOS
				nb.IOS = &ios
			}
			c.App.Bundles[i] = nb
		}
	}
	return c
}

// Data returns a copy of the account's fields.
func (a *Account) Data() Data {
	if a == nil {
		return Data{}
	}
	return copyData(a.data)
}

// Credential returns the credential for a macro name ("" if none).
func (a *Account) Credential(name string) string {
	if a == nil {
		return ""
	}
	return a.data.Credentials[name]
}

// Setting returns a per-integration setting ("" if none).
func (a *Account) Setting(name string) string {
	if a == nil {
		return ""
	}
	return a.data.Settings[name]
}

// AppValue is app as templates see it: {app_bundles: [...]}, or missing
// when the account has no bundles.
func (a *Account) AppValue() template.Value {
	if a == nil || len(a.data.App.Bundles) == 0 {
		return template.Missing()
	}
	return a.app
}

// NetworkValue is ad_network as templates see it for a partner: its
// machine name, name and this account's credentials.
func (a *Account) NetworkValue(machineName, name string) template.Value {
	n := event.Network{MachineName: machineName, Name: name}
	if a != nil {
		// NetworkValue only reads the map, so the account's own is safe
		// to hand over.
		n.Credentials = a.data.Credentials
	}
	return event.NetworkValue(n)
}
