package event

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/template"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in         string
		wantName, wantID string
		wantErr          string
	}{
		{name: "numeric id", in: `{"name":"INSTALL","id":551302741529937217}`, wantName: "INSTALL", wantID: "551302741529937217"},
		{name: "19 digits", in: `{"name":"open","id":9223372036854775807999}`, wantName: "open", wantID: "9223372036854775807999"},
		{name: "string id", in: `{"name":"PURCHASE","id":"551302741529937999"}`, wantName: "PURCHASE", wantID: "551302741529937999"},
		{name: "no id", in: `{"name":"signup"}`, wantName: "signup"},
		{name: "not an object", in: `[1]`, wantErr: "want an object"},
		{name: "no name", in: `{"id":1}`, wantErr: "name must be a non-empty string"},
		{name: "numeric name", in: `{"name":5}`, wantErr: "name must be a non-empty string"},
		{name: "empty name", in: `{"name":""}`, wantErr: "name must be a non-empty string"},
		{name: "bad JSON", in: `{"name":`, wantErr: "decoding event JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Name() != tt.wantName || ev.ID() != tt.wantID {
				t.Errorf("Name, ID = %q, %q; want %q, %q", ev.Name(), ev.ID(), tt.wantName, tt.wantID)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	b, err := os.ReadFile("testdata/attributed-open.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"user_data.os", "IOS"},
		{"last_attributed_touch_data.~id", "467391383381228204"},
		{"last_attributed_touch_data.tilde_id", "467391383381228204"},
		{"last_attributed_touch_data.~channel", "Facebook Organic"},
		{"last_attributed_touch_data.$marketing_title", "Deep Link Testing"},
		{"last_attributed_touch_data.dollar_marketing_title", "Deep Link Testing"},
		{"last_cta_view_data.plus_domain", "branchster.app.link"},
		{"timestamp", "1512681005807"},
		{"user_data.limit_ad_tracking", "false"},
		{"user_data.aaid", ""},
		{"nothing.here.at.all", ""},
	}
	for _, tt := range tests {
		v := ev.Lookup(tt.path)
		got, _ := v.AsString()
		if got != tt.want {
			t.Errorf("Lookup(%q) = %q (%s), want %q", tt.path, got, v.Kind(), tt.want)
		}
	}
}

func TestIsLifecycle(t *testing.T) {
	for name, want := range map[string]bool{
		"INSTALL": true, "install": true, "REINSTALL": true, "open": true, "CLICK": true,
		"IMPRESSION": true, "WEB_SESSION_START": true, "web session start": true, "PAGEVIEW": true,
		"PURCHASE": false, "signup": false, "ADD_TO_CART": false, "": false, "installs": false,
	} {
		if got := IsLifecycle(name); got != want {
			t.Errorf("IsLifecycle(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestModel(t *testing.T) {
	ev, err := Parse([]byte(`{"name":"INSTALL","user_data":{"os":"ANDROID"},"app":{"from":"event"},"ad_network":{"machine_name":"spoof"}}`))
	if err != nil {
		t.Fatal(err)
	}
	app := AppValue([]Bundle{
		{OS: "ANDROID", Android: &AndroidBundle{PackageName: "com.acme"}},
		{OS: "IOS", IOS: &IOSBundle{BundleID: "com.acme.ios", ItunesID: "id42"}},
	})
	net := NetworkValue(Network{MachineName: "a_clevertap", Name: "CleverTap", Credentials: map[string]string{"b": "2", "a": "1"}})
	m := Model(ev, app, net)
	tests := []struct{ path, want string }{
		{"name", "INSTALL"},
		{"event.name", "INSTALL"},
		{"event.user_data.os", "ANDROID"},
		{"app.app_bundles", ""},
		{"ad_network.machine_name", "a_clevertap"},
		{"ad_network.name", "CleverTap"},
		{"ad_network.credentials.a", "1"},
		{"ad_network.credentials.b", "2"},
	}
	for _, tt := range tests {
		if got, _ := ParsePath(tt.path).Lookup(m).AsString(); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.path, got, tt.want)
		}
	}
	bundles := ParsePath("app.app_bundles").Lookup(m)
	if bundles.Kind() != template.KindSeq || bundles.Len() != 2 {
		t.Fatalf("app.app_bundles = %s of %d, want 2 bundles", bundles.Kind(), bundles.Len())
	}
	if got, _ := ParsePath("ios.itunes_id").Lookup(bundles.Index(1)).AsString(); got != "id42" {
		t.Errorf("itunes_id = %q", got)
	}
	if !bundles.Index(0).Get("ios").IsMissing() {
		t.Error("android bundle has an ios key")
	}
	if got := ParsePath("ad_network.credentials").Lookup(m).Keys(); strings.Join(got, ",") != "a,b" {
		t.Errorf("credential keys = %v, want sorted", got)
	}

	// Without account bundles the event's own app is kept.
	m = Model(ev, template.Missing(), net)
	if got, _ := ParsePath("app.from").Lookup(m).AsString(); got != "event" {
		t.Errorf("app.from = %q, want the event's own app", got)
	}
}

func TestValidate(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile("testdata/attributed-open.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(good); err != nil {
		t.Errorf("Branch's published example is invalid: %v", err)
	}
	tests := []struct {
		name, in string
		fields   []string
	}{
		{"no name", `{"id":1}`, []string{"(root)"}},
		{"os enum", `{"name":"OPEN","user_data":{"os":"PALM"}}`, []string{"user_data.os"}},
		{"timestamp type", `{"name":"OPEN","timestamp":"yesterday"}`, []string{"timestamp"}},
		{"custom_data values", `{"name":"OPEN","custom_data":{"n":5}}`, []string{"custom_data.n"}},
		{"price type", `{"name":"OPEN","content_items":[{"$price":"cheap"}]}`, []string{"content_items.0.$price"}},
		{"two errors", `{"name":"OPEN","deep_linked":"yes","user_data":{"limit_ad_tracking":1}}`, []string{"deep_linked", "user_data.limit_ad_tracking"}},
		{"id digits", `{"name":"OPEN","last_attributed_touch_data":{"~id":"abc"}}`, []string{"last_attributed_touch_data.~id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate([]byte(tt.in))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
	for _, ok := range []string{
		`{"name":"signup","unknown_top":1,"user_data":{"geo_city_en":"x"},"custom_data":{"a":"b","c":null}}`,
		`{"name":"OPEN","id":"abc-1","last_attributed_touch_data":{"~id":457624031399716729,"+via_features":["ADS"]}}`,
	} {
		if err := v.Validate([]byte(ok)); err != nil {
			t.Errorf("Validate(%s): %v", ok, err)
		}
	}
	if err := v.Validate([]byte(`{"name":`)); err == nil {
		t.Error("Validate accepted broken JSON")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"name":"INSTALL","id":551302741529937217,"user_data":{"os":"IOS"}}`))
	f.Add([]byte(`{"name":"x","a":[1,2,{"b":null}],"c":1.5e3}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Parse(b)
		if err != nil {
			return
		}
		if ev.Name() == "" {
			t.Fatal("parsed event with empty name")
		}
		_ = ev.ID()
		_ = Model(ev, AppValue(nil), NetworkValue(Network{}))
	})
}
