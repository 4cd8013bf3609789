package account

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
)

func TestParse(t *testing.T) {
	good := `credentials:
  account_id: "ACC 1/2=3"
  token: Zm9v+YmFy/YmF6==
  pin: 0123
  empty:
app:
  app_bundles:
    - os: ANDROID
      android: {package_name: com.acme}
    - os: IOS
      ios: {bundle_id: com.acme.ios, itunes_id: "id42"}
settings:
  goal_id: 42
`
	acct, err := Parse("a.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := Data{
		Credentials: map[string]string{"account_id": "ACC 1/2=3", "token": "Zm9v+YmFy/YmF6==", "pin": "0123", "empty": ""},
		App: App{Bundles: []Bundle{
			{OS: "ANDROID", Android: &AndroidBundle{PackageName: "com.acme"}},
			{OS: "IOS", IOS: &IOSBundle{BundleID: "com.acme.ios", ItunesID: "id42"}},
		}},
		Settings: map[string]string{"goal_id": "42"},
	}
	if got := acct.Data(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if acct, err := Parse("e.yaml", nil); err != nil || acct == nil {
		t.Errorf("empty file: %v, %v", acct, err)
	}

	tests := []struct {
		name, in  string
		line, col int
		rule, msg string
	}{
		{"syntax", "credentials: [\n", 1, 0, RuleSyntax, "did not find expected node content"},
		{"tab", "credentials:\n\ta: b\n", 2, 0, RuleSyntax, "cannot start any token"},
		{"unknown top", "credential:\n  a: b\n", 1, 1, RuleField, `unknown account field "credential"`},
		{"credentials list", "credentials:\n  - a\n", 2, 3, RuleSyntax, "credentials must be a mapping"},
		{"nested value", "credentials:\n  a: {b: secret}\n", 2, 6, RuleSyntax, "credentials.a must be a single value"},
		{"bad key", "settings:\n  goal id: 1\n", 2, 3, RuleField, `settings key "goal id" is not a name`},
		{"no os", "app:\n  app_bundles:\n    - android: {package_name: x}\n", 3, 7, RuleBundle, "app bundle has no os"},
		{"lower os", "app:\n  app_bundles:\n    - os: ios\n", 3, 7, RuleBundle, "not upper case"},
		{"unknown bundle field", "app:\n  app_bundles:\n    - os: IOS\n      ios: {bundle: x}\n", 4, 13, RuleField, `unknown ios field "bundle"`},
		{"app list", "app: [1]\n", 1, 6, RuleSyntax, "app must be a mapping"},
		{"not mapping", "- 1\n", 1, 1, RuleSyntax, "an account is a mapping"},
		{"duplicate", "credentials:\n  a: x\n  a: secret\n", 3, 3, RuleField, `key "a" is already set at line 2`},
		{"env in flow", "credentials: {token: ${env:TOKEN}}\n", 1, 22, RuleSyntax, "did not find expected"},
		{"self alias", "credentials: &a {b: *a}\n", 1, 21, yamlx.RuleAliasBudget, "contains the alias itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(tt.in))
			var le diag.ListError
			if !errors.As(err, &le) || len(le) == 0 {
				t.Fatalf("err = %v, want diagnostics", err)
			}
			d := le[0]
			if d.File != "a.yaml" || d.Line() != tt.line || (tt.col != 0 && d.Col() != tt.col) || d.Rule != tt.rule || !strings.Contains(d.Message, tt.msg) {
				t.Errorf("got %s, want line %d col %d rule %s message containing %q", d, tt.line, tt.col, tt.rule, tt.msg)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error quotes a credential value: %v", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("credentials: {a: b}\napp: {app_bundles: [{os: IOS, ios: {bundle_id: x}}]}\nsettings: {goal_id: 1}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("app:\n  app_bundles: &b\n    - os: IOS\n  x: *b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		acct, err := Parse("f.yaml", b)
		if err == nil && acct == nil {
			t.Fatal("nil account without error")
		}
	})
}
