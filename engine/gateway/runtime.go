package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/deliver"
	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// runtime is one consistent generation of config and compiled partner
// specs. Requests load it once and use it to the end, so a reload never
// mixes two generations within one request; a reload swaps in a new one.
type runtime struct {
	cfg      *config.Config
	partners map[string]*partnerRuntime
	// version hashes the config file and the specs in use; it is stamped
	// on every job as ConfigVersion.
	version string
	red     *redactor
	// policies are the delivery policies by (app, partner).
	policies map[queue.Key]deliver.Policy
	// stamp fingerprints the watched files, for change detection.
	stamp string
	// warnings are the non-fatal findings of the load, logged once.
	warnings diag.List
}

// loadRuntime loads the config and the specs of its enabled partners. A
// diagnostic error in either fails the load; the caller keeps its previous
// runtime.
func loadRuntime(ctx context.Context, path string, opt config.Options, cat *catalog.Catalog) (*runtime, diag.List, error) {
	cfg, ds, err := config.Load(ctx, path, opt)
	if err != nil {
		return nil, ds, err
	}
	if cfg == nil {
		return nil, ds, ds.Err()
	}
	// Fingerprint before reading the specs: a change made while loading
	// is then seen by the next poll.
	stamp := fingerprint(path, cfg.PartnersDir)
	specs, sds, err := spec.LoadDir(ctx, cfg.PartnersDir)
	var le diag.ListError
	if err != nil && !errors.As(err, &le) {
		return nil, ds, fmt.Errorf("load partner specs from %s: %w", cfg.PartnersDir, err)
	}
	enabled := map[string]bool{}
	for _, a := range cfg.Apps {
		for _, p := range a.Partners {
			enabled[p.ID] = true
		}
	}
	// A broken spec only matters when an app uses it; the others are
	// reported by `adgate validate`, not here.
	for _, d := range sds {
		if d.Severity == diag.Error && enabled[spec.SpecID(d.File)] {
			ds = append(ds, d)
		}
	}
	ds = append(ds, cfg.CheckPartners(specs, sds)...)
	if ds.HasErrors() {
		ds.Sort()
		return nil, ds, ds.Err()
	}
	rt := &runtime{cfg: cfg, partners: map[string]*partnerRuntime{}, red: newRedactor(cfg.Secrets()), stamp: stamp}
	h := sha256.New()
	h.Write([]byte(cfg.Hash))
	slices.SortFunc(specs, func(a, b *spec.Partner) int { return strings.Compare(a.ID, b.ID) })
	for _, sp := range specs {
		if !enabled[sp.ID] {
			continue
		}
		cp, err := render.Compile(sp, cat)
		if err != nil {
			ds = append(ds, diag.Diagnostic{File: filepath.Join(cfg.PartnersDir, sp.ID+".yaml"), Severity: diag.Error,
				Rule: "gateway-compile", Message: err.Error()})
			continue
		}
		b, _ := json.Marshal(sp)
		h.Write(b)
		rt.partners[sp.ID] = &partnerRuntime{spec: sp, sel: cp.Selection(), r: newSpecRenderer(cp, cfg, sp.ID, rt.red)}
	}
	if ds.HasErrors() {
		ds.Sort()
		return nil, ds, ds.Err()
	}
	rt.version = hex.EncodeToString(h.Sum(nil)[:6])
	rt.policies = buildPolicies(cfg, rt.partners)
	rt.warnings = ds
	return rt, ds, nil
}

// topology is the queue topology of runtimes: the (app, partner) pairs
// any of them plans postbacks for, which their apps' render workers
// render.
func topology(rts ...*runtime) queue.Topology {
	var t queue.Topology
	for _, rt := range rts {
		for k := range rt.policies {
			t.Partners = append(t.Partners, k)
		}
		// The last is the config going live.
		t.Version = rt.version
	}
	return t
}

// dropped lists the pairs of old that cur no longer plans for.
func dropped(old, cur *runtime) []queue.Key {
	var out []queue.Key
	for k := range old.policies {
		if _, ok := cur.policies[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// fingerprint summarises the modification times and sizes of the config
// file and the partner specs, so a poll can tell that something changed
// without reading every file.
func fingerprint(path, partnersDir string) string {
	var b strings.Builder
	add := func(p string) {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", p, fi.ModTime().UnixNano(), fi.Size())
		} else {
			fmt.Fprintf(&b, "%s:missing;", p)
		}
	}
	add(path)
	if partnersDir != "" {
		entries, _ := os.ReadDir(partnersDir)
		for _, e := range entries {
			if n := e.Name(); strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
				add(filepath.Join(partnersDir, n))
			}
		}
	}
	return b.String()
}

// specRenderer renders with engine/render, using each app's account
// (credentials, bundles, settings) built once per load.
type specRenderer struct {
	cp       *render.Partner
	accounts map[string]*render.Account // by app id
	// red redacts skip reasons, which the ingest answer and the logs
	// show: a template error may quote a value it failed on.
	red *redactor
}

func newSpecRenderer(cp *render.Partner, cfg *config.Config, partner string, red *redactor) *specRenderer {
	sr := &specRenderer{cp: cp, accounts: map[string]*render.Account{}, red: red}
	for _, a := range cfg.Apps {
		pc := a.Partner(partner)
		if pc == nil {
			continue
		}
		sr.accounts[a.ID] = account.New(account.Data{Credentials: pc.Credentials, Settings: pc.Settings, App: account.App{Bundles: bundles(a.Bundles)}})
	}
	return sr
}

func bundles(bs []config.Bundle) []event.Bundle {
	out := make([]event.Bundle, 0, len(bs))
	for _, b := range bs {
		eb := event.Bundle{OS: b.OS}
		if b.PackageName != "" {
			eb.Android = &event.AndroidBundle{PackageName: b.PackageName}
		}
		if b.BundleID != "" || b.ITunesID != "" {
			eb.IOS = &event.IOSBundle{BundleID: b.BundleID, ItunesID: b.ITunesID}
		}
		out = append(out, eb)
	}
	return out
}

func (sr *specRenderer) render(ev *event.Event, app *config.App, _ *config.Partner, s spec.Selected) ([]rendered, string) {
	res := sr.cp.RenderSelected(ev, sr.accounts[app.ID], []spec.Selected{s}, render.Options{})
	if len(res.Requests) == 0 {
		var why []string
		for _, s := range res.Skipped {
			why = append(why, s.Reason)
		}
		if len(why) == 0 {
			why = append(why, "the partner's spec rendered no request")
		}
		return nil, sr.red.String(strings.Join(why, "; "))
	}
	out := make([]rendered, 0, len(res.Requests))
	for _, rq := range res.Requests {
		out = append(out, rendered{Postback: rq.Postback, Name: rq.Name, Method: rq.Method, URL: rq.URL, Headers: rq.Headers, Body: rq.Body})
	}
	return out, ""
}
