package branchdoc

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// corpusDir is where CI clones the shared corpus: beside the repository.
const corpusDir = "../../../shared/corpus/partner-docs"

func corpusDocs(t testing.TB) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.md"))
	if len(files) == 0 {
		t.Skipf("partner-doc corpus not found at %s (CI clones shared/ beside the repo); skipping corpus test", corpusDir)
	}
	return files
}

// allDocs is the rule docs, the family docs and, when the corpus is
// there, every corpus doc.
func allDocs(t testing.TB) []string {
	t.Helper()
	files, _ := filepath.Glob("testdata/rules/*.md")
	family, _ := filepath.Glob("testdata/family/*.md")
	files = append(files, family...)
	if all, _ := filepath.Glob(filepath.Join(corpusDir, "*.md")); len(all) > 0 {
		return append(files, all...)
	}
	t.Logf("partner-doc corpus not found at %s; using the rule docs only", corpusDir)
	return files
}

// importFile reads and imports one doc; a file that cannot be read fails
// the test.
func importFile(t testing.TB, file string) (*Result, diag.List, error) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return Import(file, data)
}

func mustImport(t *testing.T, file string) (*Result, diag.List) {
	t.Helper()
	res, diags, err := importFile(t, file)
	if err != nil {
		t.Fatalf("Import(%s): %v", file, err)
	}
	return res, diags
}

// golden compares got with testdata/<name>, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (run go test -update and review the diff)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// diagText is the findings' text lines; the goldens hold what the importer
// found, not the source snippets the diag package prints under them.
func diagText(l diag.List) []byte {
	var b bytes.Buffer
	_ = diag.Printer{Format: diag.Text}.Print(&b, l)
	return b.Bytes()
}

type wantDiag struct {
	rule string
	line int
}

func hasDiag(l diag.List, w wantDiag) bool {
	for _, d := range l {
		if d.Rule == w.rule && d.Line() == w.line {
			return true
		}
	}
	return false
}

// TestRepairRules imports one small doc per repair rule and checks the
// diagnostics it must report (rule and doc line), the facts it must map,
// and the full YAML and diagnostics against golden files.
func TestRepairRules(t *testing.T) {
	cases := []struct {
		doc   string
		want  []wantDiag
		check func(t *testing.T, p *spec.Partner)
	}{
		{"basic", nil, func(t *testing.T, p *spec.Partner) {
			eq(t, "name", p.Name, "Basic Partner")
			eq(t, "logo", p.Logo, "https://cdn.example.test/logo_(1).png")
			eq(t, "website", p.Website, "https://basic.example.test/")
			eq(t, "status", string(p.Status), "active")
			eq(t, "postbacks", len(p.Postbacks), 2)
			eq(t, "shared events", strings.Join(p.Postbacks[0].Events, ","), "INSTALL,OPEN")
			eq(t, "purchase url", p.Postbacks[1].URL, "https://pb.example.test/p?click={click_id}&rev={revenue}")
			eq(t, "required", p.Parameters[0].Required, true)
			eq(t, "null description", p.Parameters[1].Description, "")
			eq(t, "link only", len(p.LinkOnly), 2)
			eq(t, "link macro", p.LinkOnly[1].LinkMacro, "{gaid}")
		}},
		{"json_postbacks", []wantDiag{{RuleJSONPostbacks, 6}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 2)
			eq(t, "open url", p.Postbacks[1].URL, "https://pb.example.test/o?c={click}")
		}},
		{"json_parameters", []wantDiag{{RuleJSONParameters, 11}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "parameters", len(p.Parameters), 3)
			eq(t, "label", p.Parameters[1].Label, "API Key")
			eq(t, "required", p.Parameters[1].Required, true)
			eq(t, "description with comma", p.Parameters[1].Description, "The key, with a comma")
			eq(t, "template with comma", p.Parameters[2].Template, `${(custom_data.a)!"x,y"}`)
			eq(t, "null template", p.Parameters[0].Template, "")
		}},
		// Real JSON, keys in any order, an unknown key kept as unmapped.
		{"json_array", []wantDiag{{RuleJSONParameters, 11}, {RuleUnmapped, 11}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "parameters", len(p.Parameters), 3)
			eq(t, "click", p.Parameters[0], spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "{click}", Required: true})
			eq(t, "key", p.Parameters[1], spec.Parameter{Macro: "key", Branch: "ACCOUNT_CREDENTIAL", Label: `API Key, "live"`, Required: true})
			eq(t, "template", p.Parameters[2].Template, `${(custom_data.revenue)!"0"}`)
			eq(t, "unmapped", len(p.Unmapped), 1)
			eq(t, "unmapped text", p.Unmapped[0].Text, "2")
		}},
		{"mojibake", []wantDiag{{RuleMojibake, 4}, {RuleMojibake, 9}, {RuleInvisible, 9}, {RuleInvisible, 14}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "description", p.Description, "We’re the “best” network — Яндекс.")
			eq(t, "url", p.Postbacks[0].URL, "https://pb.example.test/i?c={click}")
			eq(t, "label", p.Parameters[0].Label, "Click ID")
			eq(t, "param description", p.Parameters[0].Description, "Mandatory “click” id")
		}},
		{"quotes", []wantDiag{{RuleQuotes, 6}, {RuleQuotes, 11}, {RuleQuotes, 12}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "url", p.Postbacks[0].URL, `https://pb.example.test/i?os=<#if user_data.os == "IOS">ios<#else>android</#if>&app={app}&t={idtype}`)
			eq(t, "loop", p.Parameters[0].Template, `<@loop data=app.app_bundles val="bundle"><#if bundle.os == "IOS">${(bundle.ios.bundle_id)!}</#if></@loop>`)
			eq(t, "prose", p.Parameters[0].Description, "This is the \"sub\" value.\nSecond line.")
			eq(t, "empty string literal", p.Parameters[1].Template, `<#if (user_data.idfa)! != "">idfa<#else>other</#if>`)
		}},
		{"stray", []wantDiag{{RuleStraySuffix, 6}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "url", p.Postbacks[1].URL, "https://pb.example.test/o?c={click}")
		}},
		{"truncated", []wantDiag{{RuleTruncated, 6}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 1)
			eq(t, "kept event", p.Postbacks[0].Events[0], "INSTALL")
			eq(t, "unmapped", len(p.Unmapped), 2)
			eq(t, "unmapped open", p.Unmapped[0].Text, "OPEN | https://pb.example.test/e?data=")
			eq(t, "unmapped line", p.Unmapped[0].Line, 6)
			eq(t, "allowed hosts", len(p.AllowedHosts), 0)
		}},
		{"unterminated", []wantDiag{{RuleJSONPostbacks, 6}, {RuleUnterminated, 6}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 1)
			eq(t, "events", strings.Join(p.Postbacks[0].Events, ","), "custom_event,PURCHASE")
			eq(t, "url", p.Postbacks[0].URL, "https://pb.example.test/c?v={revenue}&gclid={gclid}")
		}},
		{"ampersand", []wantDiag{{RuleAmpersand, 6}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "url", p.Postbacks[0].URL, "https://pb.example.test/i?a={app_version}&os={os}&d={android_id}&_ev_wt=1")
		}},
		{"dupkey", []wantDiag{{RuleDuplicateKey, 6}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "url", p.Postbacks[0].URL, "https://pb.example.test/i?utm_source={utm_source}&utm_medium={utm_medium}")
		}},
		{"shifted", []wantDiag{{RuleShifted, 11}, {RuleMacroBraces, 11}, {RuleForeignTemplate, 11}, {RuleShortRow, 11}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "parameters", len(p.Parameters), 4)
			eq(t, "bare macro", p.Parameters[1].Macro, "t_url")
			eq(t, "null link macro", p.Parameters[2].LinkMacro, "")
			eq(t, "jinja", p.Parameters[2].Template, `<#if user_data.os == "IOS">ios<#else>other</#if>`)
			eq(t, "label", p.Parameters[3].Label, "Account ID")
			eq(t, "template of displaced row", p.Parameters[3].Template, "")
			eq(t, "description of displaced row", p.Parameters[3].Description, "The account")
		}},
		{"prose", []wantDiag{{RuleColonPipe, 11}, {RuleSelfTemplate, 11}, {RuleBadRequired, 11}, {RuleTemplateDesc, 11}, {RuleQuotes, 11}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "colon", p.Parameters[0].Description, "The event name, eg: install, open")
			eq(t, "self template", p.Parameters[1].Template, "")
			eq(t, "template description", p.Parameters[2].Description, `<#if (user_data.os)! == "IOS">${ad_network.credentials.ios}</#if>`)
			eq(t, "unmapped required", p.Unmapped[0].Text, "maybe")
		}},
		// A second postback for an event is an extra, named postback.
		{"duplicates", []wantDiag{{RuleExtraPostback, 6}, {RuleDuplicateParam, 11}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 2)
			eq(t, "extra postback", p.Postbacks[1].Name, "install_2")
			eq(t, "parameters", len(p.Parameters), 1)
			eq(t, "unmapped", len(p.Unmapped), 1)
		}},
		{"link_only", []wantDiag{{RuleEmptyPostbacks, 6}, {RuleShifted, 11}, {RuleTemplateLink, 16}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 0)
			eq(t, "setting", p.LinkOnly[0], spec.LinkParam{Branch: "S2S", Value: "true"})
			eq(t, "bare link macro", p.LinkOnly[1], spec.LinkParam{Branch: "CLICK_ID", LinkMacro: "TAPJOY_CLICK_ID"})
			eq(t, "interpolation macro", p.LinkOnly[2].LinkMacro, "${idfa}")
			eq(t, "credential", p.Parameters[0].Label, "App Key")
		}},
		{"unknown", []wantDiag{{RuleUnmapped, 3}, {RuleStatus, 5}, {RuleUnmapped, 10}, {RuleUnmapped, 11}, {RuleUnmapped, 16}, {RuleUnmapped, 21}, {RuleUnknownSection, 23}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "status", string(p.Status), "")
			eq(t, "method", p.Postbacks[0].Method, "POST")
			eq(t, "unmapped count", len(p.Unmapped), 7)
			i := slices.IndexFunc(p.Unmapped, func(u spec.Unmapped) bool { return u.Section == "section:Testing Notes" })
			if i < 0 {
				t.Fatalf("unknown section not kept: %+v", p.Unmapped)
			}
			eq(t, "section text", p.Unmapped[i].Text, "Ask the partner for a sandbox.")
		}},
		// A doc of the family in a shape the corpus does not show: CRLF,
		// pipe-wrapped rows, aligned separators, other heading case,
		// reordered and missing parameter columns.
		{"unseen", []wantDiag{{RuleBranchCase, 26}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "name", p.Name, "Novel Partner")
			eq(t, "logo", p.Logo, "https://cdn.example.test/n.png")
			eq(t, "status", string(p.Status), "in-review")
			eq(t, "description", p.Description, "First line.\nSecond line.")
			eq(t, "postbacks", len(p.Postbacks), 2)
			eq(t, "open url", p.Postbacks[1].URL, "https://pb.example.test/o?c={click}&t={tok}")
			eq(t, "param", p.Parameters[0], spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "[clk]", Required: true})
			eq(t, "credential", p.Parameters[1], spec.Parameter{Macro: "tok", Branch: "ACCOUNT_CREDENTIAL", Label: "API token"})
			eq(t, "link", p.LinkOnly[0], spec.LinkParam{Branch: "CLICK_IDFA", LinkMacro: "TAPJOY_IDFA"})
			eq(t, "lower-case link", p.LinkOnly[1], spec.LinkParam{Branch: "CLICK_AAID", LinkMacro: "TAPJOY_AAID"})
			eq(t, "unmapped", len(p.Unmapped), 0)
		}},
		// What the importer keeps as the doc wrote it but the spec lint
		// rejects is reported at the doc line, so a doc that imports into a
		// spec that does not validate still says which lines to fix.
		{"lint", []wantDiag{{RuleCredentialHost, 9}, {RuleNotURL, 9}, {RuleUndefinedMacro, 9}, {RuleUnterminated, 14}, {RuleUnterminated, 14}, {RuleUnknownBranch, 14}, {RuleNoLinkMacro, 14}, {RuleNoLabel, 14}, {RuleJoinedRows, 19}, {RuleUnterminated, 19}, {RuleUnknownBranch, 20}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 1)
			eq(t, "unmapped", len(p.Unmapped), 3)
			eq(t, "unmapped open", p.Unmapped[0].Text, "OPEN | coming soon")
			eq(t, "placeholder host", p.Unmapped[2].Text, "custom_event | https://placeholder.example.test&{click}")
			eq(t, "closed name and link macro", p.Parameters[0].Macro+" "+p.Parameters[0].LinkMacro, "click {click}")
			eq(t, "unknown branch kept", p.Parameters[1].Branch, "AUDIENCE_SEGMENT")
			eq(t, "closed link-only macro", p.LinkOnly[1], spec.LinkParam{Branch: "CLICK_IDFA", LinkMacro: "{idfa}"})
			eq(t, "unknown link-only kept", p.LinkOnly[2].Branch, "CLICK_TIMESTAMP")
		}},
		{"carried", []wantDiag{{RuleCarriedUnmapped, 16}, {RuleUnmapped, 17}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "unmapped", len(p.Unmapped), 2)
			eq(t, "carried", p.Unmapped[0], spec.Unmapped{Section: "postbacks", Line: 13, Reason: "not an absolute http(s) URL", Text: "OPEN | coming soon"})
		}},
		{"encoding", []wantDiag{{RuleEncoding, 0}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "name", p.Name, "Café Partner")
			eq(t, "description", p.Description, "Naïve “quoted” text.")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.doc, func(t *testing.T) {
			file := filepath.Join("testdata", "rules", tc.doc+".md")
			res, diags := mustImport(t, file)
			for _, w := range tc.want {
				if !hasDiag(diags, w) {
					t.Errorf("missing %s at line %d; got:\n%s", w.rule, w.line, diagText(diags))
				}
			}
			tc.check(t, res.Partner)
			y, err := res.YAML(tc.doc + ".md")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("rules", tc.doc+".yaml"), y)
			golden(t, filepath.Join("rules", tc.doc+".diag"), diagText(diags))
		})
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestNotAPartnerDoc(t *testing.T) {
	data, err := os.ReadFile("testdata/rules/not_a_doc.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Import("not_a_doc.md", data); !errors.Is(err, ErrNotPartnerDoc) {
		t.Fatalf("err = %v, want ErrNotPartnerDoc", err)
	}
}

func TestPartnerID(t *testing.T) {
	for _, tc := range []struct{ file, id, machine string }{
		{"docs/a_jampp.md", "jampp", "a_jampp"},
		{"a_google_adwords.md", "google_adwords", "a_google_adwords"},
		{"My Partner.md", "my_partner", ""},
		{"a_apple-search.md", "apple_search", "a_apple-search"},
		{"a_v2.0.md", "v2_0", "a_v2.0"},
		{"_x.md", "x", ""},
		{"a_.md", "a_", ""},
		{"___.md", "partner", ""},
	} {
		id, m := PartnerID(tc.file)
		if id != tc.id || m != tc.machine {
			t.Errorf("PartnerID(%q) = %q, %q; want %q, %q", tc.file, id, m, tc.id, tc.machine)
		}
	}
}

// goldenCorpus is a representative dozen: every doc variant and repair.
var goldenCorpus = []string{
	"a_clevertap", "a_criteo", "a_google_adwords", "a_facebook", "a_art_of_click", "a_doubleclick",
	"a_inmobi", "a_jampp", "a_applovin", "a_admitad", "a_drawbridge", "a_yandex_direct", "a_mobrain", "a_crossinstall",
}

func TestCorpusGolden(t *testing.T) {
	corpusDocs(t)
	for _, name := range goldenCorpus {
		t.Run(name, func(t *testing.T) {
			res, diags := mustImport(t, filepath.Join(corpusDir, name+".md"))
			y, err := res.YAML(name + ".md")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("golden", res.Partner.ID+".yaml"), y)
			var b bytes.Buffer
			for _, d := range diags {
				d.File = name + ".md"
				b.WriteString(d.String() + "\n")
			}
			golden(t, filepath.Join("golden", res.Partner.ID+".diag"), b.Bytes())
		})
	}
}

// TestCorpusDefects pins the real defects of the corpus that the catalog
// fixes: the import must report each original at its doc line.
func TestCorpusDefects(t *testing.T) {
	corpusDocs(t)
	for _, tc := range []struct {
		doc  string
		want wantDiag
		frag string // the repaired text in the output
	}{
		{"a_google_adwords", wantDiag{RuleUnterminated, 12}, "gclid={gclid}"},
		{"a_applift", wantDiag{RuleStraySuffix, 12}, "post=1"},
		{"a_yandex_direct", wantDiag{RuleStraySuffix, 12}, "{session_user_agent}]"},
		{"a_criteo", wantDiag{RuleTruncated, 12}, ""},
		{"a_clevertap", wantDiag{RuleDuplicateKey, 12}, "utm_medium={utm_medium}"},
		{"a_admitad", wantDiag{RuleAmpersand, 12}, "&os={os}"},
		{"a_jampp", wantDiag{RuleInvisible, 12}, "apple_ifa_sha1={apple_ifa_sha1}"},
		// Fixed by hand in partners/impact_radius.yaml; the import flags it.
		{"a_impact_radius", wantDiag{RuleCredentialHost, 12}, "{Account_SID}{Authorization_Token}api.impactradius.com"},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			res, diags := mustImport(t, filepath.Join(corpusDir, tc.doc+".md"))
			if !hasDiag(diags, tc.want) {
				t.Errorf("missing %s at line %d; got:\n%s", tc.want.rule, tc.want.line, diagText(diags))
			}
			found := false
			for _, pb := range res.Partner.Postbacks {
				if tc.frag != "" && strings.Contains(pb.URL, tc.frag) {
					found = true
				}
				if strings.HasSuffix(pb.URL, `"}`) || strings.ContainsRune(pb.URL, '\u200b') {
					t.Errorf("URL still carries the defect: %s", pb.URL)
				}
			}
			if tc.frag != "" && !found {
				t.Errorf("no postback URL contains %q", tc.frag)
			}
		})
	}
}

// TestCorpusImport imports every corpus doc: each yields a spec, every
// postback URL is free of doc artifacts, and nothing is lost silently.
func TestCorpusImport(t *testing.T) {
	for _, file := range corpusDocs(t) {
		res, diags := mustImport(t, file)
		p := res.Partner
		if p.Name == "" || p.ID == "" {
			t.Errorf("%s: no id or name", file)
		}
		if diags.HasErrors() {
			t.Errorf("%s: error diagnostics:\n%s", file, diagText(diags))
		}
		for _, pb := range p.Postbacks {
			if strings.ContainsAny(pb.URL, "\\\u2028\u200b") || strings.HasSuffix(pb.URL, `"}`) {
				t.Errorf("%s: URL keeps a doc artifact: %s", file, pb.URL)
			}
		}
		for _, prm := range p.Parameters {
			if strings.Contains(prm.Template, `\`) || prm.Template == "null" || prm.Description == "null" {
				t.Errorf("%s: parameter {%s} keeps a doc artifact: %+v", file, prm.Macro, prm)
			}
		}
		// Every unmapped item is reported.
		if n := countRule(diags, RuleUnmapped) + countRule(diags, RuleTruncated) + countRule(diags, RuleDuplicateEvent) + countRule(diags, RuleUnknownSection) + countRule(diags, RuleNotURL); n < len(p.Unmapped) {
			t.Errorf("%s: %d unmapped items but %d reports", file, len(p.Unmapped), n)
		}
	}
}

func countRule(l diag.List, rule string) int {
	n := 0
	for _, d := range l {
		if d.Rule == rule {
			n++
		}
	}
	return n
}

// TestRoundTrip checks that import -> export -> import is a fixed point:
// the second import yields the same spec as the first.
func TestRoundTrip(t *testing.T) {
	for _, file := range allDocs(t) {
		first, _, err := importFile(t, file)
		if err != nil {
			continue // not a partner doc (tested elsewhere)
		}
		doc, lost := Export(first.Partner)
		second, diags, err := Import(file, doc)
		if err != nil {
			t.Errorf("%s: re-import of the export failed: %v", file, err)
			continue
		}
		a, err1 := MarshalPartner(first.Partner)
		b, err2 := MarshalPartner(second.Partner)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: import -> export -> import is not a fixed point (lost: %v)\n--- first ---\n%s\n--- second ---\n%s\n--- exported doc ---\n%s", file, lost, a, b, doc)
		}
		// The exported doc is clean: re-importing it repairs nothing (what
		// it reports is a fact the doc keeps, such as an unknown Branch
		// parameter).
		for _, d := range diags {
			if d.Severity == diag.Warning && !slices.Contains([]string{RuleCarriedUnmapped, RuleTemplateDesc, RuleTemplateLink, RuleCredentialHost, RuleUnknownBranch, RuleNoLinkMacro, RuleNoLabel, RuleUndefinedMacro}, d.Rule) {
				t.Errorf("%s: re-import of the export reports %s", file, d)
			}
		}
		// And the export itself is stable.
		doc2, _ := Export(second.Partner)
		if !bytes.Equal(doc, doc2) {
			t.Errorf("%s: export is not stable across the round trip", file)
		}
	}
}

func TestTemplates(t *testing.T) {
	data, err := os.ReadFile("testdata/rules/quotes.md")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := Templates("quotes.md", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Template{
		{Pos{6, 11}, "postback-url", "INSTALL", `https://pb.example.test/i?os=<#if user_data.os == "IOS">ios<#else>android</#if>&app={app}&t={idtype}`},
		{Pos{11, 39}, "webhook-template", "app", `<@loop data=app.app_bundles val="bundle"><#if bundle.os == "IOS">${(bundle.ios.bundle_id)!}</#if></@loop>`},
		{Pos{12, 42}, "webhook-template", "idtype", `<#if (user_data.idfa)! != "">idfa<#else>other</#if>`},
	}
	if !slices.Equal(ts, want) {
		t.Errorf("Templates =\n%+v\nwant\n%+v", ts, want)
	}
}

// TestRowsJoinedWithSpaces imports every corpus doc with its U+2028 row
// separators turned into spaces (as a terminal or a careless copy shows
// them): docs without templates or short rows must import the same. (A
// short row gives no way to tell where the next one starts; a template may
// contain anything.)
func TestRowsJoinedWithSpaces(t *testing.T) {
	same := 0
	for _, file := range corpusDocs(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("${")) || bytes.Contains(data, []byte("<#")) || bytes.Contains(data, []byte("<@")) || !bytes.Contains(data, []byte("\u2028")) {
			continue
		}
		a, diags0, err1 := Import(file, data)
		b, diags, err2 := Import(file, bytes.ReplaceAll(data, []byte("\u2028"), []byte(" ")))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if countRule(diags0, RuleShortRow) > 0 {
			continue
		}
		ya, _ := MarshalPartner(a.Partner)
		yb, _ := MarshalPartner(b.Partner)
		if !bytes.Equal(ya, yb) {
			t.Errorf("%s: rows joined with spaces import differently\n--- U+2028 ---\n%s\n--- spaces ---\n%s\n%s", file, ya, yb, diagText(diags))
			continue
		}
		if countRule(diags, RuleJoinedRows) == 0 {
			t.Errorf("%s: joined rows not reported", file)
		}
		same++
	}
	t.Logf("%d docs import the same with rows joined by spaces", same)
}

// TestRoundTripUnclosedSyntaxInProse: a label or description holding an
// unclosed ${ or <# whose closing character stands in a later cell must not
// swallow the separators between them when the export is read back.
func TestRoundTripUnclosedSyntaxInProse(t *testing.T) {
	for _, prm := range []spec.Parameter{
		{Macro: "key", Branch: "ACCOUNT_CREDENTIAL", Label: "Key ${ see docs", Description: "the key } of the account"},
		{Macro: "key", Branch: "ACCOUNT_CREDENTIAL", Label: "Key <#-- note", Description: "a > b"},
		{Macro: "v", Branch: "CUSTOM_EVENT_METADATA", Template: "${(custom_data.v)!}", Description: "50% ${ off }"},
	} {
		p := &spec.Partner{ID: "rt", MachineName: "a_rt", Name: "RT", Postbacks: []spec.Postback{{Events: []string{"INSTALL"}, URL: "https://x.test/?k={" + prm.Macro + "}"}}, Parameters: []spec.Parameter{prm}}
		doc, _ := Export(p)
		res, _, err := Import("a_rt.md", doc)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := MarshalPartner(p)
		b, _ := MarshalPartner(res.Partner)
		if !bytes.Equal(a, b) {
			t.Errorf("round trip differs\n--- spec ---\n%s\n--- re-imported ---\n%s\n--- doc ---\n%s", a, b, doc)
		}
	}
}

// Export says what the doc format cannot carry, and nothing else.
func TestExportLost(t *testing.T) {
	tests := []struct {
		name string
		p    spec.Partner
		want []string
	}{
		{"default machine name", spec.Partner{ID: "acme", Name: "Acme"}, nil},
		{"machine name as the default", spec.Partner{ID: "acme", Name: "Acme", MachineName: "a_acme"}, nil},
		{"other machine name", spec.Partner{ID: "acme", Name: "Acme", MachineName: "a_acme_v2"}, []string{"machine name a_acme_v2 (a Branch doc carries it in its file name: save the doc as a_acme_v2.md)"}},
		{"request parts", spec.Partner{ID: "acme", Name: "Acme", Postbacks: []spec.Postback{
			{Events: []string{"PURCHASE"}, Method: "POST", URL: "https://x.test/p", Headers: map[string]string{"X-Key": "{key}"}, Body: `{"a":1}`, ContentType: "application/json"},
		}}, []string{"headers of the PURCHASE postback (left out)", "body of the PURCHASE postback (left out)", "content type of the PURCHASE postback (left out)"}},
		{"extra postbacks", spec.Partner{ID: "acme", Name: "Acme", Postbacks: []spec.Postback{
			{Events: []string{"INSTALL", "PURCHASE"}, URL: "https://x.test/p"},
			{Name: "basket", Events: []string{"purchase"}, URL: "https://x.test/b"},
		}}, []string{
			"postback names (written in a Name column, which is adgate's: Branch's partner manager does not read it)",
			"extra postback basket for purchase (a Branch doc has one postback per event, here INSTALL, PURCHASE; written as a second purchase row)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, lost := Export(&tt.p); !slices.Equal(lost, tt.want) {
				t.Errorf("lost = %q, want %q", lost, tt.want)
			}
		})
	}
}
