package render

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
)

// Account is the advertiser's context for one partner: what templates see
// as ad_network.credentials and app, plus per-postback settings. It comes
// from --account FILE on the command line and from the gateway config.
// Render only reads it.
type Account struct {
	// Credentials are ACCOUNT_CREDENTIAL values by macro name.
	Credentials map[string]string `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	App         App               `yaml:"app,omitempty" json:"app,omitzero"`
	// Settings hold per-integration values such as goal_id or app_name.
	Settings map[string]string `yaml:"settings,omitempty" json:"settings,omitempty"`
}

// App is the advertiser's app: app.app_bundles in templates.
type App struct {
	Bundles []Bundle `yaml:"app_bundles,omitempty" json:"app_bundles,omitempty"`
}

// Bundle, AndroidBundle and IOSBundle describe one app of the account.
type (
	Bundle        = event.Bundle
	AndroidBundle = event.AndroidBundle
	IOSBundle     = event.IOSBundle
)

// Rule ids of account file diagnostics.
const (
	RuleAccountSyntax = "account-syntax"
	RuleAccountField  = "account-field"
	RuleAccountBundle = "account-bundle"
)

// MaxAccountBytes bounds an account file: it holds a few credentials.
const MaxAccountBytes = 1 << 20

// LoadAccount reads an account YAML file.
func LoadAccount(path string) (*Account, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading account: %w", err)
	}
	return ParseAccount(path, b)
}

// ParseAccount decodes an account file:
//
//	credentials: {macro: value, ...}
//	app:
//	  app_bundles:
//	    - {os: ANDROID, android: {package_name: com.acme}}
//	    - {os: IOS, ios: {bundle_id: com.acme.ios, itunes_id: "id123"}}
//	settings: {goal_id: "42"}
//
// Problems are returned as a diag.ListError with file:line:col. Error
// messages never quote credential values.
func ParseAccount(file string, b []byte) (*Account, error) {
	if len(b) > MaxAccountBytes {
		return nil, diag.List{{File: file, Severity: diag.Error, Rule: RuleAccountSyntax,
			Message: fmt.Sprintf("account file is larger than %d bytes", MaxAccountBytes)}}.Err()
	}
	var root yaml.Node
	if err := yaml.Unmarshal(trimBOM(b), &root); err != nil {
		ds := yamlError(file, RuleAccountSyntax, err)
		ds.Locate(file, diag.NewSource(b))
		return nil, ds.Err()
	}
	var acct Account
	if root.Kind == 0 { // empty file: an empty account
		return &acct, nil
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	var l diag.List
	DecodeAccountNode(file, doc, &acct, &l)
	l.Locate(file, diag.NewSource(b))
	if err := l.Err(); err != nil {
		return nil, err
	}
	return &acct, nil
}

// DecodeAccountNode decodes an account mapping node into acct, appending
// positioned diagnostics to l. Fixture files embed accounts and use it too.
func DecodeAccountNode(file string, n *yaml.Node, acct *Account, l *diag.List) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		*l = append(*l, nodeDiag(file, n, RuleAccountSyntax, "an account is a mapping with credentials, app and settings", ""))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "credentials":
			acct.Credentials = stringMap(file, v, "credentials", l)
		case "settings":
			acct.Settings = stringMap(file, v, "settings", l)
		case "app":
			decodeApp(file, v, &acct.App, l)
		default:
			*l = append(*l, nodeDiag(file, k, RuleAccountField, fmt.Sprintf("unknown account field %q", k.Value), "an account has credentials, app and settings"))
		}
	}
}

var macroNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// stringMap decodes a mapping of names to scalar values. Values are taken
// as written (quoted or not), so a credential such as 0123 keeps its zero.
func stringMap(file string, n *yaml.Node, what string, l *diag.List) map[string]string {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		*l = append(*l, nodeDiag(file, n, RuleAccountSyntax, what+" must be a mapping of names to values", ""))
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if !macroNameRE.MatchString(k.Value) {
			*l = append(*l, nodeDiag(file, k, RuleAccountField, fmt.Sprintf("%s key %q is not a name", what, k.Value), "use the macro or setting name, letters, digits and _"))
			continue
		}
		if _, dup := m[k.Value]; dup {
			*l = append(*l, nodeDiag(file, k, RuleAccountField, fmt.Sprintf("%s key %q is given twice", what, k.Value), ""))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			// The value itself is not quoted: it may be a secret.
			*l = append(*l, nodeDiag(file, v, RuleAccountSyntax, fmt.Sprintf("%s.%s must be a single value", what, k.Value), "quote it if it is text"))
			continue
		}
		if v.Tag == "!!null" {
			m[k.Value] = ""
			continue
		}
		m[k.Value] = v.Value
	}
	return m
}

func decodeApp(file string, n *yaml.Node, app *App, l *diag.List) {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		*l = append(*l, nodeDiag(file, n, RuleAccountSyntax, "app must be a mapping with app_bundles", ""))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.Value != "app_bundles" {
			*l = append(*l, nodeDiag(file, k, RuleAccountField, fmt.Sprintf("unknown app field %q", k.Value), "app has app_bundles"))
			continue
		}
		if v.Kind != yaml.SequenceNode {
			*l = append(*l, nodeDiag(file, v, RuleAccountBundle, "app_bundles must be a list", ""))
			continue
		}
		for _, bn := range v.Content {
			if b, ok := decodeBundle(file, resolveAlias(bn), l); ok {
				app.Bundles = append(app.Bundles, b)
			}
		}
	}
}

func decodeBundle(file string, n *yaml.Node, l *diag.List) (Bundle, bool) {
	var b Bundle
	if n.Kind != yaml.MappingNode {
		*l = append(*l, nodeDiag(file, n, RuleAccountBundle, "an app bundle is a mapping {os, android: {package_name}} or {os, ios: {bundle_id, itunes_id}}", ""))
		return b, false
	}
	start := len(*l)
	fields := func(n *yaml.Node, what string, set map[string]*string) {
		n = resolveAlias(n)
		if n.Kind != yaml.MappingNode {
			*l = append(*l, nodeDiag(file, n, RuleAccountBundle, what+" must be a mapping", ""))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], resolveAlias(n.Content[i+1])
			dst, ok := set[k.Value]
			switch {
			case !ok:
				*l = append(*l, nodeDiag(file, k, RuleAccountField, fmt.Sprintf("unknown %s field %q", what, k.Value), ""))
			case v.Kind != yaml.ScalarNode:
				*l = append(*l, nodeDiag(file, v, RuleAccountBundle, fmt.Sprintf("%s.%s must be a single value", what, k.Value), ""))
			default:
				*dst = v.Value
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "os":
			if v = resolveAlias(v); v.Kind != yaml.ScalarNode {
				*l = append(*l, nodeDiag(file, v, RuleAccountBundle, "bundle os must be a single value", "ANDROID or IOS"))
				continue
			}
			b.OS = v.Value
		case "android":
			b.Android = &AndroidBundle{}
			fields(v, "android", map[string]*string{"package_name": &b.Android.PackageName})
		case "ios":
			b.IOS = &IOSBundle{}
			fields(v, "ios", map[string]*string{"bundle_id": &b.IOS.BundleID, "itunes_id": &b.IOS.ItunesID})
		default:
			*l = append(*l, nodeDiag(file, k, RuleAccountField, fmt.Sprintf("unknown bundle field %q", k.Value), "a bundle has os, android and ios"))
		}
	}
	switch {
	case b.OS == "":
		*l = append(*l, nodeDiag(file, n, RuleAccountBundle, "app bundle has no os", "set os: ANDROID or os: IOS"))
	case b.OS != strings.ToUpper(b.OS):
		*l = append(*l, nodeDiag(file, n, RuleAccountBundle, fmt.Sprintf("app bundle os %q is not upper case", b.OS), "Branch sends user_data.os in upper case (ANDROID, IOS), and templates compare it exactly"))
	}
	return b, len(*l) == start
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func nodeDiag(file string, n *yaml.Node, rule, msg, hint string) diag.Diagnostic {
	return diag.Diagnostic{File: file, Range: diag.Point(n.Line, n.Column), Severity: diag.Error, Rule: rule, Message: msg, Hint: hint}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into a
// positioned diagnostic.
func yamlError(file, rule string, err error) diag.List {
	msg := err.Error()
	d := diag.Diagnostic{File: file, Severity: diag.Error, Rule: rule, Message: msg}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.Range = diag.Point(line, 0)
		d.Message = m[2]
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		d.Message = te.Errors[0]
	}
	return diag.List{d}
}

// YAMLError is yamlError for other packages reading YAML beside accounts.
func YAMLError(file, rule string, err error) diag.List { return yamlError(file, rule, err) }

// trimBOM drops a UTF-8 byte order mark some editors write.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
