package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/engine/template"
)

// apiError is the JSON body of every 4xx/5xx answer.
type apiError struct {
	Error string `json:"error"`
	// Event and Line locate the offending event of a batch (0-based index,
	// 1-based line of its first byte).
	Event  *int               `json:"event,omitempty"`
	Line   int                `json:"line,omitempty"`
	Fields []event.FieldError `json:"fields,omitempty"`
	// MoreFields counts the violations left out of Fields, which lists at
	// most limits.max_error_fields of them.
	MoreFields int `json:"more_fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

// BatchResponse answers an NDJSON batch.
type BatchResponse struct {
	Accepted int    `json:"accepted"`
	Events   []Plan `json:"events"`
}

// enqueueTimeout bounds how long an ingest request waits for the queue to
// acknowledge its events before answering 503.
const enqueueTimeout = 5 * time.Second

var errQueueDisconnected = errors.New("queue disconnected")

// handleIngest is POST /v1/apps/{app}/events.
//
// Order matters for availability: a bearer token is checked before the
// request takes an ingest slot or any of its body is read, so
// unauthenticated clients cannot hold the slots real senders need. A
// signed request has to be read before its signature can be checked; it
// does that under a separate, smaller budget (signedSlots), so slow or
// forged signed bodies can only crowd out other signed requests.
//
// An unknown app is answered exactly as a failed authentication of a
// real app (same status, same body, comparable work), so app ids cannot
// be discovered without credentials.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := s.rt.Load()
	appID := r.PathValue("app")
	app := rt.cfg.App(appID)
	// Metric labels only ever carry configured app ids, so a sender
	// cannot grow the series by inventing apps.
	label := appID
	if app == nil {
		app, label = &s.decoy, ""
	}
	// Until the body is read, any answer closes the connection: otherwise
	// net/http would first read the unread body, up to 256 KiB, to keep
	// the connection alive, and a client that never sends it would get
	// its 401/403/429 only at the read timeout, holding a connection and
	// a goroutine meanwhile.
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	if s.draining.Load() {
		s.m.eventsRejected.WithLabelValues(label, "unavailable").Inc()
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "shutting down; retry against another instance or later")
		return
	}
	if limit := rt.cfg.Limits.MaxQueuePending; limit > 0 && s.pending.Load() > limit {
		s.m.eventsRejected.WithLabelValues(label, "backlog").Inc()
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the delivery backlog is over %d postbacks; retry later", limit))
		return
	}

	bearer := hasBearer(r)
	sem, busy := s.sem, "too many concurrent ingest requests"
	switch {
	case bearer:
		if err := checkBearer(r, tokensOrDecoy(app.Ingest.BearerTokens, s.decoy.Ingest.BearerTokens)); err != nil {
			s.authFailed(w, label, err)
			return
		}
	case r.Header.Get(HeaderSignature) == "":
		s.authFailed(w, label, errNoCredentials)
		return
	default:
		sem, busy = s.signedSem, "too many concurrent signed ingest requests"
	}
	if !s.takeSlot(w, sem, label, busy) {
		return
	}
	defer func() { <-sem }()
	body, ok := s.readBody(w, r, label, rt.cfg.Limits.MaxBodyBytes)
	if !ok {
		return
	}
	w.Header().Del("Connection")
	if !bearer {
		in := app.Ingest
		if in.HMACSecret == "" {
			// Answer as a wrong signature would, so the answer does not
			// tell an app without signing from an unknown app; the
			// operator finds the reason in the debug log.
			s.log.Debug("signed ingest request for an app without hmac_secret", "app", label)
			in.HMACSecret = s.decoy.Ingest.HMACSecret
		}
		if err := checkSignature(r, body, in, s.now()); err != nil {
			s.authFailed(w, label, err)
			return
		}
		// Authenticated: processing shares the ingest slots with bearer
		// traffic.
		if !s.takeSlot(w, s.sem, label, "too many concurrent ingest requests") {
			return
		}
		defer func() { <-s.sem }()
	}
	if label == "" {
		// Only reachable with the decoy's random credentials, which are
		// never shown; never plan postbacks for the decoy.
		s.authFailed(w, label, errors.New("bearer token not accepted for this app"))
		return
	}
	s.m.inflightRequests.Inc()
	defer s.m.inflightRequests.Dec()

	docs, batch, aerr := splitEvents(body, r.Header.Get("Content-Type"), rt.cfg.Limits.MaxNumberLength)
	if aerr != nil {
		s.m.eventsRejected.WithLabelValues(appID, "invalid").Inc()
		writeJSON(w, http.StatusBadRequest, aerr)
		return
	}
	if len(docs) > rt.cfg.Limits.MaxBatchEvents {
		s.m.eventsRejected.WithLabelValues(appID, "too_large").Inc()
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("batch has %d events; at most %d are accepted per request", len(docs), rt.cfg.Limits.MaxBatchEvents))
		return
	}
	// A batch is all or nothing: every event is checked before any is
	// enqueued, so a sender can retry the whole request after a 400 fix.
	plans := make([]Plan, 0, len(docs))
	var evs []queue.Event
	now := s.now()
	for i, d := range docs {
		ev, aerr := s.parseDoc(d, rt.cfg.Limits.MaxErrorFields)
		if aerr != nil {
			if batch {
				aerr.Event, aerr.Line = &i, d.line
			}
			s.m.eventsRejected.WithLabelValues(appID, "invalid").Add(float64(len(docs)))
			writeJSON(w, http.StatusBadRequest, aerr)
			return
		}
		id := ev.ID()
		if id == "" {
			// Without an id, the content names the event, so a sender
			// retrying the same body gets the same postback ids.
			sum := sha256.Sum256(d.raw)
			id = "sha256-" + hex.EncodeToString(sum[:12])
		}
		pl := planEvent(ev, id, app, rt.partners, now)
		if len(pl.Postbacks) > 0 {
			// Stored once; its app's render worker renders each planned
			// partner's postbacks from it, decoded here once. A batch's
			// events share its body, which a cached one would keep.
			evs = append(evs, queue.Event{App: app.ID, ID: id, Received: now, Raw: d.raw, ConfigVersion: rt.version, Partners: pl.partners()})
			if !batch {
				s.dlv.events.put(app.ID, id, d.raw, ev)
			}
		}
		plans = append(plans, pl)
	}
	if len(evs) > 0 {
		// A sender must hear back promptly: while the queue is
		// disconnected (an external NATS restarting) publishes would wait
		// for acks that cannot come, so refuse at once, and bound the wait
		// for acks otherwise. A 503'd event may still have been stored;
		// its (app, event id) de-duplicates the retry, and its postback ids
		// stay the same beyond that window.
		err := errQueueDisconnected
		if s.q.Connected() {
			ctx, cancel := context.WithTimeout(r.Context(), enqueueTimeout)
			err = s.q.Publish(ctx, evs...)
			cancel()
		}
		if err != nil {
			if r.Context().Err() == nil {
				// Not the sender giving up: the queue refused or did not
				// answer, so /readyz says so now rather than at the next
				// probe.
				s.setWritable(err)
			}
			// setWritable logged the stop once; a line per refused
			// request would bury it under thousands while a stream
			// elects a leader.
			s.log.Debug("storing events failed", "app", appID, "events", len(evs), "err", err)
			s.m.eventsRejected.WithLabelValues(appID, "unavailable").Add(float64(len(docs)))
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "queue unavailable; nothing was accepted, retry later")
			return
		}
	}
	s.m.eventsAccepted.WithLabelValues(appID).Add(float64(len(docs)))
	s.stats.eventsIn(appID, len(docs))
	for _, d := range docs {
		s.sample.offer(rt.cfg.Sample, appID, d.raw, now, rt.red)
	}
	for _, pl := range plans {
		s.hist.plan(&planRecord{Time: now, App: appID, EventID: pl.EventID, Event: pl.Name, ConfigVersion: rt.version,
			Instance: s.instance, Postbacks: pl.Postbacks, Skipped: pl.Skipped})
		for _, pb := range pl.Postbacks {
			s.m.planned.WithLabelValues(appID, pb.Partner).Inc()
		}
		for _, sk := range pl.Skipped {
			s.recordSkipped(appID, sk.Partner, sk.Class)
		}
	}
	s.m.ingestLatency.Observe(time.Since(start).Seconds())
	writeAccepted(w, plans, batch)
}

// writeAccepted answers 202 with the plans: a BatchResponse for a batch,
// else the one Plan. It writes what writeJSON would, byte for byte
// (TestWriteAccepted), by appending, because encoding/json's reflection
// was a visible part of a request's cost.
func writeAccepted(w http.ResponseWriter, plans []Plan, batch bool) {
	b := make([]byte, 0, 256*len(plans))
	if batch {
		b = append(b, `{"accepted":`...)
		b = strconv.AppendInt(b, int64(len(plans)), 10)
		b = append(b, `,"events":[`...)
		for i := range plans {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPlan(b, &plans[i])
		}
		b = append(b, "]}"...)
	} else {
		b = appendPlan(b, &plans[0])
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(b)
}

// appendPlan appends pl as encoding/json encodes a Plan (strings quoted
// by appendJSONString, the history codec's).
func appendPlan(b []byte, pl *Plan) []byte {
	b = append(b, `{"event_id":`...)
	b = appendJSONString(b, pl.EventID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, pl.Name)
	b = append(b, `,"postbacks":`...)
	if pl.Postbacks == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, pb := range pl.Postbacks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendJSONString(b, pb.ID)
			b = append(b, `,"partner":`...)
			b = appendJSONString(b, pb.Partner)
			b = append(b, `,"postback":`...)
			b = appendJSONString(b, pb.Postback)
			if pb.Name != "" {
				b = append(b, `,"name":`...)
				b = appendJSONString(b, pb.Name)
			}
			b = append(b, `,"method":`...)
			b = appendJSONString(b, pb.Method)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(pl.Skipped) > 0 {
		b = append(b, `,"skipped":[`...)
		for i, sk := range pl.Skipped {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"partner":`...)
			b = appendJSONString(b, sk.Partner)
			if sk.Postback != "" {
				b = append(b, `,"postback":`...)
				b = appendJSONString(b, sk.Postback)
			}
			if sk.Name != "" {
				b = append(b, `,"name":`...)
				b = appendJSONString(b, sk.Name)
			}
			b = append(b, `,"class":`...)
			b = appendJSONString(b, sk.Class)
			b = append(b, `,"reason":`...)
			b = appendJSONString(b, sk.Reason)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// takeSlot takes a slot of sem without waiting, or answers 429.
func (s *Server) takeSlot(w http.ResponseWriter, sem chan struct{}, label, msg string) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
		s.m.eventsRejected.WithLabelValues(label, "saturated").Inc()
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, msg)
		return false
	}
}

// readBody reads at most limit bytes of the body, answering 413 beyond it
// and 400 when the read fails.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, label string, limit int64) ([]byte, bool) {
	body, err := readLimited(w, r, limit)
	var he *httpError
	if errors.As(err, &he) {
		reason, msg := "invalid", he.msg
		if he.code == http.StatusRequestEntityTooLarge {
			reason, msg = "too_large", msg+"; split it into smaller batches"
		}
		s.m.eventsRejected.WithLabelValues(label, reason).Inc()
		writeError(w, he.code, msg)
		return nil, false
	}
	return body, true
}

// tokensOrDecoy returns tokens, or the decoy token when an app accepts no
// bearer token, so every check compares at least once.
func tokensOrDecoy(tokens, decoy []string) []string {
	if len(tokens) == 0 {
		return decoy
	}
	return tokens
}

func (s *Server) authFailed(w http.ResponseWriter, app string, err error) {
	s.m.eventsRejected.WithLabelValues(app, "auth").Inc()
	if errors.Is(err, errNoCredentials) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="adgate"`)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	writeError(w, http.StatusForbidden, err.Error())
}

// parseEvent decodes one event and validates it against the schema in
// the same pass. The answer lists at most maxFields violations, each cut
// to maxFieldText bytes, so an event full of errors (or of huge keys named
// in them) cannot make the error body many times larger than the request.
func (s *Server) parseEvent(raw []byte, maxFields int) (*event.Event, *apiError) {
	ev, err := s.valid.Parse(raw)
	return ev, eventError(err, maxFields)
}

// parseDoc is parseEvent for one event of a request, reusing its value
// when splitEvents already decoded it.
func (s *Server) parseDoc(d doc, maxFields int) (*event.Event, *apiError) {
	if !d.decoded {
		return s.parseEvent(d.raw, maxFields)
	}
	ev, err := s.valid.ParseValue(d.val)
	return ev, eventError(err, maxFields)
}

// eventError words a refused event for the answer, or is nil for nil.
func eventError(err error, maxFields int) *apiError {
	if err == nil {
		return nil
	}
	var ve *event.ValidationError
	if errors.As(err, &ve) {
		fields := ve.Fields[:min(len(ve.Fields), max(maxFields, 1))]
		ae := &apiError{Fields: make([]event.FieldError, len(fields)), MoreFields: len(ve.Fields) - len(fields)}
		msgs := make([]string, len(fields))
		for i, f := range fields {
			f = event.FieldError{Field: clip(f.Field, maxFieldText), Message: clip(f.Message, maxFieldText)}
			ae.Fields[i], msgs[i] = f, f.String()
		}
		ae.Error = "invalid event: " + strings.Join(msgs, "; ")
		if ae.MoreFields > 0 {
			ae.Error += fmt.Sprintf(" (and %d more)", ae.MoreFields)
		}
		return ae
	}
	return &apiError{Error: "invalid event: " + clip(err.Error(), maxFieldText)}
}

// numberError refuses an event holding a number longer than maxNumber
// characters, naming its field.
func numberError(raw []byte, maxNumber int) *apiError {
	field, n, long := event.LongNumber(raw, maxNumber)
	if !long {
		return nil
	}
	f := event.FieldError{Field: clip(field, maxFieldText), Message: fmt.Sprintf("number has %d characters; at most %d are accepted", n, maxNumber)}
	return &apiError{
		Error:  "invalid event: " + f.String() + " (limits.max_number_length); send an identifier this long as a string",
		Fields: []event.FieldError{f},
	}
}

// maxFieldText bounds one field path or message in an error body.
const maxFieldText = 256

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

type doc struct {
	raw  []byte
	line int
	// val is raw decoded, when decoded says splitEvents decoded it.
	val     template.Value
	decoded bool
}

// splitEvents cuts a body into events: one JSON object, or NDJSON (one
// object per line; also recognised without its media type when the body
// holds several values). batch reports the NDJSON form. An event with a
// number longer than maxNumber characters is refused here, before any
// event reaches the schema check or the exact-number parse.
//
// A body of well-formed events is decoded once, here, and each event's
// value is kept for the schema check (decodeEvents). Any other body is
// left to splitEventsSlow, which words the refusal exactly as it always
// has; it also takes the bodies that only the template decoder refuses
// (too deep, invalid UTF-8, a number out of range), whose events then
// reach parseEvent undecoded and are refused there as before.
func splitEvents(body []byte, contentType string, maxNumber int) ([]doc, bool, *apiError) {
	batch := isNDJSON(contentType)
	if docs, ok := decodeEvents(body, maxNumber); ok {
		return docs, batch || len(docs) > 1, nil
	}
	return splitEventsSlow(body, batch, maxNumber)
}

// isNDJSON reports whether a Content-Type names NDJSON; the usual
// application/json is answered without parsing it.
func isNDJSON(contentType string) bool {
	if contentType == "application/json" {
		return false
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl"
}

// errNotEvent stops decodeEvents at a value that is not an object.
var errNotEvent = errors.New("not a JSON object")

// decodeEvents decodes a body whose every value is an object, with no
// number over maxNumber characters, in one pass. ok is false for any
// other body, and for an empty one. template.ParseJSONSeq accepts only
// what encoding/json accepts (FuzzParseJSON holds ParseJSON to that), so
// a body it accepts is one splitEventsSlow would also accept, cut at the
// same bytes.
func decodeEvents(body []byte, maxNumber int) (docs []doc, ok bool) {
	line, counted := 1, 0
	err := template.ParseJSONSeq(body, maxNumber, func(v template.Value, start, end int) error {
		if v.Kind() != template.KindHash {
			return errNotEvent
		}
		line += bytes.Count(body[counted:start], []byte("\n"))
		counted = start
		// The body is never reused, so events can share its memory.
		docs = append(docs, doc{raw: body[start:end:end], line: line, val: v, decoded: true})
		return nil
	})
	return docs, err == nil && len(docs) > 0
}

// splitEventsSlow is splitEvents with encoding/json, whose messages the
// API documents for malformed bodies.
func splitEventsSlow(body []byte, batch bool, maxNumber int) ([]doc, bool, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var docs []doc
	for {
		// Skip whitespace first so the recorded offset is the value's start.
		off := int(dec.InputOffset())
		for off < len(body) && isSpace(body[off]) {
			off++
		}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		line := 1 + bytes.Count(body[:off], []byte("\n"))
		idx := len(docs)
		if err != nil {
			msg := "malformed JSON"
			var se *json.SyntaxError
			if errors.As(err, &se) {
				l := 1 + bytes.Count(body[:min(int(se.Offset), len(body))], []byte("\n"))
				msg = fmt.Sprintf("malformed JSON at line %d: %v", l, se)
			} else {
				msg += ": " + err.Error()
			}
			return nil, batch, &apiError{Error: msg, Event: &idx, Line: line}
		}
		if len(raw) == 0 || raw[0] != '{' {
			return nil, batch, &apiError{Error: "each event must be a JSON object", Event: &idx, Line: line}
		}
		if aerr := numberError(raw, maxNumber); aerr != nil {
			aerr.Event, aerr.Line = &idx, line
			return nil, batch, aerr
		}
		docs = append(docs, doc{raw: raw, line: line})
	}
	if len(docs) == 0 {
		return nil, batch, &apiError{Error: "empty body: send one JSON event or NDJSON lines"}
	}
	return docs, batch || len(docs) > 1, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
