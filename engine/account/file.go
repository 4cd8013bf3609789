package account

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
)

// Rule ids of account file diagnostics.
const (
	RuleSyntax = "account-syntax"
	RuleField  = "account-field"
	RuleBundle = "account-bundle"
)

// MaxFileBytes bounds an account file: it holds a few credentials.
const MaxFileBytes = 1 << 20

// Load reads an account YAML file.
func Load(path string) (*Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading account: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading account %s: %w", path, err)
	}
	return Parse(path, b)
}

// Parse decodes an account file:
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
func Parse(file string, b []byte) (*Account, error) {
	if len(b) > MaxFileBytes {
		return nil, diag.List{{File: file, Severity: diag.Error, Rule: RuleSyntax,
			Message: fmt.Sprintf("account file is larger than %d bytes", MaxFileBytes), Hint: "an account holds a few credentials; check the path"}}.Err()
	}
	doc, l := yamlx.Parse(file, b, yamlx.Options{Rules: yamlx.Rules{Syntax: RuleSyntax, Duplicate: RuleField}})
	if doc.Root == nil { // not YAML, or an empty file: an empty account
		if err := l.Err(); err != nil {
			return nil, err
		}
		return New(Data{}), nil
	}
	// Keys written twice leave the tree usable: report the rest too.
	acct := DecodeNode(file, doc.Root, &l)
	if err := l.Err(); err != nil {
		return nil, err
	}
	return acct, nil
}

// DecodeNode decodes an account mapping node of a document yamlx.Parse
// read, appending positioned diagnostics to l. Fixture files embed
// accounts and use it too.
func DecodeNode(file string, n *yaml.Node, l *diag.List) *Account {
	var d Data
	n = yamlx.Deref(n)
	if yamlx.IsNull(n) {
		return New(d)
	}
	if n.Kind != yaml.MappingNode {
		*l = append(*l, yamlx.At(file, n, RuleSyntax, "an account is a mapping with credentials, app and settings", ""))
		return New(d)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "credentials":
			d.Credentials = stringMap(file, v, "credentials", l)
		case "settings":
			d.Settings = stringMap(file, v, "settings", l)
		case "app":
			decodeApp(file, v, &d.App, l)
		default:
			*l = append(*l, yamlx.At(file, k, RuleField, fmt.Sprintf("unknown account field %q", k.Value), "an account has credentials, app and settings"))
		}
	}
	return New(d)
}

var macroNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// stringMap decodes a mapping of names to scalar values. Values are taken
// as written (quoted or not), so a credential such as 0123 keeps its zero.
// Keys written twice are reported by yamlx.Parse.
func stringMap(file string, n *yaml.Node, what string, l *diag.List) map[string]string {
	n = yamlx.Deref(n)
	if yamlx.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		*l = append(*l, yamlx.At(file, n, RuleSyntax, what+" must be a mapping of names to values", ""))
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlx.Deref(n.Content[i+1])
		if !macroNameRE.MatchString(k.Value) {
			*l = append(*l, yamlx.At(file, k, RuleField, fmt.Sprintf("%s key %q is not a name", what, k.Value), "use the macro or setting name, letters, digits and _"))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			// The value itself is not quoted: it may be a secret.
			*l = append(*l, yamlx.At(file, v, RuleSyntax, fmt.Sprintf("%s.%s must be a single value", what, k.Value), "quote it if it is text"))
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
	n = yamlx.Deref(n)
	if yamlx.IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		*l = append(*l, yamlx.At(file, n, RuleSyntax, "app must be a mapping with app_bundles", ""))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlx.Deref(n.Content[i+1])
		if k.Value != "app_bundles" {
			*l = append(*l, yamlx.At(file, k, RuleField, fmt.Sprintf("unknown app field %q", k.Value), "app has app_bundles"))
			continue
		}
		if v.Kind != yaml.SequenceNode {
			*l = append(*l, yamlx.At(file, v, RuleBundle, "app_bundles must be a list", ""))
			continue
		}
		for _, bn := range v.Content {
			if b, ok := decodeBundle(file, yamlx.Deref(bn), l); ok {
				app.Bundles = append(app.Bundles, b)
			}
		}
	}
}

func decodeBundle(file string, n *yaml.Node, l *diag.List) (Bundle, bool) {
	var b Bundle
	if n.Kind != yaml.MappingNode {
		*l = append(*l, yamlx.At(file, n, RuleBundle, "an app bundle is a mapping {os, android: {package_name}} or {os, ios: {bundle_id, itunes_id}}", ""))
		return b, false
	}
	start := len(*l)
	fields := func(n *yaml.Node, what string, set map[string]*string) {
		n = yamlx.Deref(n)
		if n.Kind != yaml.MappingNode {
			*l = append(*l, yamlx.At(file, n, RuleBundle, what+" must be a mapping", ""))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], yamlx.Deref(n.Content[i+1])
			dst, ok := set[k.Value]
			switch {
			case !ok:
				*l = append(*l, yamlx.At(file, k, RuleField, fmt.Sprintf("unknown %s field %q", what, k.Value), ""))
			case v.Kind != yaml.ScalarNode:
				*l = append(*l, yamlx.At(file, v, RuleBundle, fmt.Sprintf("%s.%s must be a single value", what, k.Value), ""))
			default:
				*dst = v.Value
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "os":
			if v = yamlx.Deref(v); v.Kind != yaml.ScalarNode {
				*l = append(*l, yamlx.At(file, v, RuleBundle, "bundle os must be a single value", "ANDROID or IOS"))
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
			*l = append(*l, yamlx.At(file, k, RuleField, fmt.Sprintf("unknown bundle field %q", k.Value), "a bundle has os, android and ios"))
		}
	}
	switch {
	case b.OS == "":
		*l = append(*l, yamlx.At(file, n, RuleBundle, "app bundle has no os", "set os: ANDROID or os: IOS"))
	case b.OS != strings.ToUpper(b.OS):
		*l = append(*l, yamlx.At(file, n, RuleBundle, fmt.Sprintf("app bundle os %q is not upper case", b.OS), "Branch sends user_data.os in upper case (ANDROID, IOS), and templates compare it exactly"))
	}
	return b, len(*l) == start
}
