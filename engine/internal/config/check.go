package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
	"github.com/adgate/adgate/engine/spec"
)

// CheckPartners checks the config against the partner specs it names: every
// enabled partner has a spec, every listed postback exists, credentials
// match the spec's ACCOUNT_CREDENTIAL parameters. specs are the specs that
// loaded and specDiags the findings of loading them: a partner whose spec
// file has an error is not checked, and not reported missing either, since
// that error is reported for the spec file, where it is to be fixed. The
// caller reports specDiags.
func (c *Config) CheckPartners(specs []*spec.Partner, specDiags diag.List) diag.List {
	byID := make(map[string]*spec.Partner, len(specs))
	for _, sp := range specs {
		byID[sp.ID] = sp
	}
	invalid := map[string]bool{}
	for _, d := range specDiags {
		if d.Severity == diag.Error {
			invalid[spec.SpecID(d.File)] = true
		}
	}
	var ds diag.List
	at := func(path string) (int, int) {
		n := nodeAt(c.root, path)
		if n == nil {
			return 0, 0
		}
		return n.Line, n.Column
	}
	add := func(sev diag.Severity, path, rule, msg, hint string) {
		l, col := at(path)
		ds = append(ds, diag.Diagnostic{File: c.Path, Range: diag.Point(l, col), Severity: sev, Rule: rule, Message: msg, Hint: hint})
	}
	for i, app := range c.Apps {
		for j, p := range app.Partners {
			pp := fmt.Sprintf("apps.%d.partners.%d", i, j)
			sp := byID[p.ID]
			if sp == nil && invalid[p.ID] {
				continue
			}
			if sp == nil {
				add(diag.Error, pp+".id", RulePartner, fmt.Sprintf("no partner spec %q in %s", p.ID, c.PartnersDir),
					"check the id against the file names in partners_dir, or fix partners_dir")
				continue
			}
			sel, _ := sp.Selection()
			for k, key := range p.Postbacks {
				if len(sel.Find(nil, key)) == 0 {
					add(diag.Error, fmt.Sprintf("%s.postbacks.%d", pp, k), RulePostback,
						fmt.Sprintf("partner %s has no postback %q", p.ID, key), "it has "+strings.Join(sel.Keys(), ", "))
				}
			}
			creds := map[string]bool{}
			for _, prm := range sp.Parameters {
				if prm.Branch == "ACCOUNT_CREDENTIAL" {
					creds[prm.Macro] = true
					if _, ok := p.Credentials[prm.Macro]; !ok {
						add(diag.Warning, pp+".id", RuleMissingCred,
							fmt.Sprintf("partner %s expects credential %q (%s), which is not configured", p.ID, prm.Macro, prm.Label),
							"add it under credentials, or its macro renders empty")
					}
				}
			}
			for name := range p.Credentials {
				if !creds[name] {
					l, col := 0, 0
					if n := yamlx.Lookup(c.root, append(strings.Split(pp+".credentials", "."), name)).Key; n != nil {
						l, col = n.Line, n.Column
					}
					ds = append(ds, diag.Diagnostic{File: c.Path, Range: diag.Point(l, col), Severity: diag.Warning, Rule: RuleCredential,
						Message: fmt.Sprintf("partner %s has no ACCOUNT_CREDENTIAL parameter %q", p.ID, name), Hint: "remove it or fix the name"})
				}
			}
			if p.CustomEvents != nil && sp.Postback(spec.CustomEvent) == nil {
				add(diag.Warning, pp+".custom_events", RuleCustomEvents,
					fmt.Sprintf("partner %s has no custom_event postback, so custom_events has no effect", p.ID), "remove custom_events")
			}
		}
	}
	if c.text != nil {
		ds.Locate(c.Path, c.text)
	}
	ds.Sort()
	return ds
}

// ValidateFile is what `adgate validate` runs on a gateway.yaml: the
// config's own checks, then the partner specs of its partners_dir loaded
// and checked against it. It returns the findings of all of these files
// and the spec files it checked (none when the config itself has errors).
// The error is for I/O failures only.
func ValidateFile(ctx context.Context, path string, opt Options) (diag.List, []string, error) {
	cfg, ds, err := Load(ctx, path, opt)
	if err != nil || cfg == nil {
		return ds, nil, err
	}
	cannot := func(err error) (diag.List, []string, error) {
		return append(ds, diag.Diagnostic{File: path, Severity: diag.Error, Rule: RulePartner,
			Message: fmt.Sprintf("cannot load partners_dir %s: %v", cfg.PartnersDir, err),
			Hint:    "check that partners_dir names a readable directory"}), nil, nil
	}
	files, err := spec.SpecFiles(cfg.PartnersDir)
	if err != nil {
		return cannot(err)
	}
	l, err := spec.NewLoader()
	if err != nil {
		return nil, nil, err
	}
	var specs []*spec.Partner
	var sds diag.List
	if len(files) > 0 {
		specs, sds, err = l.LoadPaths(ctx, files...)
		var le diag.ListError
		if err != nil && !errors.As(err, &le) {
			return cannot(err)
		}
	}
	ds = append(ds, sds...)
	ds = append(ds, cfg.CheckPartners(specs, sds)...)
	ds.Sort()
	return ds, files, nil
}
