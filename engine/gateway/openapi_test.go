package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/adgate/adgate/engine/internal/queue"
	"github.com/adgate/adgate/schemas"
)

// apiDoc is the parsed OpenAPI document, with the compiled response
// schemas cached: every response of the package's tests is checked
// against it (see checkedHandler).
type apiDoc struct {
	raw        map[string]any
	paths      map[string]map[string]any // path template -> method -> operation
	components map[string]any

	mu       sync.Mutex
	compiled map[string]*gojsonschema.Schema
}

var (
	apiDocOnce sync.Once
	apiDocVal  *apiDoc
	apiDocErr  error
)

// loadAPIDoc parses schemas/openapi.json once for the package's tests.
func loadAPIDoc(t testing.TB) *apiDoc {
	t.Helper()
	apiDocOnce.Do(func() {
		b, err := schemas.FS.ReadFile(OpenAPIPath)
		if err != nil {
			apiDocErr = err
			return
		}
		apiDocVal, apiDocErr = parseAPIDoc(b)
	})
	if apiDocErr != nil {
		t.Fatalf("schemas/%s: %v", OpenAPIPath, apiDocErr)
	}
	return apiDocVal
}

func parseAPIDoc(b []byte) (*apiDoc, error) {
	d := &apiDoc{paths: map[string]map[string]any{}, compiled: map[string]*gojsonschema.Schema{}}
	if err := json.Unmarshal(b, &d.raw); err != nil {
		return nil, err
	}
	d.components, _ = d.raw["components"].(map[string]any)
	paths, _ := d.raw["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		d.paths[p] = map[string]any{}
		for m, op := range ops {
			d.paths[p][strings.ToUpper(m)] = op
		}
	}
	return d, nil
}

// operation returns the path template and operation serving method on
// path. A HEAD is served as the GET. found is false when no template
// matches the path; op is nil when the path exists without the method.
func (d *apiDoc) operation(method, path string) (tmpl string, op map[string]any, found bool) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for p, ops := range d.paths {
		if !templateMatches(p, path) {
			continue
		}
		o, _ := ops[method].(map[string]any)
		return p, o, true
	}
	return "", nil, false
}

// templateMatches matches a path against a template whose {params} match
// one non-empty segment each.
func templateMatches(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// resolve follows a local $ref ("#/components/...") to what it names.
func (d *apiDoc) resolve(v any) (any, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, nil
		}
		target, err := d.pointer(ref)
		if err != nil {
			return nil, err
		}
		v = target
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// pointer evaluates a local JSON pointer reference.
func (d *apiDoc) pointer(ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	var cur any = d.raw
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return cur, nil
}

// schemaFor compiles a response schema, keyed by where it is. The
// document's components ride along so its $refs resolve; the schemas keep
// to the subset of JSON Schema 2020-12 that draft-07 reads the same.
func (d *apiDoc) schemaFor(key string, schema any) (*gojsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.compiled[key]; ok {
		return s, nil
	}
	root := map[string]any{"components": d.components, "allOf": []any{schema}}
	s, err := gojsonschema.NewSchema(gojsonschema.NewGoLoader(root))
	if err != nil {
		return nil, fmt.Errorf("compiling the schema of %s: %w", key, err)
	}
	d.compiled[key] = s
	return s, nil
}

// checkResponse says how a response breaks the document, or nil: its
// status must be described for the operation (404 and 405 for paths or
// methods the document does not have), its Content-Type among the
// described ones, and its body valid against the described schema.
func (d *apiDoc) checkResponse(method, path string, code int, header http.Header, body []byte) error {
	tmpl, op, found := d.operation(method, path)
	var resp any
	key := ""
	switch {
	case !found:
		if code != http.StatusNotFound {
			return fmt.Errorf("the document has no path %s, yet the answer is %d, not 404", path, code)
		}
		resp, key = map[string]any{"$ref": "#/components/responses/NotFound"}, "NotFound"
	case op == nil:
		if code != http.StatusMethodNotAllowed {
			return fmt.Errorf("the document has no %s %s, yet the answer is %d, not 405", method, tmpl, code)
		}
		if header.Get("Allow") == "" {
			return fmt.Errorf("405 without an Allow header")
		}
		resp, key = map[string]any{"$ref": "#/components/responses/MethodNotAllowed"}, "MethodNotAllowed"
	default:
		responses, _ := op["responses"].(map[string]any)
		var ok bool
		if resp, ok = responses[fmt.Sprint(code)]; !ok {
			return fmt.Errorf("status %d is not described for %s %s (described: %s)", code, method, tmpl, strings.Join(slices.Sorted(maps.Keys(responses)), ", "))
		}
		key = fmt.Sprintf("%s %s %d", method, tmpl, code)
	}
	r, err := d.resolve(resp)
	if err != nil {
		return err
	}
	content, _ := r.(map[string]any)["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("no body is described, got %q", clip(string(body), 200))
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("Content-Type %q: %v", header.Get("Content-Type"), err)
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		return fmt.Errorf("Content-Type %s is not described (described: %s)", mt, strings.Join(slices.Sorted(maps.Keys(content)), ", "))
	}
	if method == http.MethodHead {
		return nil
	}
	schema, ok := media["schema"]
	if !ok {
		return nil
	}
	sch, err := d.schemaFor(key+" "+mt, schema)
	if err != nil {
		return err
	}
	var docs [][]byte
	switch mt {
	case "application/json":
		docs = [][]byte{body}
	case "application/x-ndjson":
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				docs = append(docs, slices.Clone(sc.Bytes()))
			}
		}
	default:
		// Text (the metrics exposition) is described as a string.
		return nil
	}
	for _, doc := range docs {
		res, err := sch.Validate(gojsonschema.NewBytesLoader(doc))
		if err != nil {
			return fmt.Errorf("body is not JSON: %v: %q", err, clip(string(doc), 200))
		}
		if !res.Valid() {
			var msgs []string
			for _, e := range res.Errors() {
				msgs = append(msgs, e.String())
			}
			return fmt.Errorf("body does not match the schema: %s: %s", strings.Join(msgs, "; "), clip(string(doc), 500))
		}
	}
	return nil
}

// recordingWriter keeps a copy of what a handler answers.
type recordingWriter struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// checkedHandler wraps the gateway's handler in the test harness: a
// response that breaks the OpenAPI document fails the test that caused it.
func checkedHandler(t testing.TB, d *apiDoc) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := &recordingWriter{ResponseWriter: w}
			h.ServeHTTP(rw, r)
			if rw.code == 0 {
				rw.code = http.StatusOK
			}
			if err := d.checkResponse(r.Method, r.URL.Path, rw.code, w.Header(), rw.body.Bytes()); err != nil {
				t.Errorf("response breaks schemas/openapi.json: %s %s -> %d: %v", r.Method, r.URL.RequestURI(), rw.code, err)
			}
		})
	}
}

// TestOpenAPIDocumentIsWellFormed checks the structure OpenAPI 3.1 asks
// of the document, so tools reading it do not choke.
func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	d := loadAPIDoc(t)
	if v, _ := d.raw["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi is %q, want 3.1.x", v)
	}
	info, _ := d.raw["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info needs title and version: %v", info)
	}
	if len(d.paths) == 0 {
		t.Fatal("no paths")
	}
	ids := map[string]string{}
	schemes, _ := d.components["securitySchemes"].(map[string]any)
	for p, ops := range d.paths {
		if !strings.HasPrefix(p, "/") {
			t.Errorf("path %q does not start with /", p)
		}
		for m, o := range ops {
			op, _ := o.(map[string]any)
			where := m + " " + p
			if !slices.Contains([]string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}, m) {
				t.Errorf("%s: not an HTTP method", where)
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", where)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s: operationId %q also names %s", where, id, prev)
			}
			ids[id] = where
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s: no summary", where)
			}
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s: no responses", where)
			}
			for code := range responses {
				if len(code) != 3 || code[0] < '1' || code[0] > '5' {
					t.Errorf("%s: response key %q is not a status code", where, code)
				}
			}
			var inPath []string
			params, _ := op["parameters"].([]any)
			seen := map[string]bool{}
			for _, pv := range params {
				pm, _ := d.resolve(pv)
				param, _ := pm.(map[string]any)
				name, _ := param["name"].(string)
				in, _ := param["in"].(string)
				if !slices.Contains([]string{"query", "header", "path", "cookie"}, in) || name == "" {
					t.Errorf("%s: parameter %v needs a name and in", where, param)
				}
				if seen[in+" "+name] {
					t.Errorf("%s: parameter %s %s twice", where, in, name)
				}
				seen[in+" "+name] = true
				if in == "path" {
					inPath = append(inPath, name)
					if param["required"] != true {
						t.Errorf("%s: path parameter %s must be required", where, name)
					}
				}
			}
			sort.Strings(inPath)
			if want := pathParams(p); !slices.Equal(inPath, want) {
				t.Errorf("%s: path parameters declared %v, template has %v", where, inPath, want)
			}
			sec, ok := op["security"].([]any)
			if !ok {
				t.Errorf("%s: no security (an empty list for a public endpoint)", where)
			}
			for _, req := range sec {
				for name := range req.(map[string]any) {
					if schemes[name] == nil {
						t.Errorf("%s: security scheme %q is not in components.securitySchemes", where, name)
					}
				}
			}
		}
	}
	var refs int
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				refs++
				if _, err := d.pointer(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, c := range v {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range v {
				walk(c, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(d.raw, "#")
	if refs == 0 {
		t.Error("no $ref found: has the document's structure changed?")
	}
	for name, sch := range d.components["schemas"].(map[string]any) {
		if _, err := d.schemaFor("#/components/schemas/"+name, sch); err != nil {
			t.Error(err)
		}
	}
}

// pathParams lists a template's {params}, sorted.
func pathParams(tmpl string) []string {
	var out []string
	for _, seg := range strings.Split(tmpl, "/") {
		if p, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(p, "}"))
		}
	}
	sort.Strings(out)
	return out
}

// securityFor is the security requirement each auth class documents.
var securityFor = map[authClass][]string{
	authPublic:    nil,
	authIngest:    {"ingestBearer", "ingestSignature"},
	authAdmin:     {"adminBearer"},
	authAdminRead: {"adminBearer"},
	authMetrics:   {"metricsBearer"},
	authConsole:   nil,
}

// TestRoutesMatchOpenAPI walks the route table: every route is described
// (method, path, auth class, query parameters) and every described
// operation is a route.
func TestRoutesMatchOpenAPI(t *testing.T) {
	d := loadAPIDoc(t)
	served := map[string]bool{}
	for _, rt := range routeTable() {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			t.Errorf("pattern %q has no method", rt.Pattern)
			continue
		}
		served[method+" "+path] = true
		op, _ := d.paths[path][method].(map[string]any)
		if op == nil {
			t.Errorf("%s is served but not described in schemas/openapi.json", rt.Pattern)
			continue
		}
		if got, _ := op["x-adgate-auth"].(string); got != string(rt.Auth) {
			t.Errorf("%s: x-adgate-auth %q, the route table says %q", rt.Pattern, got, rt.Auth)
		}
		var schemes []string
		sec, _ := op["security"].([]any)
		for _, req := range sec {
			for name := range req.(map[string]any) {
				schemes = append(schemes, name)
			}
		}
		sort.Strings(schemes)
		if want, ok := securityFor[rt.Auth]; !ok || !slices.Equal(schemes, want) {
			t.Errorf("%s: security schemes %v, auth class %s wants %v", rt.Pattern, schemes, rt.Auth, want)
		}
		var query []string
		params, _ := op["parameters"].([]any)
		for _, pv := range params {
			pm, _ := d.resolve(pv)
			if p, _ := pm.(map[string]any); p["in"] == "query" {
				query = append(query, p["name"].(string))
			}
		}
		sort.Strings(query)
		want := slices.Sorted(slices.Values(rt.Query))
		if !slices.Equal(query, want) {
			t.Errorf("%s: documented query parameters %v, the route accepts %v", rt.Pattern, query, want)
		}
		if _, ok := op["responses"].(map[string]any)["400"]; !ok {
			t.Errorf("%s: the 400 every route gives an unknown query parameter is not described", rt.Pattern)
		}
	}
	for p, ops := range d.paths {
		for m := range ops {
			if !served[m+" "+p] {
				t.Errorf("schemas/openapi.json describes %s %s, which no route serves", m, p)
			}
		}
	}
}

// TestOpenAPICheckCatchesViolations shows the response check used on every
// response of the package's tests is not vacuous.
func TestOpenAPICheckCatchesViolations(t *testing.T) {
	d := loadAPIDoc(t)
	js := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name, method, path string
		code               int
		header             http.Header
		body               string
		bad                bool
	}{
		{"valid health", "GET", "/healthz", 200, js, `{"status":"ok"}`, false},
		{"undescribed status", "GET", "/healthz", 418, js, `{"error":"x"}`, true},
		{"wrong content type", "GET", "/healthz", 200, http.Header{"Content-Type": {"text/plain"}}, `{"status":"ok"}`, true},
		{"field not in schema", "GET", "/healthz", 200, js, `{"status":"ok","extra":1}`, true},
		{"wrong value", "GET", "/readyz", 503, js, `{"status":"sleepy"}`, true},
		{"error shape", "GET", "/v1/deliveries", 401, js, `{"message":"no"}`, true},
		{"nested $ref", "GET", "/v1/deliveries", 200, js, `{"deliveries":[{"time":"yesterday"}]}`, true},
		{"path param matched", "POST", "/v1/apps/shop/events", 202, js, `{"event_id":"1","name":"INSTALL","postbacks":[]}`, false},
		{"batch", "POST", "/v1/apps/shop/events", 202, js, `{"accepted":1,"events":[{"event_id":"1","name":"x","postbacks":[]}]}`, false},
		{"unknown path must be 404", "GET", "/nope", 200, js, `{}`, true},
		{"unknown path 404", "GET", "/nope", 404, js, `{"error":"no endpoint"}`, false},
		{"wrong method without Allow", "DELETE", "/healthz", 405, js, `{"error":"no"}`, true},
		{"wrong method", "DELETE", "/healthz", 405, http.Header{"Content-Type": {"application/json"}, "Allow": {"GET, HEAD"}}, `{"error":"no"}`, false},
		{"ndjson line", "GET", "/v1/apps/shop/sample", 200, http.Header{"Content-Type": {"application/x-ndjson"}}, "{\"a\":1}\n[1]\n", true},
		{"ndjson", "GET", "/v1/apps/shop/sample", 200, http.Header{"Content-Type": {"application/x-ndjson"}}, "{\"a\":1}\n{\"b\":2}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.checkResponse(tc.method, tc.path, tc.code, tc.header, []byte(tc.body))
			if (err != nil) != tc.bad {
				t.Errorf("check = %v, want a violation: %v", err, tc.bad)
			}
		})
	}
}

// TestOpenAPIEnumsFollowTheCode holds the document's lists of values to
// the code that decides them, so a new error class, status or window
// cannot be served undescribed (the response check only sees the values
// the tests happen to produce).
func TestOpenAPIEnumsFollowTheCode(t *testing.T) {
	d := loadAPIDoc(t)
	enum := func(schema any) []string {
		t.Helper()
		v, err := d.resolve(schema)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range v.(map[string]any)["enum"].([]any) {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	ref := func(name string) any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	param := func(path, name string) any {
		t.Helper()
		params, _ := d.paths[path]["GET"].(map[string]any)["parameters"].([]any)
		for _, p := range params {
			if p := p.(map[string]any); p["name"] == name {
				return p["schema"]
			}
		}
		t.Fatalf("GET %s has no parameter %s", path, name)
		return nil
	}
	attempt, err := d.pointer("#/components/schemas/Attempt/properties/status")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := enum(ref("ErrorClass")), queue.ErrorClasses(); !slices.Equal(got, want) {
		t.Errorf("ErrorClass lists %v, queue.ErrorClasses() %v", got, want)
	}
	statuses := enum(param("/v1/deliveries", "status"))
	for _, s := range statuses {
		if !validAttemptStatus(s) {
			t.Errorf("GET /v1/deliveries documents status %q, which the handler refuses", s)
		}
	}
	for _, s := range enum(attempt) {
		if !slices.Contains(statuses, s) {
			t.Errorf("an attempt's status %q cannot be asked for with GET /v1/deliveries?status=", s)
		}
	}
	if got, want := enum(param("/v1/stats", "window")), slices.Sorted(maps.Keys(statsWindows())); !slices.Equal(got, want) {
		t.Errorf("GET /v1/stats documents windows %v, the handler serves %v", got, want)
	}
}
