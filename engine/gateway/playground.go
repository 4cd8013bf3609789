package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// The playground's input bounds.
const (
	maxPlaygroundSpec  = 256 << 10
	maxPlaygroundEvent = 64 << 10
)

// playgroundRequest is the body of POST /v1/playground: a spec (its YAML,
// or the id of a loaded one) and an event (JSON, or a sample name).
type playgroundRequest struct {
	Spec    string          `json:"spec"`
	Partner string          `json:"partner"`
	Event   json.RawMessage `json:"event"`
	Sample  string          `json:"sample"`
	App     string          `json:"app"`
}

// Finding is a lint finding at its place in the spec.
type Finding struct {
	Severity string `json:"severity"`
	Rule     string `json:"rule"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// PlaygroundResult answers POST /v1/playground.
type PlaygroundResult struct {
	Findings []Finding        `json:"findings"`
	Requests []render.Request `json:"requests"`
	Skipped  []render.Skipped `json:"skipped"`
	// Event is the event rendered (the sample, when one was asked for),
	// so the console can show and edit it.
	Event json.RawMessage `json:"event,omitempty"`
	// Postbacks are the spec's postback keys: the samples it can take.
	Postbacks []string `json:"postbacks"`
}

// idLine finds a spec's top-level id, to name the checked file after it
// (the linter wants <id>.yaml) without parsing the YAML twice.
var idLine = regexp.MustCompile(`(?m)^id:[ \t]*["']?([A-Za-z0-9_.-]+)`)

// handlePlayground is POST /v1/playground: it checks and lints a spec and
// renders its postbacks for an event with the explain view, exactly as
// `adgate validate` and `adgate render --explain` do, with the app's
// settings but placeholders for every credential. Nothing is saved.
func (s *Server) handlePlayground(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	var req playgroundRequest
	if !readJSON(w, r, 2*(maxPlaygroundSpec+maxPlaygroundEvent), &req,
		`{"spec": "<yaml>" or "partner": "<id>", "event": {...} or "sample": "<event name>[:ios]", "app": "<id>"}`) {
		return
	}
	switch {
	case req.Spec != "" && req.Partner != "":
		writeError(w, http.StatusBadRequest, "send spec or partner, not both")
		return
	case req.Partner != "":
		text, err := loadedSpecText(rt, req.Partner)
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		req.Spec = text
	case req.Spec == "":
		writeError(w, http.StatusBadRequest, "send spec (the YAML) or partner (a loaded spec's id)")
		return
	}
	if len(req.Spec) > maxPlaygroundSpec {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("spec larger than %d bytes", maxPlaygroundSpec))
		return
	}
	if len(req.Event) > maxPlaygroundEvent {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("event larger than %d bytes", maxPlaygroundEvent))
		return
	}
	if len(req.Event) > 0 && req.Sample != "" {
		writeError(w, http.StatusBadRequest, "send event or sample, not both")
		return
	}
	var app *config.App
	if req.App != "" {
		if app = rt.cfg.App(req.App); app == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown app %q", req.App))
			return
		}
	}
	res, code, msg := s.playground(rt, req, app)
	if code != http.StatusOK {
		writeError(w, code, rt.red.String(msg))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// playground does the work of handlePlayground once the input is read.
func (s *Server) playground(rt *runtime, req playgroundRequest, app *config.App) (PlaygroundResult, int, string) {
	res := PlaygroundResult{Findings: []Finding{}, Requests: []render.Request{}, Skipped: []render.Skipped{}, Postbacks: []string{}}
	file := "playground.yaml"
	if m := idLine.FindStringSubmatch(req.Spec); m != nil {
		file = m[1] + ".yaml"
	}
	p, ds := s.loader.Check(file, []byte(req.Spec))
	for _, d := range ds {
		res.Findings = append(res.Findings, finding(d))
	}
	if p == nil {
		return res, http.StatusOK, ""
	}
	cp, err := render.Compile(p, s.loader.Catalog())
	if err != nil {
		res.Findings = append(res.Findings, Finding{Severity: diag.Error.String(), Rule: "compile", Message: err.Error()})
		return res, http.StatusOK, ""
	}
	res.Postbacks = cp.Postbacks()
	var pc *config.Partner
	if app != nil {
		if pc = app.Partner(p.ID); pc == nil {
			return res, http.StatusBadRequest, fmt.Sprintf("partner %q is not enabled for app %q: pick another app or none", p.ID, app.ID)
		}
	}
	raw := []byte(req.Event)
	if len(raw) == 0 {
		key, os, _ := strings.Cut(req.Sample, ":")
		if key == "" {
			key = firstOr(res.Postbacks, "INSTALL")
		}
		raw = sampleEvent(key, os, p, s.now())
	}
	if aerr := numberError(raw, rt.cfg.Limits.MaxNumberLength); aerr != nil {
		return res, http.StatusBadRequest, aerr.Error
	}
	ev, aerr := s.parseEvent(raw, rt.cfg.Limits.MaxErrorFields)
	if aerr != nil {
		return res, http.StatusBadRequest, aerr.Error
	}
	res.Event = raw
	out, err := cp.Render(ev, playgroundAccount(p, app, pc), render.Options{Explain: true})
	if err != nil {
		return res, http.StatusBadRequest, err.Error()
	}
	red := rt.red
	for _, q := range out.Requests {
		q.URL, q.Body, q.Headers = red.String(q.URL), red.String(q.Body), red.Headers(q.Headers)
		q.Explain = redactExplain(red, q.Explain)
		res.Requests = append(res.Requests, q)
	}
	for _, sk := range out.Skipped {
		sk.Reason = red.String(sk.Reason)
		sk.Explain = redactExplain(red, sk.Explain)
		res.Skipped = append(res.Skipped, sk)
	}
	return res, http.StatusOK, ""
}

func firstOr(l []string, def string) string {
	if len(l) > 0 {
		return l[0]
	}
	return def
}

func finding(d diag.Diagnostic) Finding {
	return Finding{Severity: d.Severity.String(), Rule: d.Rule, Line: d.Range.Start.Line, Col: d.Range.Start.Col, Message: d.Message, Hint: d.Hint}
}

// playgroundAccount is the account the playground renders with: the
// app's settings and bundles when one is picked, and for every credential
// the spec declares a placeholder naming it, never the running config's
// value.
func playgroundAccount(p *spec.Partner, app *config.App, pc *config.Partner) *render.Account {
	d := account.Data{Credentials: map[string]string{}}
	for _, prm := range p.Parameters {
		if prm.Branch == "ACCOUNT_CREDENTIAL" {
			d.Credentials[prm.Macro] = "CREDENTIAL-" + prm.Macro
		}
	}
	if app != nil && pc != nil {
		d.Settings = pc.Settings
		d.App = account.App{Bundles: bundles(app.Bundles)}
	}
	return account.New(d)
}

func redactExplain(red *redactor, ms []render.Macro) []render.Macro {
	for i := range ms {
		ms[i].Value = red.String(ms[i].Value)
		ms[i].Error = red.String(ms[i].Error)
	}
	return ms
}

// loadedSpecText reads the file of a spec the running config loaded.
func loadedSpecText(rt *runtime, id string) (string, error) {
	if _, ok := rt.partners[id]; !ok {
		return "", fmt.Errorf("partner %q is not loaded: the running config enables no app for it", id)
	}
	for _, ext := range []string{".yaml", ".yml"} {
		b, err := os.ReadFile(filepath.Join(rt.cfg.PartnersDir, id+ext))
		if err == nil {
			if len(b) > maxPlaygroundSpec {
				return "", fmt.Errorf("spec %s is larger than %d bytes", id, maxPlaygroundSpec)
			}
			return string(b), nil
		}
	}
	return "", fmt.Errorf("the spec file of partner %q is no longer in %s", id, rt.cfg.PartnersDir)
}

// PlaygroundSpec is a loaded spec the playground can start from.
type PlaygroundSpec struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Apps      []string `json:"apps"`
	Postbacks []string `json:"postbacks"`
	YAML      string   `json:"yaml"`
}

// handlePlaygroundSpecs is GET /v1/playground/specs: the specs of the
// running config's enabled partners, with their YAML, for the playground
// to start from.
func (s *Server) handlePlaygroundSpecs(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	out := []PlaygroundSpec{}
	for id, pr := range rt.partners {
		text, err := loadedSpecText(rt, id)
		if err != nil {
			continue
		}
		ps := PlaygroundSpec{ID: id, Name: pr.spec.Name, Apps: []string{}, Postbacks: pr.sel.Keys(), YAML: text}
		for _, a := range rt.cfg.Apps {
			if a.Partner(id) != nil {
				ps.Apps = append(ps.Apps, a.ID)
			}
		}
		out = append(out, ps)
	}
	slices.SortFunc(out, func(a, b PlaygroundSpec) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"specs": out})
}
