package branchdoc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adgate/adgate/engine/spec"
)

// TestFamilyDocs imports synthetic docs written in the styles of the
// Branch partner-doc family that the corpus does not show: parameter
// tables as vertical blocks (clean, joined by U+2028, run together,
// mixed with rows, keyed by name), bracket macros, <#list> templates,
// several postbacks per event, JSON residue, mojibake and placeholder
// rows. Each doc's spec and findings are golden files (go test -update);
// the checks pin the facts that matter, so a golden cannot be updated
// into a wrong import unnoticed.
func TestFamilyDocs(t *testing.T) {
	param := func(p *spec.Partner, macro string) spec.Parameter {
		for _, prm := range p.Parameters {
			if prm.Macro == macro {
				return prm
			}
		}
		return spec.Parameter{Macro: "(missing)"}
	}
	cases := []struct {
		doc   string
		want  []wantDiag
		check func(t *testing.T, p *spec.Partner)
	}{
		{"a_blocks_clean", []wantDiag{{RuleBlocks, 16}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "parameters", len(p.Parameters), 4)
			eq(t, "click", param(p, "click_id"), spec.Parameter{Macro: "click_id", Branch: "CLICK_ID", LinkMacro: "{transaction_id}", Required: true, Description: "The click id the partner put on the link"})
			eq(t, "credential", param(p, "api_key"), spec.Parameter{Macro: "api_key", Branch: "ACCOUNT_CREDENTIAL", Label: "API Key", Required: true, Description: "The advertiser's key"})
			eq(t, "template", param(p, "revenue").Template, `${(event_data.revenue)!"0"}`)
			eq(t, "unmapped", len(p.Unmapped), 0)
		}},
		{"a_blocks_issue", []wantDiag{{RuleBlocks, 18}, {RuleUnmapped, 29}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "transaction", param(p, "transaction_id"), spec.Parameter{Macro: "transaction_id", Branch: "CLICK_ID", LinkMacro: "{transaction_id}", Label: "Transaction", Description: "The partner's transaction id"})
			eq(t, "run-on description", param(p, "ip").Description, "Device IP")
			eq(t, "extra cell kept", len(p.Unmapped), 1)
			eq(t, "extra cell text", p.Unmapped[0].Text, "extra cell nobody asked for")
		}},
		{"a_blocks_u2028", []wantDiag{{RuleBlocks, 12}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 2)
			eq(t, "click", param(p, "click"), spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "{clk}", Required: true, Description: "Click id"})
			eq(t, "aaid", param(p, "aaid").Description, "Google advertising id")
			eq(t, "link only", len(p.LinkOnly), 2)
		}},
		{"a_blocks_runon", []wantDiag{{RuleJoinedCells, 9}, {RuleBlocks, 9}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "parameters", len(p.Parameters), 3)
			eq(t, "click", param(p, "click"), spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "{clk}", Required: true, Description: "The click"})
			eq(t, "key", param(p, "key"), spec.Parameter{Macro: "key", Branch: "ACCOUNT_CREDENTIAL", Label: "Account Key", Required: true, Description: "Account key"})
			eq(t, "row-like block line", param(p, "currency"), spec.Parameter{Macro: "currency", Branch: "PURCHASE_CURRENCY", Description: "ISO currency"})
			eq(t, "unmapped", len(p.Unmapped), 0)
		}},
		{"a_blocks_mixed", []wantDiag{{RuleBlocks, 14}, {RuleBlocks, 19}}, func(t *testing.T, p *spec.Partner) {
			var order []string
			for _, prm := range p.Parameters {
				order = append(order, prm.Macro)
			}
			eq(t, "doc order", strings.Join(order, ","), "click,os,os_version,campaign")
			eq(t, "block", param(p, "os").Description, "Block form in the middle")
			eq(t, "row", param(p, "os_version").Branch, "OS_VERSION")
			eq(t, "last block", param(p, "campaign").LinkMacro, "{cmp}")
			eq(t, "method", p.Postbacks[1].Method, "POST")
		}},
		{"a_blocks_keyed", []wantDiag{{RuleBlocks, 11}, {RuleBranchCase, 17}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "click", param(p, "click"), spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "{click}", Required: true})
			eq(t, "title-case keys", param(p, "lang").Branch, "LANGUAGE")
			eq(t, "run-on template row", param(p, "meta"), spec.Parameter{Macro: "meta", Branch: "CUSTOM_EVENT_METADATA", Template: "${(custom_data.meta)!}", Description: "A template with a run-on required and description"})
		}},
		{"a_bracket_macros", nil, func(t *testing.T, p *spec.Partner) {
			eq(t, "ifa", param(p, "DeviceIds[IFA]").Branch, "IDFA")
			eq(t, "aid", param(p, "DeviceIds[AID]").Branch, "AAID")
			eq(t, "revenue", param(p, "Event[revenue]").Branch, "PURCHASE_REVENUE")
			eq(t, "link macro", param(p, "click").LinkMacro, "{ClickIds[0]}")
			eq(t, "link only", p.LinkOnly[0], spec.LinkParam{Branch: "CLICK_IDFA", LinkMacro: "{DeviceIds[IFA]}"})
			eq(t, "unmapped", len(p.Unmapped), 0)
		}},
		{"a_bracket_blocks", []wantDiag{{RuleAmpersand, 6}, {RuleBlocks, 9}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "url", p.Postbacks[0].URL, "https://pb.bblocks.example.test/i?ifa={DeviceIds[IFA]}{DeviceIds[AID]}&app={app}")
			eq(t, "parameters", len(p.Parameters), 3)
		}},
		{"a_list_directive", []wantDiag{{RuleQuotes, 12}, {RuleTemplateDesc, 13}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "list template", param(p, "bundle").Template, `<#list app.app_bundles as bundle><#if bundle.os == "IOS">${bundle.ios.bundle_id}<#break></#if></#list>`)
			eq(t, "list in description", param(p, "click").Description, "<#list 1..3 as i>${i}<#sep>, </#list> is documentation, not a template")
		}},
		{"a_multi_postbacks", []wantDiag{{RuleExtraPostback, 9}, {RuleDuplicateEvent, 10}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 3)
			eq(t, "first purchase unnamed", p.Postbacks[1].Name, "")
			x := p.Postbacks[2]
			eq(t, "extra", x.Name+" "+strings.Join(x.Events, ",")+" "+x.Method+" "+x.URL, "purchase_2 PURCHASE POST https://pb.multi.example.test/basket?c={click}")
			eq(t, "unmapped", len(p.Unmapped), 0)
		}},
		{"a_multi_named", []wantDiag{{RuleExtraPostback, 10}}, func(t *testing.T, p *spec.Partner) {
			var names []string
			for _, pb := range p.Postbacks {
				names = append(names, pb.Name+":"+strings.Join(pb.Events, "+"))
			}
			eq(t, "names", strings.Join(names, " "), ":INSTALL+OPEN sale_get:PURCHASE basket_sync:PURCHASE purchase_3:PURCHASE")
		}},
		{"a_json_residue", []wantDiag{{RuleJSONPostbacks, 4}, {RuleBlocks, 7}, {RuleShifted, 10}, {RuleJSONParameters, 13}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "postbacks", len(p.Postbacks), 2)
			eq(t, "custom url", p.Postbacks[1].URL, "https://pb.residue.example.test/e?c={click}&n={name}")
			eq(t, "null description", param(p, "click").Description, "")
			eq(t, "quoted label", param(p, "key").Label, "Key")
			eq(t, "null template", param(p, "name").Template, "")
		}},
		{"a_mojibake_blocks", []wantDiag{{RuleMojibake, 4}, {RuleInvisible, 9}, {RuleBlocks, 12}, {RuleMojibake, 15}, {RuleMojibake, 17}, {RuleInvisible, 20}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "description", p.Description, "The partner’s blocks, with café text.")
			eq(t, "url", p.Postbacks[0].URL, "https://pb.moji.example.test/i?c={click}&k={key}")
			eq(t, "label", param(p, "click").Label, "Click – id")
			eq(t, "param description", param(p, "click").Description, "“Mandatory” click")
			eq(t, "credential label", param(p, "key").Label, "Clé API")
		}},
		{"a_placeholder_rows", []wantDiag{{RulePlaceholder, 12}, {RulePlaceholder, 13}, {RuleRepeatedHeader, 14}, {RulePlaceholder, 15}, {RulePlaceholder, 17}, {RuleUnmapped, 18}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "parameters", len(p.Parameters), 2)
			eq(t, "example row kept under unmapped", len(p.Unmapped), 1)
			eq(t, "example row", p.Unmapped[0].Reason, "placeholder row: {your_macro} has the column name BRANCH_PARAMETER for its Branch parameter")
		}},
		{"a_nameless_block", []wantDiag{{RuleBlocks, 9}, {RuleUnmapped, 13}, {RuleUnmapped, 19}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "parameters", len(p.Parameters), 2)
			eq(t, "click keeps its own cells", param(p, "click"), spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "{click}", Required: true})
			eq(t, "os first description", param(p, "os").Description, "first")
			eq(t, "unmapped", len(p.Unmapped), 2)
			eq(t, "nameless block", p.Unmapped[0].Text, "branch_parameter | OS\ndescription | a block whose macro line is missing")
		}},
		{"a_unclosed_block", []wantDiag{{RuleUnterminated, 9}, {RuleUnterminated, 11}, {RuleMacroBraces, 13}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "click", param(p, "click"), spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "{click}", Required: true})
			eq(t, "double braces", param(p, "gaid").Branch, "AAID")
			eq(t, "bold macro line", param(p, "idfa").Branch, "IDFA")
		}},
		{"a_crlf_blocks", []wantDiag{{RuleBlocks, 10}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "click", param(p, "click"), spec.Parameter{Macro: "click", Branch: "CLICK_ID", LinkMacro: "{click}", Required: true})
			eq(t, "ts", param(p, "ts"), spec.Parameter{Macro: "ts", Branch: "EVENT_TIMESTAMP"})
		}},
		{"a_blocks_templates", []wantDiag{{RuleBlocks, 9}}, func(t *testing.T, p *spec.Partner) {
			eq(t, "template", param(p, "device_id").Template, "<#if (user_data.idfa)?has_content>${user_data.idfa}<#elseif (user_data.aaid)?has_content>${user_data.aaid}<#else>none</#if>")
			eq(t, "description with pipes", param(p, "device_id").Description, `IDFA or AAID, whichever is set; "a || b" is not a column break`)
			eq(t, "click", param(p, "click").Required, true)
		}},
	}
	docs, _ := filepath.Glob("testdata/family/a_*.md")
	if len(docs) != len(cases) {
		t.Errorf("%d family docs but %d cases: every doc needs its checks", len(docs), len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.doc, func(t *testing.T) {
			file := filepath.Join("testdata", "family", tc.doc+".md")
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
			golden(t, filepath.Join("family", tc.doc+".yaml"), y)
			golden(t, filepath.Join("family", tc.doc+".diag"), diagText(diags))
		})
	}
}

// A README (or any file that is not a partner doc) is refused with one
// finding that says what the file has, not imported with a warning per
// line.
func TestFamilyNotADoc(t *testing.T) {
	for _, file := range []string{"testdata/family/README.md", "testdata/rules/not_a_doc.md", "../../README.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(file, "../") {
				continue
			}
			t.Fatal(err)
		}
		res, diags, err := Import(file, data)
		if !errors.Is(err, ErrNotPartnerDoc) || res != nil {
			t.Errorf("%s: err = %v, want ErrNotPartnerDoc", file, err)
			continue
		}
		if len(diags) != 1 || diags[0].Rule != RuleNotPartnerDoc || diags[0].Line() != 1 {
			t.Errorf("%s: want one %s finding at line 1, got:\n%s", file, RuleNotPartnerDoc, diagText(diags))
		}
		if !strings.Contains(err.Error(), "Postbacks") {
			t.Errorf("%s: error does not say what a partner doc has: %v", file, err)
		}
	}
	// A doc of the family with nothing but its table sections is one.
	if _, _, err := Import("a_min.md", []byte("### Postbacks\nEvent | Postback\n--- | ---\n{}\n")); err != nil {
		t.Errorf("minimal doc refused: %v", err)
	}
}
