package catalog

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestEmbeddedCatalogLoads(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	// The names issue 3 requires, each with the semantics it states.
	want := map[string]Param{
		"CUSTOM_LINK_MACRO":   {Source: SourceLinkMacro},
		"ACCOUNT_CREDENTIAL":  {Source: SourceCredential},
		"CLICK_ID":            {Path: "last_attributed_touch_data.~click_id", LinkKey: "~click_id"},
		"CAMPAIGN_ID":         {Path: "last_attributed_touch_data.~campaign_id", LinkKey: "~campaign_id"},
		"AD_SET_ID":           {Path: "last_attributed_touch_data.~ad_set_id", LinkKey: "~ad_set_id"},
		"KEYWORD_TEXT":        {Path: "last_attributed_touch_data.~keyword_text", LinkKey: "~keyword_text"},
		"PLACEMENT":           {Path: "last_attributed_touch_data.~placement", LinkKey: "~placement"},
		"SECONDARY_PUBLISHER": {Path: "last_attributed_touch_data.~secondary_publisher", LinkKey: "~secondary_publisher"},
		"EVENT_TIMESTAMP_MS":  {Path: "timestamp"},
		"EVENT_TIMESTAMP":     {Path: "timestamp", Transform: MillisToSeconds},
		"AAID_MD5":            {Path: "user_data.aaid", Hash: HashMD5},
		"CLICK_AAID":          {LinkOnly: true, LinkKey: "$aaid"},
		"CLICK_IDFA":          {LinkOnly: true, LinkKey: "$idfa"},
		"S2S":                 {LinkOnly: true, LinkKey: "$s2s"},
		"GOAL_ID":             {Source: SourceSetting, Setting: "goal_id"},
	}
	for name, w := range want {
		got, ok := c.Lookup(name)
		if !ok {
			t.Errorf("Lookup(%s): missing", name)
			continue
		}
		if got.Path != w.Path || got.Source != w.Source || got.LinkKey != w.LinkKey || got.LinkOnly != w.LinkOnly || got.Hash != w.Hash || got.Setting != w.Setting {
			t.Errorf("Lookup(%s) = %+v, want %+v", name, got, w)
		}
	}
	for _, name := range []string{"AAID_MD5", "AAID", "AAID_SHA1", "IDFA", "IDFA_MD5", "IDFA_SHA1", "OS_DEVICE_ID", "OS_DEVICE_ID_MD5", "ANDROID_ID", "OS", "OS_VERSION", "IP_ADDRESS", "USER_AGENT", "COUNTRY", "LANGUAGE", "DEVICE_MODEL", "APP_VERSION", "OS_PACKAGE_NAME", "ANDROID_PACKAGE_NAME", "ITUNES_ID", "APP_NAME", "LIMIT_AD_TRACKING_ENABLED", "EVENT_NAME", "EVENT_ID", "EVENT_TIMESTAMP", "PURCHASE_REVENUE", "PURCHASE_CURRENCY", "PURCHASE_TRANSACTION_ID", "CAMPAIGN", "CREATIVE_ID", "CREATIVE_NAME", "CHANNEL", "IS_CLAIMABLE", "CUSTOM_EVENT_METADATA"} {
		if _, ok := c.Lookup(name); !ok {
			t.Errorf("Lookup(%s): missing", name)
		}
	}
	if _, ok := c.Lookup("aaid"); ok {
		t.Error("Lookup is case-sensitive: aaid must not match")
	}
	names := c.Names()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("Names not sorted and unique at %d: %q, %q", i, names[i-1], names[i])
		}
	}
}

// TestCatalogCoversCorpus reads every partner doc and requires each Branch
// parameter it names to be in the catalog.
func TestCatalogCoversCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "partner-docs")
	docs, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	if len(docs) == 0 {
		t.Skipf("corpus not found at %s (CI always has it)", dir)
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	// Parameter rows: "{macro} | BRANCH |", the JSON-like variant
	// "branch_parameter | BRANCH", and link-only rows "BRANCH | {macro}".
	param := regexp.MustCompile(`\}? *\| *([A-Z][A-Z0-9_]+) *\|`)
	jsonLike := regexp.MustCompile(`branch_parameter *\| *([A-Z][A-Z0-9_]+)`)
	linkOnly := regexp.MustCompile(`(?:^|[\s\x{2028}])([A-Z][A-Z0-9_]+) *\| *(?:\{|true|\[|%)`)
	seen := map[string]bool{}
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range strings.Split(string(b), "### ") {
			var res []*regexp.Regexp
			switch {
			case strings.HasPrefix(sec, "Postback Parameters"):
				res = []*regexp.Regexp{param, jsonLike}
			case strings.HasPrefix(sec, "Link-only"):
				res = []*regexp.Regexp{linkOnly}
			}
			for _, re := range res {
				for _, m := range re.FindAllStringSubmatch(sec, -1) {
					seen[m[1]] = true
				}
			}
		}
	}
	if len(seen) < 40 {
		t.Fatalf("found only %d Branch parameters in the corpus; the extraction is broken", len(seen))
	}
	for name := range seen {
		if _, ok := c.Lookup(name); !ok {
			t.Errorf("corpus uses Branch parameter %s, not in %s", name, File)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"two ways", "parameters:\n- {name: A, description: d, path: a, source: credential}\n", "exactly one"},
		{"no way", "parameters:\n- {name: A, description: d}\n", "exactly one"},
		{"bad name", "parameters:\n- {name: a_b, description: d, path: a}\n", "upper-case"},
		{"no description", "parameters:\n- {name: A, path: a}\n", "description"},
		{"duplicate", "parameters:\n- {name: A, description: d, path: a}\n- {name: A, description: d, path: b}\n", "already defined"},
		{"bad source", "parameters:\n- {name: A, description: d, source: env}\n", "unknown source"},
		{"setting without key", "parameters:\n- {name: A, description: d, source: setting}\n", "setting key"},
		{"bad hash", "parameters:\n- {name: A, description: d, path: a, hash: crc}\n", "unknown hash"},
		{"link only with path", "parameters:\n- {name: A, description: d, path: a, link_only: true, link_key: $a}\n", "link_only"},
		{"link only without key", "parameters:\n- {name: A, description: d, link_only: true}\n", "link_key"},
		{"bad path", "parameters:\n- {name: A, description: d, path: 'a..b'}\n", "dotted path"},
		{"unknown field", "parameters:\n- {name: A, description: d, path: a, colour: red}\n", "colour"},
		{"bad transform", "parameters:\n- {name: A, description: d, path: a, transform: ms_to_minutes}\n", "unknown transform"},
		{"transform without path", "parameters:\n- {name: A, description: d, source: credential, transform: ms_to_seconds}\n", "needs a path"},
		{"empty", "parameters: []\n", "no parameters"},
		{"not yaml", "parameters: [\n", "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	ok := "parameters:\n- {name: A, description: d, path: last_attributed_touch_data.~click_id, link_key: ~click_id}\n- {name: B, description: d, source: setting, setting: goal_id}\n"
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatalf("valid catalog rejected: %v", err)
	}
}
