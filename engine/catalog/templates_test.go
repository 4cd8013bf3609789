package catalog

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/template"
)

// The data model as the renderer builds it: the event at the root, app and
// ad_network beside it. iOS and Android variants of one install.
const iosModel = `{
  "name": "INSTALL", "id": 1234567890123456789, "timestamp": 1512681005807,
  "user_data": {"os": "IOS", "idfa": "F520B35A-4165-4426-98F6-64F12F47E9BZ", "aaid": "should-not-be-used"},
  "last_attributed_touch_data": {"$3p": "a_jampp", "~click_id": "c1"},
  "app": {"app_bundles": [
    {"os": "ANDROID", "android": {"package_name": "com.example.app"}},
    {"os": "IOS", "ios": {"bundle_id": "com.example.ios", "itunes_id": "id123456"}}]},
  "ad_network": {"machine_name": "a_jampp", "name": "Jampp", "credentials": {}}
}`

var androidModel = strings.NewReplacer(`"os": "IOS", "idfa"`, `"os": "ANDROID", "idfa"`, `"$3p": "a_jampp"`, `"$3p": "a_other"`).Replace(iosModel)

// want holds, per model, what each template parameter must produce,
// worked out from the definitions' documented meaning.
var want = map[string][2]string{ // name -> {iOS, Android}
	"OS_DEVICE_ID":         {"F520B35A-4165-4426-98F6-64F12F47E9BZ", "should-not-be-used"},
	"OS_DEVICE_ID_MD5":     {"F520B35A-4165-4426-98F6-64F12F47E9BZ", "should-not-be-used"}, // before the md5 hash step
	"EVENT_TIMESTAMP":      {"1512681005", "1512681005"},
	"OS_PACKAGE_NAME":      {"com.example.ios", "com.example.app"},
	"ANDROID_PACKAGE_NAME": {"com.example.app", "com.example.app"},
	"ITUNES_ID":            {"id123456", "id123456"},
	"IS_CLAIMABLE":         {"true", "false"},
}

func sha1hex(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

// TestTemplatesWithEngine evaluates every catalog template with adgate's
// template engine on both models.
func TestTemplatesWithEngine(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	exp := map[string][2]string{
		"AAID_SHA1": {sha1hex("should-not-be-used"), sha1hex("should-not-be-used")},
		"IDFA_SHA1": {sha1hex("F520B35A-4165-4426-98F6-64F12F47E9BZ"), sha1hex("F520B35A-4165-4426-98F6-64F12F47E9BZ")},
	}
	for k, v := range want {
		exp[k] = v
	}
	for _, p := range c.Params() {
		if p.Template == "" {
			p.Template = p.TransformTemplate()
		}
		if p.Template == "" {
			continue
		}
		w, ok := exp[p.Name]
		if !ok {
			t.Errorf("%s: template without an expected value in this test", p.Name)
			continue
		}
		tpl, err := template.Parse(p.Name, p.Template, template.Options{})
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		for i, model := range []string{iosModel, androidModel} {
			root, err := template.ParseJSON([]byte(model))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.ExecuteString(root, nil)
			if err != nil || got != w[i] {
				t.Errorf("%s (model %d) = %q, %v; want %q", p.Name, i, got, err, w[i])
			}
		}
	}
	// A missing id hashes to nothing, not to the digest of "".
	tpl, err := template.Parse("AAID_SHA1", mustLookup(t, c, "AAID_SHA1").Template, template.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := template.ParseJSON([]byte(`{"user_data": {}}`))
	if got, err := tpl.ExecuteString(root, nil); err != nil || got != "" {
		t.Errorf("AAID_SHA1 without aaid = %q, %v", got, err)
	}
}

func mustLookup(t *testing.T, c *Catalog, name string) Param {
	t.Helper()
	p, ok := c.Lookup(name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return p
}

// TestTemplatesOnOracle runs the templates that use no sprig function
// through Apache FreeMarker, the reference for the dialect.
func TestTemplatesOnOracle(t *testing.T) {
	oracle := filepath.Join("..", "..", "..", "shared", "tools", "fmoracle", "run.sh")
	if _, err := os.Stat(oracle); err != nil {
		t.Skipf("FreeMarker oracle not found at %s (CI always has it)", oracle)
	}
	if _, err := os.Stat("/usr/share/java/freemarker.jar"); err != nil {
		t.Skip("libfreemarker-java not installed (.ci/run installs it)")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, model := range []string{iosModel, androidModel} {
		data := filepath.Join(dir, "model.json")
		if err := os.WriteFile(data, []byte(model), 0o644); err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			p := mustLookup(t, c, name)
			tpl := p.Template
			if tpl == "" {
				tpl = p.TransformTemplate()
			}
			out, err := exec.Command(oracle, "--number-format", "computer", "--boolean-format", "c", data, "-e", tpl).CombinedOutput()
			if err != nil || string(out) != w[i] {
				t.Errorf("oracle %s (model %d) = %q, %v; want %q", name, i, out, err, w[i])
			}
		}
	}
}
