package specdiff

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/adgate/adgate/engine/render"
)

// diffRequests lists what differs between two requests of one postback:
// the method, the URL without its query, each query parameter (values
// percent-decoded, as the partner reads them), each header, and the body
// per JSON path or form key when both bodies are JSON or forms.
func diffRequests(b, h *render.Request) []FieldChange {
	var out []FieldChange
	if b.Method != h.Method {
		out = append(out, change(FieldMethod, "", &b.Method, &h.Method))
	}
	out = append(out, diffURL(b.URL, h.URL)...)
	out = append(out, diffHeaders(b.Headers, h.Headers)...)
	if b.Body != h.Body {
		out = append(out, diffBody(b, h)...)
	}
	return out
}

func change(field, name string, old, new *string) FieldChange {
	return FieldChange{Field: field, Name: name, Old: old, New: new}
}

func ptr(s string) *string { return &s }

func diffURL(b, h string) []FieldChange {
	if b == h {
		return nil
	}
	bu, berr := url.Parse(b)
	hu, herr := url.Parse(h)
	if berr != nil || herr != nil {
		return []FieldChange{change(FieldURL, "", &b, &h)}
	}
	var out []FieldChange
	bq, hq := bu.RawQuery, hu.RawQuery
	bu.RawQuery, hu.RawQuery = "", ""
	bu.ForceQuery, hu.ForceQuery = false, false
	if bs, hs := bu.String(), hu.String(); bs != hs {
		out = append(out, change(FieldURL, "", &bs, &hs))
	}
	q := diffPairs(FieldQuery, bq, hq)
	if len(q) == 0 && bq != hq {
		// Same keys and values, written differently: the order or the
		// encoding changed, which some partners notice.
		q = []FieldChange{change(FieldQuery, "", &bq, &hq)}
	}
	return append(out, q...)
}

// pairs splits a query or form body into its keys in first-seen order
// and their decoded values.
func pairs(raw string) (keys []string, vals map[string][]string) {
	vals = map[string][]string{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = append(vals[k], v)
	}
	return keys, vals
}

// diffPairs compares two queries or form bodies key by key; a key given
// several times compares as its list of values.
func diffPairs(field, b, h string) []FieldChange {
	bk, bv := pairs(b)
	hk, hv := pairs(h)
	var out []FieldChange
	for _, k := range hk {
		old, had := bv[k]
		switch {
		case !had:
			out = append(out, change(field, k, nil, ptr(joinValues(hv[k]))))
		case !slices.Equal(old, hv[k]):
			out = append(out, change(field, k, ptr(joinValues(old)), ptr(joinValues(hv[k]))))
		}
	}
	for _, k := range bk {
		if _, ok := hv[k]; !ok {
			out = append(out, change(field, k, ptr(joinValues(bv[k])), nil))
		}
	}
	return renames(out)
}

// renames folds a removed key and an added key with the same value into
// one rename, when no other added or removed key has that value: a
// reviewer reads "cid renamed to click_id", not two unrelated changes.
func renames(cs []FieldChange) []FieldChange {
	count := func(value string, added bool) int {
		n := 0
		for _, c := range cs {
			if added && c.Old == nil && *c.New == value || !added && c.New == nil && *c.Old == value {
				n++
			}
		}
		return n
	}
	var out []FieldChange
	gone := map[int]bool{}
	for i, c := range cs {
		if c.Old != nil || count(*c.New, true) != 1 || count(*c.New, false) != 1 {
			continue
		}
		for j, r := range cs {
			if r.New == nil && *r.Old == *c.New {
				cs[i].From, cs[i].Old = r.Name, r.Old
				gone[j] = true
			}
		}
	}
	for i, c := range cs {
		if !gone[i] {
			out = append(out, c)
		}
	}
	return out
}

func joinValues(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func diffHeaders(b, h map[string]string) []FieldChange {
	canon := func(m map[string]string) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[strings.ToLower(k)] = v
		}
		return out
	}
	return diffMaps(FieldHeader, canon(b), canon(h))
}

func diffBody(b, h *render.Request) []FieldChange {
	whole := []FieldChange{change(FieldBody, "", &b.Body, &h.Body)}
	if bj, ok := flattenJSON(b.Body); ok {
		if hj, ok := flattenJSON(h.Body); ok {
			if out := diffMaps(FieldBody, bj, hj); len(out) > 0 {
				return out
			}
			return whole
		}
	}
	if isForm(b.Headers) && isForm(h.Headers) {
		if out := diffPairs(FieldBody, b.Body, h.Body); len(out) > 0 {
			return out
		}
	}
	return whole
}

func isForm(headers map[string]string) bool {
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Type") && strings.HasPrefix(strings.ToLower(v), "application/x-www-form-urlencoded") {
			return true
		}
	}
	return false
}

// flattenJSON maps each leaf of a JSON document to its JSON text by path
// ($.a.b, $.list[0]); false when s is not one JSON value.
func flattenJSON(s string) (map[string]string, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				out[path] = "{}"
			}
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			if len(x) == 0 {
				out[path] = "[]"
			}
			for i, e := range x {
				walk(path+"["+strconv.Itoa(i)+"]", e)
			}
		default:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(x) // a decoded scalar always encodes
			out[path] = strings.TrimSuffix(buf.String(), "\n")
		}
	}
	walk("$", v)
	return out, true
}

// diffMaps compares two flat maps key by key, in key order.
func diffMaps(field string, b, h map[string]string) []FieldChange {
	var out []FieldChange
	for _, k := range slices.Sorted(maps.Keys(h)) {
		old, had := b[k]
		switch {
		case !had:
			out = append(out, change(field, k, nil, ptr(h[k])))
		case old != h[k]:
			out = append(out, change(field, k, ptr(old), ptr(h[k])))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := h[k]; !ok {
			out = append(out, change(field, k, ptr(b[k]), nil))
		}
	}
	return out
}
