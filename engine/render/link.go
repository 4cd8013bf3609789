package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/spec"
)

// DefaultLinkBase stands for the advertiser's Branch link when none is given.
const DefaultLinkBase = "https://example.app.link/partner"

// TrackingLink returns the partner's tracking-link template: base plus
// $3p=<machine name>, ~advertising_partner_name=<name>, every postback
// parameter carried on the link (the catalog's link key, or for a
// CUSTOM_LINK_MACRO the parameter's own name, = its link macro), and the
// link-only parameters (catalog link key = link macro or fixed value).
//
// Encoding, as Branch writes its own links: keys keep $ and the RFC 3986
// unreserved characters (so $3p and ~click_id stay readable) and
// percent-encode the rest; a value that is a partner macro such as
// {utm_campaign} keeps its braces for the partner to fill; any other text
// is percent-encoded like a macro value in a postback URL (QueryEscape).
func TrackingLink(p *spec.Partner, cat *catalog.Catalog, base string) (string, error) {
	if base == "" {
		base = DefaultLinkBase
	}
	if strings.ContainsAny(base, "#") {
		return "", errors.New("link base must not have a #fragment")
	}
	type kv struct{ key, val string }
	pairs := []kv{{"$3p", p.MachineNameOrDefault()}, {"~advertising_partner_name", p.Name}}
	seen := map[string]string{"$3p": pairs[0].val, "~advertising_partner_name": pairs[1].val}
	var errs []error
	add := func(key, val, what string) {
		if prev, dup := seen[key]; dup {
			if prev != val {
				errs = append(errs, fmt.Errorf("%s: link key %s is already %s", what, key, prev))
			}
			return
		}
		seen[key] = val
		pairs = append(pairs, kv{key, val})
	}
	for _, prm := range p.Parameters {
		if prm.LinkMacro == "" {
			continue
		}
		def, ok := cat.Lookup(prm.Branch)
		if !ok {
			errs = append(errs, fmt.Errorf("parameter {%s}: unknown Branch parameter %s", prm.Macro, prm.Branch))
			continue
		}
		key := def.LinkKey
		if key == "" {
			key = prm.Macro
		}
		add(key, prm.LinkMacro, "parameter {"+prm.Macro+"}")
	}
	for _, lo := range p.LinkOnly {
		def, ok := cat.Lookup(lo.Branch)
		if !ok || def.LinkKey == "" {
			errs = append(errs, fmt.Errorf("link-only parameter %s: no link key in the catalog", lo.Branch))
			continue
		}
		val := lo.LinkMacro
		if val == "" {
			val = lo.Value
		}
		add(def.LinkKey, val, "link-only parameter "+lo.Branch)
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("partner %s: %w", p.ID, err)
	}
	var b strings.Builder
	b.WriteString(base)
	sep := byte('?')
	if strings.Contains(base, "?") {
		sep = '&'
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = 0
		}
	}
	for _, pr := range pairs {
		if sep != 0 {
			b.WriteByte(sep)
		}
		sep = '&'
		writeLinkKey(&b, pr.key)
		b.WriteByte('=')
		writeLinkValue(&b, pr.val)
	}
	return b.String(), nil
}

func writeLinkKey(b *strings.Builder, k string) {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c == '$' || unreserved(c) {
			b.WriteByte(c)
			continue
		}
		writeQuery(b, k[i:i+1])
	}
}

// writeLinkValue keeps {macro} segments and percent-encodes the text
// around them.
func writeLinkValue(b *strings.Builder, v string) {
	last := 0
	for _, m := range spec.MacroIndexes(v) {
		writeQuery(b, v[last:m[0]])
		b.WriteString(v[m[0]:m[1]])
		last = m[1]
	}
	writeQuery(b, v[last:])
}
