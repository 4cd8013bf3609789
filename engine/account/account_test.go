package account

import (
	"reflect"
	"testing"
)

// TestNewCopies: an Account never shares memory with the Data it was built
// from or handed out, so neither can change it.
func TestNewCopies(t *testing.T) {
	src := func() Data {
		return Data{
			Credentials: map[string]string{"token": "t"},
			Settings:    map[string]string{"goal_id": "g"},
			App: App{Bundles: []Bundle{
				{OS: "ANDROID", Android: &AndroidBundle{PackageName: "p"}},
				{OS: "IOS", IOS: &IOSBundle{BundleID: "b", ItunesID: "i"}},
			}},
		}
	}
	mutations := []struct {
		name string
		f    func(d Data)
	}{
		{"credential", func(d Data) { d.Credentials["token"] = "x" }},
		{"new credential", func(d Data) { d.Credentials["other"] = "x" }},
		{"setting", func(d Data) { d.Settings["goal_id"] = "x" }},
		{"bundle os", func(d Data) { d.App.Bundles[0].OS = "X" }},
		{"android", func(d Data) { d.App.Bundles[0].Android.PackageName = "x" }},
		{"ios", func(d Data) { d.App.Bundles[1].IOS.ItunesID = "x" }},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			d := src()
			a := New(d)
			m.f(d)
			m.f(a.Data())
			if got := a.Data(); !reflect.DeepEqual(got, src()) {
				t.Errorf("account changed: %+v", got)
			}
			if a.Credential("token") != "t" || a.Setting("goal_id") != "g" {
				t.Errorf("accessors see the change")
			}
		})
	}
}

func TestNilAccount(t *testing.T) {
	var a *Account
	if a.Credential("x") != "" || a.Setting("x") != "" || !reflect.DeepEqual(a.Data(), Data{}) {
		t.Error("nil account is not empty")
	}
	if !a.AppValue().IsMissing() {
		t.Error("nil account has an app")
	}
}
