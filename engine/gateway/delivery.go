package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/adgate/adgate/engine/internal/config"
	"github.com/adgate/adgate/engine/internal/deliver"
	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/spec"
)

// delivery wires the queue to the HTTP sender: it is the queue's handler,
// looks delivery policies up in the live runtime (so a reload applies to
// jobs already queued), and records every attempt in metrics, the
// deliveries list and the log.
type delivery struct {
	s   *Server
	snd *deliver.Sender
	// events serves the render workers of one app's partners the decoding
	// ingest made of each event.
	events *eventCache
	// activity is each pair's last delivery and last error, for the
	// partner status.
	activity activity
}

// eventCacheBytes bounds the decoded events kept for render workers.
const eventCacheBytes = 8 << 20

func newDelivery(s *Server) (*delivery, error) {
	d := &delivery{s: s, events: newEventCache(eventCacheBytes)}
	snd, err := deliver.New(deliver.Options{
		Policy:        d.policy,
		Observer:      deliver.ObserverFunc(d.observe),
		Redact:        func(v string) string { return s.redactorNow().String(v) },
		RedactHeaders: func(h map[string]string) map[string]string { return s.redactorNow().Headers(h) },
		DeliverTo:     s.opt.DeliverTo,
		UserAgent:     "adgate-gateway",
		Logger:        s.log.With("component", "deliver"),
		PausedAt: func(app, partner string, t time.Time) (time.Time, bool) {
			return s.q.PausedAt(queue.Key{App: app, Partner: partner}, t)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	d.snd = snd
	return d, nil
}

// Handle implements queue.Handler.
func (d *delivery) Handle(ctx context.Context, j queue.Job, attempt int) queue.Outcome {
	return d.snd.Handle(ctx, j, attempt)
}

// statusSkipped is the status of a postback that was planned at ingest
// but that its render worker did not send (a template error, a required
// value missing), as GET /v1/deliveries lists it.
const statusSkipped = "skipped"

// Render implements queue.Renderer: it renders an event for one (app,
// partner) pair, for the app's render worker (or, for a deferred render,
// the pair's delivery worker), with the config live now, which may be
// newer than the one that planned the event at ingest.
func (d *delivery) Render(_ context.Context, k queue.Key, qe queue.Event) ([]queue.Job, error) {
	rt := d.s.rt.Load()
	var pc *config.Partner
	if app := rt.cfg.App(k.App); app != nil {
		pc = app.Partner(k.Partner)
	}
	if pc == nil {
		// A reload disabled the partner after the event was accepted;
		// its consumer is on its way out.
		d.s.log.Info("event not rendered: partner no longer enabled for the app", "app", k.App, "partner", k.Partner, "event_id", qe.ID)
		return nil, nil
	}
	app := rt.cfg.App(k.App)
	ev, err := d.events.parse(k.App, qe.ID, qe.Raw)
	if err != nil {
		// Ingest validated and parsed the same bytes: only a store that
		// changed them gets here, and rendering again cannot help.
		d.skipped(rt, k, qe.ID, "", "", skipRender, "stored event unreadable: "+err.Error())
		return nil, nil
	}
	pl := renderPartner(ev, qe.ID, app, pc, rt.partners[k.Partner], rt.version, qe.Received)
	// The queue sets each job's EventSeq, which finds the event again
	// in the archive for a replay that renders anew.
	for _, sk := range pl.Skipped {
		switch {
		case sk.Class == skipRender:
			d.skipped(rt, k, qe.ID, sk.Postback, sk.Name, sk.Class, sk.Reason)
		case qe.ConfigVersion != rt.version && sk.Class != skipNoPostback:
			// Ingest decided the other classes with the same config and
			// answered them; a reload in between may have changed the
			// decision, which then says so here. (no_postback is the
			// answer of every partner the event does not concern.)
			d.skipped(rt, k, qe.ID, sk.Postback, sk.Name, sk.Class, fmt.Sprintf("config changed from %s to %s after the event was accepted: %s", qe.ConfigVersion, rt.version, sk.Reason))
		}
	}
	return pl.jobs, nil
}

// rerender renders a dead letter's postback again, from its archived
// event with the config and spec live now: for when the spec was the
// cause. The postback keeps its id (so its Idempotency-Key), and records
// the config version that rendered the one that died.
func (d *delivery) rerender(ctx context.Context, dl queue.DeadLetter) (queue.Job, error) {
	old := dl.Job
	qe, err := d.s.q.ArchivedEvent(ctx, old.App, old.EventID, old.EventSeq)
	if err != nil {
		return queue.Job{}, err
	}
	rt := d.s.rt.Load()
	app := rt.cfg.App(old.App)
	var pc *config.Partner
	if app != nil {
		pc = app.Partner(old.Partner)
	}
	if pc == nil {
		return queue.Job{}, fmt.Errorf("partner %q is not enabled for app %q in config %s", old.Partner, old.App, rt.version)
	}
	ev, err := d.events.parse(old.App, qe.ID, qe.Raw)
	if err != nil {
		return queue.Job{}, fmt.Errorf("archived event unreadable: %w", err)
	}
	pl := renderPartner(ev, qe.ID, app, pc, rt.partners[old.Partner], rt.version, qe.Received)
	for _, j := range pl.jobs {
		if j.ID == old.ID {
			j.EventSeq = qe.Seq
			j.OriginalConfigVersion = old.ConfigVersion
			return j, nil
		}
	}
	for _, sk := range pl.Skipped {
		if sk.Postback != "" && PostbackID(old.App, qe.ID, old.Partner, sk.Postback, sk.Name) == old.ID {
			return queue.Job{}, fmt.Errorf("config %s does not send it: %s", rt.version, sk.Reason)
		}
	}
	return queue.Job{}, fmt.Errorf("config %s renders no postback %q for event %s any more", rt.version, old.Postback, qe.ID)
}

// skipped records a planned postback that rendering did not send, where
// the operator looks for postbacks: metrics, GET /v1/deliveries and the
// log. reason is already redacted.
func (d *delivery) skipped(rt *runtime, k queue.Key, eventID, postback, name, class, reason string) {
	d.s.recordSkipped(k.App, k.Partner, class)
	at := Attempt{
		Time: d.s.now(), App: k.App, Partner: k.Partner, Postback: postback, EventID: eventID,
		Status: statusSkipped, Error: reason, ConfigVersion: rt.version, Instance: d.s.instance,
	}
	if postback != "" {
		at.PostbackID = PostbackID(k.App, eventID, k.Partner, postback, name)
	}
	if name != "" {
		// as its deliveries list it: a named postback by its name
		at.Postback = name
	}
	d.s.hist.attempt(at)
	d.s.log.Warn("postback skipped", "postback_id", at.PostbackID, "app", k.App, "partner", k.Partner, "postback", postback,
		"event_id", eventID, "reason", reason)
	if f := d.s.opt.OnAttempt; f != nil {
		f(at)
	}
}

// Concurrency implements queue.Concurrencer.
func (d *delivery) Concurrency(app, partner string) int { return d.snd.Concurrency(app, partner) }

func (d *delivery) policy(app, partner string) (deliver.Policy, bool) {
	rt := d.s.rt.Load()
	p, ok := rt.policies[queue.Key{App: app, Partner: partner}]
	return p, ok
}

// buildPolicies derives every (app, partner) delivery policy of a runtime.
func buildPolicies(cfg *config.Config, specs map[string]*partnerRuntime) map[queue.Key]deliver.Policy {
	out := map[queue.Key]deliver.Policy{}
	for _, a := range cfg.Apps {
		for _, pc := range a.Partners {
			pr := specs[pc.ID]
			if pr == nil {
				continue
			}
			out[queue.Key{App: a.ID, Partner: pc.ID}] = policyFor(pr.spec, a.ID, pc.Delivery)
		}
	}
	return out
}

// policyFor merges a partner's delivery policy: the spec's delivery block
// first, then the app's config overriding it field by field. Each
// verdict-making rule records where it came from (deliver.Rules), which
// every attempt then shows as decided_by.
func policyFor(sp *spec.Partner, app string, d config.Delivery) deliver.Policy {
	hosts := sp.Hosts()
	var private []string
	for _, h := range d.AllowHosts {
		// Compared with url.Hostname(), which has no brackets; config
		// validation refuses entries with a port.
		h = strings.Trim(h, "[]")
		hosts = append(hosts, h)
		if deliver.ExemptsPrivate(h) {
			private = append(private, h)
		}
	}
	pol := deliver.Policy{
		Timeout:       d.Timeout,
		MaxAttempts:   d.MaxAttempts,
		MaxAge:        d.MaxAge,
		Concurrency:   d.Concurrency,
		RatePerSecond: d.RatePerSecond,
		AllowedHosts:  hosts,
		PrivateHosts:  private,
		Breaker: deliver.BreakerPolicy{
			FailureRatio:   d.Breaker.FailureRatio,
			MinRequests:    d.Breaker.MinRequests,
			Window:         d.Breaker.Window,
			OpenFor:        d.Breaker.OpenFor,
			HalfOpenProbes: d.Breaker.HalfOpenProbes,
		},
	}
	if sd := sp.Delivery; sd != nil {
		src := func(field string) string { return decidedBy("", sp.ID, field) }
		if len(sd.SuccessStatus) > 0 {
			pol.SuccessStatus, pol.Rules.SuccessStatus = sd.SuccessStatus, src("success_status")
		}
		// The loader refused a spec whose patterns or statuses do not
		// compile, with the same functions.
		if re, err := spec.CompilePattern(sd.SuccessBody); sd.SuccessBody != "" && err == nil {
			pol.SuccessBody, pol.Rules.SuccessBody = re, src("success_body")
		}
		if re, err := spec.CompilePattern(sd.FailureBody); sd.FailureBody != "" && err == nil {
			pol.FailureBody, pol.Rules.FailureBody = re, src("failure_body")
		}
		if codes, classes, err := spec.ParseStatusList(sd.RetryStatus); len(sd.RetryStatus) > 0 && err == nil {
			pol.RetryStatus, pol.Rules.RetryStatus = &deliver.StatusSet{Codes: codes, Classes: classes}, src("retry_status")
		}
		if sd.RetryNetworkErrors != nil {
			pol.NoNetworkRetry, pol.Rules.RetryNetwork = !*sd.RetryNetworkErrors, src("retry_network_errors")
		}
	}
	src := func(field string) string { return decidedBy(app, sp.ID, field) }
	if len(d.SuccessCodes) > 0 {
		pol.SuccessStatus, pol.Rules.SuccessStatus = d.SuccessCodes, src("success_codes")
	}
	if d.SuccessBody != nil {
		pol.SuccessBody, pol.Rules.SuccessBody = d.SuccessBody, src("success_body")
	}
	if d.FailureBody != nil {
		pol.FailureBody, pol.Rules.FailureBody = d.FailureBody, src("failure_body")
	}
	if codes, classes, err := spec.ParseStatusList(d.RetryStatus); len(d.RetryStatus) > 0 && err == nil {
		pol.RetryStatus, pol.Rules.RetryStatus = &deliver.StatusSet{Codes: codes, Classes: classes}, src("retry_status")
	}
	if d.RetryNetwork != nil {
		pol.NoNetworkRetry, pol.Rules.RetryNetwork = !*d.RetryNetwork, src("retry_network_errors")
	}
	return pol
}

// decidedBy names a policy rule as attempts and dead letters show it:
// "spec clevertap delivery.retry_status", "config
// apps[demo].partners[jampp].delivery.success_codes". The defaults and
// the rules no setting makes are named in deliver (deliver.RuleDefaultRetry
// and the others).
// app "" names the spec's rule.
func decidedBy(app, partner, field string) string {
	if app == "" {
		return "spec " + partner + " delivery." + field
	}
	return "config apps[" + app + "].partners[" + partner + "].delivery." + field
}

func (d *delivery) observe(a deliver.Attempt) {
	d.s.m.attempt(a.App, a.Partner, a.Outcome, a.StatusCode, a.Latency)
	d.s.stats.attempt(a.App, a.Partner, a.Outcome, a.Latency)
	// The sender already redacted the URL (with the redactor of the
	// generation that rendered it, which knows its credentials); doing it
	// again cost as much as the first time on every postback. The error
	// may quote an outcome reason the sender did not redact.
	errText := a.Error
	if errText != "" {
		errText = d.s.redactorNow().String(errText)
	}
	at := Attempt{
		Time: a.Time, PostbackID: a.PostbackID, App: a.App, Partner: a.Partner, Postback: a.Postback,
		EventID: a.EventID, Attempt: a.Attempt, Status: a.Outcome, StatusCode: a.StatusCode,
		LatencyMS: float64(a.Latency.Microseconds()) / 1000, Error: errText,
		ConfigVersion: a.ConfigVersion, Method: a.Method, URL: a.URL, Headers: a.RequestHeaders,
		DecidedBy: a.DecidedBy, ErrorClass: a.ErrorClass, Replay: a.Replay, Instance: d.s.instance,
	}
	// The request and the response share one allocation: nearly every
	// attempt has both.
	parts := &struct {
		req  AttemptRequest
		resp AttemptResponse
	}{req: AttemptRequest{Method: a.Method, URL: a.URL, Headers: a.RequestHeaders, BodyExcerpt: a.RequestBody}}
	at.Request = &parts.req
	if a.StatusCode != 0 {
		parts.resp = AttemptResponse{StatusCode: a.StatusCode, Headers: a.ResponseHeaders, BodyExcerpt: a.ResponseBody}
		at.Response = &parts.resp
	}
	d.s.hist.attempt(at)
	d.activity.record(queue.Key{App: a.App, Partner: a.Partner}, a.Time, a.Outcome, errText, a.StatusCode)
	// Successes are the bulk of the traffic: debug. Failures are what an
	// operator looks for.
	level := slog.LevelDebug
	switch a.Outcome {
	case queue.OutcomeRetry.String(), queue.OutcomeDelay.String():
		level = slog.LevelInfo
	case queue.OutcomeDead.String():
		level = slog.LevelWarn
	}
	// Checked first: building the attributes allocates even when the
	// record is dropped.
	if ctx := context.Background(); d.s.log.Enabled(ctx, level) {
		d.s.log.Log(ctx, level, "postback "+a.Outcome, "postback_id", a.PostbackID, "app", a.App, "partner", a.Partner, "postback", a.Postback,
			"attempt", a.Attempt, "status", a.StatusCode, "latency_ms", at.LatencyMS, "url", at.URL, "err", at.Error)
	}
	if f := d.s.opt.OnAttempt; f != nil {
		f(at)
	}
}
