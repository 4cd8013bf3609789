package spec

import (
	"sort"
	"strings"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
	"github.com/adgate/adgate/engine/template"
)

// Rule ids are stable: users name them in suppressions and CI filters, so a
// rule is never renamed, only added or retired.
const (
	RuleYAMLSyntax        = "yaml-syntax"
	RuleDuplicateKey      = "duplicate-key"
	RuleAliasBudget       = yamlx.RuleAliasBudget
	RuleSchema            = "schema"
	RuleUndefinedMacro    = "undefined-macro"
	RuleUnusedParameter   = "unused-parameter"
	RuleDuplicateParam    = "duplicate-parameter"
	RuleDuplicateEvent    = "duplicate-event"
	RuleDuplicateName     = "duplicate-postback-name"
	RuleJSONBody          = "json-body-placeholder"
	RuleFormBody          = "form-body-malformed"
	RuleDuplicateQueryKey = "duplicate-query-key"
	RuleMacroKeyMismatch  = "macro-key-mismatch"
	RuleUnknownBranch     = "unknown-branch-parameter"
	RuleLinkOnlyParameter = "link-only-parameter"
	RuleMissingLinkMacro  = "missing-link-macro"
	RuleMissingLabel      = "missing-credential-label"
	RuleMissingTemplate   = "missing-template"
	RuleURLNotAbsolute    = "url-not-absolute"
	RuleURLInsecure       = "url-insecure"
	RuleURLTrailingText   = "url-trailing-text"
	RuleURLUnescaped      = "url-unescaped-char"
	RuleTemplateSyntax    = "template-syntax"
	RuleTemplateBlocked   = "template-blocked"
	RuleBranchBlocked     = "branch-blocked"
	RuleDuplicateID       = "duplicate-id"
	RuleFileNameMismatch  = "file-name-mismatch"
	RuleUnknownSuppress   = "suppression-unknown-rule"
	RuleSuppressNoReason  = "suppression-missing-reason"
	RuleUnusedSuppress    = "suppression-unused"
	RuleDeliveryPattern   = "delivery-pattern"
	RuleDeliveryStatus    = "delivery-status"
)

// RuleInfo documents one lint rule.
type RuleInfo struct {
	ID       string
	Severity diag.Severity
	// Catches says what the rule finds; Fix says what to do about it.
	Catches, Fix string
	// Suppressible rules may be silenced by an adgate:ignore comment. A
	// rule whose finding makes the spec impossible to render (render.Compile
	// refuses it) is not: validate must not pass a file render refuses.
	Suppressible bool
}

var rules = []RuleInfo{
	{RuleYAMLSyntax, diag.Error, "the file is not valid YAML (bad indentation, unclosed quote, tab indent, several documents)", "fix the YAML at the reported line", false},
	{RuleAliasBudget, diag.Error, "YAML aliases that expand the document past a safe size (\"billion laughs\"), or name a value containing themselves", "write the repeated values out, or use fewer aliases of large values", false},
	{RuleDuplicateKey, diag.Error, "a mapping key written twice; YAML keeps only one of them", "remove or rename one of the keys", false},
	{RuleSchema, diag.Error, "a field that the partner schema does not allow: unknown key, wrong type, bad enum value, missing required field", "follow schemas/partner.schema.json (your editor shows it as you type)", false},
	{RuleUndefinedMacro, diag.Error, "a {macro} in a URL, header or body with no parameter definition", "add a parameter with that macro, or fix the macro's spelling", true},
	{RuleUnusedParameter, diag.Warning, "a parameter that no postback uses", "use its {macro} in a postback or remove the parameter", true},
	{RuleDuplicateParam, diag.Error, "two parameters defining the same macro", "keep one definition", false},
	{RuleDuplicateEvent, diag.Error, "an event listed twice in one postback, or by two postbacks neither of which has a name; which postback is which would be ambiguous (not suppressible: the file cannot be run)", "remove the repeated listing, or give one of the postbacks a name to send both", false},
	{RuleDuplicateName, diag.Error, "a postback name used by two postbacks of the partner, or equal to an event the partner lists (not suppressible: the file cannot be run)", "give each postback its own name, different from every event name", false},
	{RuleDuplicateQueryKey, diag.Error, "a query key that appears twice in one URL (utm_source=...&utm_source=...)", "rename the second key (usually a copy-paste slip) or remove it", true},
	{RuleMacroKeyMismatch, diag.Warning, "a macro under a query key of another name when a parameter named like the key exists (utm_source={utm_medium})", "put {key} under key=, or rename the key", true},
	{RuleUnknownBranch, diag.Error, "a Branch parameter not in schemas/branch-parameters.yaml", "use a name from `adgate schema --catalog`, or add the parameter to the catalog", false},
	{RuleLinkOnlyParameter, diag.Warning, "a link-only click parameter (CLICK_AAID, S2S, ...) used as a postback parameter, where it has no value", "move it to link_only, or use the matching device parameter (AAID, IDFA)", true},
	{RuleMissingLinkMacro, diag.Error, "a CUSTOM_LINK_MACRO or CLICK_ID parameter without link_macro, so the tracking link never carries its value", "set link_macro to the partner's click macro, e.g. {click_id}", true},
	{RuleMissingLabel, diag.Error, "an ACCOUNT_CREDENTIAL without a dashboard label, so the advertiser cannot tell what to enter", "set label to the name the partner gives the credential", true},
	{RuleMissingTemplate, diag.Warning, "a CUSTOM_EVENT_METADATA parameter without a template; its value is always empty", "set template, e.g. ${(custom_data.key)!}", true},
	{RuleURLNotAbsolute, diag.Error, "a URL that does not start with http:// or https:// and a host, or whose host has a character no host name has (https://branch.io&{x})", "write the full URL with scheme and host", true},
	{RuleURLInsecure, diag.Warning, "a URL using http instead of https; postbacks carry device ids", "use https if the partner supports it", true},
	{RuleURLTrailingText, diag.Error, "stray text after the URL: quotes, braces, spaces, zero-width or line-separator characters", "delete the characters after the URL", true},
	{RuleURLUnescaped, diag.Error, "a character that must be percent-encoded in a URL (space, quote, <, >, \\, ^, `, {, |, }, non-ASCII, control)", "percent-encode it (space is %20), or move dynamic parts into a {macro}", true},
	{RuleJSONBody, diag.Warning, "a {macro} or ${...} in a JSON body that stands neither inside a JSON string nor as a whole JSON value (\"revenue\": {revenue} renders \"revenue\": , when the value is empty); such a body is not sent", "quote it (\"{revenue}\"), or write a whole value with a default (${(event_data.revenue)!0}); body_check: off sends the body unchecked", true},
	{RuleFormBody, diag.Warning, "literal text of an application/x-www-form-urlencoded body that form decoders reject: a malformed %-escape (100%, %{x}) or a ';'; such a body is not sent", "percent-encode it (% is %25, ; is %3B), or separate fields with &; body_check: off sends the body unchecked", true},
	{RuleTemplateSyntax, diag.Error, "a template the engine cannot compile: unbalanced ${...}, <#if>...</#if>, <@x>...</@x>, an unterminated string or comment, an unknown directive or built-in, a malformed expression", "fix the template at the reported position (try `adgate eval`)", false},
	{RuleTemplateBlocked, diag.Error, "a construct adgate refuses to run (Branch blocks most of them too): " + strings.Join(template.Blocked(), " ") + ", and Sprig functions that reach outside the template (sprig.env, ...)", "rewrite the template without it", false},
	{RuleBranchBlocked, diag.Warning, "a construct on Branch's blocklist that adgate runs: " + strings.Join(template.BranchBlocked(), " ") + " (with <#items>, <#sep>, <#else>, <#break>, <#continue>, x?index, ...); the spec works in adgate, but Branch rejects the template if it is pasted back there", "rewrite it with <@loop> if the template goes to Branch, or suppress the warning where the spec stays in adgate; `adgate validate --strict` fails on it", true},
	{RuleDuplicateID, diag.Error, "two files declaring the same partner id", "give each partner its own id", false},
	{RuleFileNameMismatch, diag.Error, "a file whose name is not <id>.yaml", "rename the file or fix the id", false},
	{RuleUnknownSuppress, diag.Error, "an adgate:ignore comment naming a rule that does not exist (or cannot be suppressed)", "use a rule id that `adgate validate --rules` lists", false},
	{RuleSuppressNoReason, diag.Warning, "an adgate:ignore comment without a reason", "write why after the rule id", false},
	{RuleUnusedSuppress, diag.Warning, "an adgate:ignore comment that silences nothing", "remove the comment", false},
	{RuleDeliveryPattern, diag.Error, "a delivery success_body or failure_body that is not a valid Go (RE2) regular expression, or is longer than 1024 bytes", "fix the pattern (Go RE2 syntax: no backreferences or lookarounds) or shorten it", false},
	{RuleDeliveryStatus, diag.Error, "a delivery success_status or retry_status entry that is not a status code from 100 to 599 (or, in retry_status, a class 1xx to 5xx)", "write a code such as 429 or a class such as \"5xx\"", false},
}

// Rules returns the lint rules, sorted by id.
func Rules() []RuleInfo {
	out := append([]RuleInfo(nil), rules...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func ruleInfo(id string) (RuleInfo, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return RuleInfo{}, false
}
