package gateway

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendAttemptJSON appends a's JSON, byte for byte what encoding/json
// writes with HTML escaping off (TestAttemptJSON holds it to that; URLs
// keep their & readable), without reflection: the history writes one per
// attempt, and json.Marshal cost as much CPU as storing the record.
func appendAttemptJSON(b []byte, a *Attempt) []byte {
	b = append(b, `{"time":`...)
	b = appendJSONTime(b, a.Time)
	b = appendField(b, "postback_id", a.PostbackID)
	b = appendField(b, "app", a.App)
	b = appendField(b, "partner", a.Partner)
	b = appendField(b, "postback", a.Postback)
	b = appendField(b, "event_id", a.EventID)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(a.Attempt), 10)
	b = appendField(b, "status", a.Status)
	if a.StatusCode != 0 {
		b = append(b, `,"status_code":`...)
		b = strconv.AppendInt(b, int64(a.StatusCode), 10)
	}
	b = append(b, `,"latency_ms":`...)
	b = appendJSONFloat(b, a.LatencyMS)
	b = appendOptField(b, "error", a.Error)
	b = appendOptField(b, "config_version", a.ConfigVersion)
	b = appendField(b, "method", a.Method)
	b = appendField(b, "url", a.URL)
	b = appendHeaders(b, "headers", a.Headers)
	if r := a.Request; r != nil {
		b = append(b, `,"request":{"method":`...)
		b = appendJSONString(b, r.Method)
		b = appendField(b, "url", r.URL)
		b = appendHeaders(b, "headers", r.Headers)
		b = appendOptField(b, "body_excerpt", r.BodyExcerpt)
		b = append(b, '}')
	}
	if r := a.Response; r != nil {
		b = append(b, `,"response":{"status_code":`...)
		b = strconv.AppendInt(b, int64(r.StatusCode), 10)
		b = appendHeaders(b, "headers", r.Headers)
		b = appendOptField(b, "body_excerpt", r.BodyExcerpt)
		b = append(b, '}')
	}
	b = appendOptField(b, "decided_by", a.DecidedBy)
	b = appendOptField(b, "error_class", a.ErrorClass)
	if r := a.Replay; r != nil {
		b = append(b, `,"replay":{"of_config_version":`...)
		b = appendJSONString(b, r.OfConfigVersion)
		b = append(b, `,"rerendered":`...)
		b = strconv.AppendBool(b, r.Rerendered)
		b = append(b, '}')
	}
	b = appendOptField(b, "instance", a.Instance)
	return append(b, '}')
}

// attemptJSONSize estimates the length of a's JSON: the fixed part and
// its texts, with room for a little escaping.
func attemptJSONSize(a *Attempt) int {
	n := 400 + len(a.PostbackID) + len(a.App) + len(a.Partner) + len(a.Postback) + len(a.EventID) +
		len(a.Status) + len(a.Error) + len(a.ConfigVersion) + len(a.Method) + 2*len(a.URL) + len(a.DecidedBy) + len(a.ErrorClass) + len(a.Instance)
	for k, v := range a.Headers {
		n += 2 * (len(k) + len(v) + 6) // also in request
	}
	if r := a.Request; r != nil {
		n += len(r.BodyExcerpt)
	}
	if r := a.Response; r != nil {
		n += len(r.BodyExcerpt)
		for k, v := range r.Headers {
			n += len(k) + len(v) + 6
		}
	}
	return n + n/8
}

func appendField(b []byte, key, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendOptField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, key, v)
}

func appendHeaders(b []byte, key string, h map[string]string) []byte {
	if len(h) == 0 {
		return b
	}
	var buf [8]string
	keys := buf[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return append(b, '}')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		// json.Marshal refuses such a time; no attempt has one.
		return append(b, `"0001-01-01T00:00:00Z"`...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendJSONFloat(b []byte, f float64) []byte {
	if abs := max(f, -f); abs == 0 || abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	// Exponent forms, NaN: the rare case json knows best.
	v, err := json.Marshal(f)
	if err != nil {
		return append(b, '0')
	}
	return append(b, v...)
}

// appendJSONString quotes s as encoding/json does with HTML escaping
// off: invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexdig = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexdig[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
