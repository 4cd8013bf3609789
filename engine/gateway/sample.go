package gateway

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/adgate/adgate/engine/internal/config"
)

// sampler keeps, per app, the latest accepted events, redacted, for
// GET /v1/apps/{app}/sample: real traffic to replay through adgate diff
// and to turn into fixtures. It holds at most config.Sample.EventsPerApp
// events per app and takes at most PerSecond of an app's events per
// second, so its memory and cost are bounded whatever the traffic.
//
// What redaction keeps and removes, and why:
//   - every credential of the config (partner credentials, ingest tokens,
//     HMAC secrets, the admin token) and each form a template can turn it
//     into is replaced by [REDACTED], with the redactor logs use: events
//     should carry none, but custom_data is the sender's to fill;
//   - device identifiers (advertising ids, vendor and hardware ids, the
//     developer's user id, the IP address, and the same ids the tracking
//     link carries) are personal data that a sample checked into a
//     repository must not hold, yet the diff needs them present and
//     well-formed to render the parameters that use them: each is replaced
//     by a pseudonym of the same shape (a UUID stays a UUID, an IPv4
//     address an address in 10/8), the same for the same value, from a key
//     made at start and never stored, so a pseudonym cannot be reversed
//     by trying the id space and samples of two runs cannot be joined;
//     the all-zero id of limit-ad-tracking devices is kept as it is;
//   - the rest (event name, timestamps, revenue, country, model, user
//     agent, the click data) is kept: it is what postbacks are made of
//     and identifies nobody alone.
type sampler struct {
	key [32]byte

	mu   sync.Mutex
	apps map[string]*appSample
}

// appSample is one app's ring of redacted events and its rate budget.
type appSample struct {
	events [][]byte // oldest first once full: events[next:] then events[:next]
	next   int
	tokens float64
	last   time.Time
}

func newSampler() (*sampler, error) {
	sp := &sampler{apps: map[string]*appSample{}}
	if _, err := rand.Read(sp.key[:]); err != nil {
		return nil, fmt.Errorf("sample: pseudonym key: %w", err)
	}
	return sp, nil
}

// offer samples one accepted event of app if the app's rate allows it.
func (sp *sampler) offer(cfg config.Sample, app string, raw []byte, now time.Time, red *redactor) {
	if cfg.EventsPerApp <= 0 || !sp.take(cfg, app, now) {
		return
	}
	b, err := sp.redact(raw, red)
	if err != nil {
		// Ingest accepted the event, so it is JSON; nothing to keep if not.
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	a := sp.apps[app]
	if len(a.events) > cfg.EventsPerApp {
		// The size shrank with a reload: keep the latest.
		a.events, a.next = append(a.events[a.next:], a.events[:a.next]...), 0
		a.events = a.events[len(a.events)-cfg.EventsPerApp:]
	}
	if len(a.events) < cfg.EventsPerApp {
		a.events = append(a.events, b)
		return
	}
	a.events[a.next] = b
	a.next = (a.next + 1) % len(a.events)
}

// take spends one of the app's per-second budget (a token bucket holding
// at most one second's worth).
func (sp *sampler) take(cfg config.Sample, app string, now time.Time) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	a := sp.apps[app]
	burst := max(1, cfg.PerSecond)
	if a == nil {
		a = &appSample{tokens: burst, last: now}
		sp.apps[app] = a
	}
	if el := now.Sub(a.last).Seconds(); el > 0 {
		a.tokens = min(burst, a.tokens+el*cfg.PerSecond)
	}
	a.last = now
	if a.tokens < 1 {
		return false
	}
	a.tokens--
	return true
}

// snapshot returns app's sampled events, oldest first.
func (sp *sampler) snapshot(app string) [][]byte {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	a := sp.apps[app]
	if a == nil {
		return nil
	}
	out := make([][]byte, 0, len(a.events))
	out = append(out, a.events[a.next:]...)
	return append(out, a.events[:a.next]...)
}

// deviceIDs are the identifier fields replaced by pseudonyms, by object.
var deviceIDs = map[string][]string{
	"user_data":                  {"aaid", "idfa", "idfv", "android_id", "developer_identity", "ip"},
	"last_attributed_touch_data": {"$aaid", "$idfa", "$idfv", "$android_id"},
}

// redact returns the event as one line of JSON without its credentials
// and device identifiers (see sampler).
func (sp *sampler) redact(raw []byte, red *redactor) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers as they were written
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, err
	}
	for obj, fields := range deviceIDs {
		m, ok := ev[obj].(map[string]any)
		if !ok {
			continue
		}
		for _, f := range fields {
			if s, ok := m[f].(string); ok {
				m[f] = sp.pseudonym(f, s)
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(redactValue(ev, red)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// redactValue replaces credentials in every string, keys included.
func redactValue(v any, red *redactor) any {
	if red == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return red.String(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[red.String(k)] = redactValue(e, red)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = redactValue(e, red)
		}
		return x
	}
	return v
}

// pseudonym maps a device identifier to a stand-in of the same shape: an
// IP address to one of the same family, anything else character by
// character, hex digits and letters to hex digits in the same case,
// other characters kept (a UUID's dashes). "" and all-zero ids (limit ad
// tracking) are kept: they identify nobody, and templates test for them.
func (sp *sampler) pseudonym(field, v string) string {
	if v == "" || isZeroID(v) {
		return v
	}
	// The link's $idfa is the device's idfa: one pseudonym for both.
	field = strings.TrimPrefix(field, "$")
	mac := hmac.New(sha256.New, sp.key[:])
	mac.Write([]byte(field))
	mac.Write([]byte{0})
	mac.Write([]byte(v))
	sum := mac.Sum(nil)
	if field == "ip" {
		if a, err := netip.ParseAddr(v); err == nil {
			if a.Is4() {
				return netip.AddrFrom4([4]byte{10, sum[0], sum[1], sum[2]}).String()
			}
			var b [16]byte
			b[0] = 0xfd // a unique local address
			copy(b[1:], sum[:15])
			return netip.AddrFrom16(b).String()
		}
	}
	digits := hex.EncodeToString(sum)
	// An id is written in one case (IDFAs upper, AAIDs lower).
	upper := strings.ToLower(v) != v && strings.ToUpper(v) == v
	out := []byte(v)
	n := 0
	for i, c := range out {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			continue
		}
		if n == len(digits) {
			// longer than one digest: extend it from the digest itself
			var ctr [8]byte
			binary.BigEndian.PutUint64(ctr[:], uint64(i))
			mac.Write(ctr[:])
			digits += hex.EncodeToString(mac.Sum(nil))
		}
		d := digits[n]
		n++
		if upper && d >= 'a' {
			d -= 'a' - 'A'
		}
		out[i] = d
	}
	return string(out)
}

func isZeroID(v string) bool {
	for _, c := range v {
		if c != '0' && c != '-' {
			return false
		}
	}
	return true
}

// handleSample is GET /v1/apps/{app}/sample: the app's sampled events as
// NDJSON, oldest first.
func (s *Server) handleSample(w http.ResponseWriter, r *http.Request) {
	cfg := s.rt.Load().cfg
	app := r.PathValue("app")
	if cfg.App(app) == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no app %q in the config", app))
		return
	}
	if cfg.Sample.EventsPerApp <= 0 {
		writeError(w, http.StatusConflict, "sampling is off: set sample.events_per_app in the config")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	for _, ev := range s.sample.snapshot(app) {
		_, _ = w.Write(ev)
		_, _ = w.Write([]byte{'\n'})
	}
}
