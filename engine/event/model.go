package event

import (
	"slices"

	"github.com/adgate/adgate/engine/template"
)

// Bundle is one of the advertiser's apps, as app.app_bundles lists them.
type Bundle struct {
	OS      string         `yaml:"os" json:"os"`
	Android *AndroidBundle `yaml:"android,omitempty" json:"android,omitempty"`
	IOS     *IOSBundle     `yaml:"ios,omitempty" json:"ios,omitempty"`
}

// AndroidBundle identifies an Android app.
type AndroidBundle struct {
	PackageName string `yaml:"package_name" json:"package_name"`
}

// IOSBundle identifies an iOS app.
type IOSBundle struct {
	BundleID string `yaml:"bundle_id" json:"bundle_id"`
	ItunesID string `yaml:"itunes_id,omitempty" json:"itunes_id,omitempty"`
}

// Network describes the partner a model is built for: ad_network in templates.
type Network struct {
	MachineName string
	Name        string
	// Credentials are the advertiser's ACCOUNT_CREDENTIAL values by macro name.
	Credentials map[string]string
}

// AppValue builds the template value of app: {app_bundles: [...]}, with
// android/ios sub-hashes only where the bundle has them, as Branch sends it.
func AppValue(bundles []Bundle) template.Value {
	items := make([]template.Value, 0, len(bundles))
	for _, b := range bundles {
		keys := []string{"os"}
		vals := []template.Value{template.String(b.OS)}
		if b.Android != nil {
			keys = append(keys, "android")
			vals = append(vals, template.NewHash([]string{"package_name"}, []template.Value{template.String(b.Android.PackageName)}))
		}
		if b.IOS != nil {
			ik := []string{"bundle_id"}
			iv := []template.Value{template.String(b.IOS.BundleID)}
			if b.IOS.ItunesID != "" {
				ik = append(ik, "itunes_id")
				iv = append(iv, template.String(b.IOS.ItunesID))
			}
			keys = append(keys, "ios")
			vals = append(vals, template.NewHash(ik, iv))
		}
		items = append(items, template.NewHash(keys, vals))
	}
	return template.NewHash([]string{"app_bundles"}, []template.Value{template.Seq(items...)})
}

// NetworkValue builds the template value of ad_network: machine_name, name
// and credentials.<macro> (keys sorted, so output never depends on map order).
func NetworkValue(n Network) template.Value {
	names := make([]string, 0, len(n.Credentials))
	for k := range n.Credentials {
		names = append(names, k)
	}
	slices.Sort(names)
	vals := make([]template.Value, len(names))
	for i, k := range names {
		vals[i] = template.String(n.Credentials[k])
	}
	return template.NewHash(
		[]string{"machine_name", "name", "credentials"},
		[]template.Value{template.String(n.MachineName), template.String(n.Name), template.NewHash(names, vals)},
	)
}

// Model builds the root of the template data model for one event: the
// event's own fields at the root, then event (the whole event: five corpus
// partners write event.custom_data.x), app and ad_network. The three added
// names win over event fields of the same name, except that an event
// carrying its own app is kept when app is missing (no account bundles):
// that lets a self-contained sample event, such as the oracle's test data,
// be evaluated without an account file. Branch's dollar_/tilde_/plus_ key
// aliases are resolved by the template engine at lookup time, for every
// hash, so the model is not copied to add them.
func Model(e *Event, app, network template.Value) template.Value {
	ev := e.v
	own := ev.Keys()
	keys := make([]string, 0, len(own)+3)
	vals := make([]template.Value, 0, len(own)+3)
	for _, k := range own {
		keys = append(keys, k)
		vals = append(vals, ev.Get(k))
	}
	keys = append(keys, "event")
	vals = append(vals, ev)
	if !app.IsMissing() {
		keys = append(keys, "app")
		vals = append(vals, app)
	}
	keys = append(keys, "ad_network")
	vals = append(vals, network)
	return template.NewHash(keys, vals)
}
