package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// httpAPIPage holds a hand-written narrative around sections generated
// from the OpenAPI document, between these markers.
const (
	httpAPIPage = "docs/http-api.md"
	openAPIFile = "schemas/openapi.json"
	genBegin    = "<!-- BEGIN generated from schemas/openapi.json (go test ./cmd/adgate -run TestHTTPAPIPageIsCurrent -update): "
	genEnd      = "<!-- END generated: "
)

// TestHTTPAPIPageIsCurrent fails when schemas/openapi.json changed and the
// generated sections of docs/http-api.md were not regenerated (-update
// rewrites them, leaving the narrative around them as it is).
func TestHTTPAPIPageIsCurrent(t *testing.T) {
	path := filepath.Join(repoRoot, httpAPIPage)
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, openAPIFile))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := apiSections(doc)
	if err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	want, err := fillSections(string(page), gen)
	if err != nil {
		t.Fatalf("%s: %v", httpAPIPage, err)
	}
	if *update && want != string(page) {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		page = []byte(want)
	}
	if string(page) != want {
		t.Fatalf("%s is not current with %s: regenerate it with go test ./cmd/adgate -run TestHTTPAPIPageIsCurrent -update\n%s",
			httpAPIPage, openAPIFile, firstDifference(string(page), want))
	}
}

// TestHTTPAPIPageCatchesChanges shows the page check is not vacuous: an
// operation added to the document changes the generated page.
func TestHTTPAPIPageCatchesChanges(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, openAPIFile))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	d["paths"].(map[string]any)["/v1/zz"] = map[string]any{"get": map[string]any{
		"operationId": "zz", "summary": "new", "x-adgate-auth": "admin", "responses": map[string]any{"200": map[string]any{"description": "ok"}}}}
	changed, _ := json.Marshal(d)
	before, err := apiSections(doc)
	if err != nil {
		t.Fatal(err)
	}
	after, err := apiSections(changed)
	if err != nil {
		t.Fatal(err)
	}
	for name := range before {
		if before[name] == after[name] || !strings.Contains(after[name], "GET /v1/zz") {
			t.Errorf("section %s does not show an added operation", name)
		}
	}
}

// fillSections replaces the body of each generated section of page.
func fillSections(page string, gen map[string]string) (string, error) {
	out := page
	for _, name := range slices.Sorted(maps.Keys(gen)) {
		begin, end := genBegin+name+" -->\n", genEnd+name+" -->\n"
		i := strings.Index(out, begin)
		j := strings.Index(out, end)
		if i < 0 || j < i {
			return "", fmt.Errorf("no generated section %q (the lines %q and %q)", name, strings.TrimSpace(begin), strings.TrimSpace(end))
		}
		out = out[:i+len(begin)] + gen[name] + out[j:]
	}
	return out, nil
}

// authText says in words who may call an operation, by its x-adgate-auth
// class (the gateway's route table names the same classes).
var authText = map[string]string{
	"public":     "none",
	"ingest":     "the app's bearer token or HMAC signature",
	"admin":      "`admin_token`",
	"admin-read": "`admin_token` or `read_only_token` (changes nothing)",
	"metrics":    "`metrics.token` or `admin_token`",
	"console":    "a console session (none for the login page and the assets)",
}

type apiOp struct {
	method, path string
	op           map[string]any
}

// apiSections renders the generated sections of the HTTP API page from
// the OpenAPI document: "endpoints", a table of every operation, and
// "reference", each operation's parameters and responses and every
// schema's fields.
func apiSections(doc []byte) (map[string]string, error) {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	paths, _ := d["paths"].(map[string]any)
	comps, _ := d["components"].(map[string]any)
	var ops []apiOp
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		for _, m := range slices.Sorted(maps.Keys(item)) {
			op, _ := item[m].(map[string]any)
			ops = append(ops, apiOp{strings.ToUpper(m), p, op})
		}
	}
	// Ingest first, then admin, then probes: the order a reader meets them.
	order := map[string]int{"ingest": 0, "admin": 1, "admin-read": 1, "public": 2, "metrics": 2, "console": 3}
	slices.SortStableFunc(ops, func(a, b apiOp) int { return order[str(a.op["x-adgate-auth"])] - order[str(b.op["x-adgate-auth"])] })

	var table, ref strings.Builder
	table.WriteString("| endpoint | auth | what |\n| --- | --- | --- |\n")
	for _, o := range ops {
		auth, ok := authText[str(o.op["x-adgate-auth"])]
		if !ok {
			return nil, fmt.Errorf("%s %s: x-adgate-auth %q is none of %v", o.method, o.path, o.op["x-adgate-auth"], slices.Sorted(maps.Keys(authText)))
		}
		name := o.method + " " + o.path
		fmt.Fprintf(&table, "| [`%s`](#%s) | %s | %s |\n", name, anchorOf(name), auth, cell(str(o.op["summary"])))

		fmt.Fprintf(&ref, "### `%s`\n\n%s.", name, strings.TrimSuffix(str(o.op["summary"]), "."))
		if desc := str(o.op["description"]); desc != "" {
			ref.WriteString(" " + desc)
		}
		fmt.Fprintf(&ref, "\n\nAuth: %s.\n\n", auth)
		if params, _ := o.op["parameters"].([]any); len(params) > 0 {
			ref.WriteString("| parameter | in | type | what |\n| --- | --- | --- | --- |\n")
			for _, pv := range params {
				p, _ := resolveRef(d, pv).(map[string]any)
				fmt.Fprintf(&ref, "| `%s` | %s | %s | %s |\n", str(p["name"]), str(p["in"]), typeOf(d, p["schema"]), cell(str(p["description"])))
			}
			ref.WriteString("\n")
		}
		if rb, ok := o.op["requestBody"].(map[string]any); ok {
			ref.WriteString("Request body")
			if rb["required"] != true {
				ref.WriteString(" (optional)")
			}
			ref.WriteString(": " + contentText(d, rb["content"]))
			if desc := str(rb["description"]); desc != "" {
				ref.WriteString(". " + strings.TrimSuffix(desc, "."))
			}
			ref.WriteString(".\n\n")
		}
		ref.WriteString("| status | body | when |\n| --- | --- | --- |\n")
		responses, _ := o.op["responses"].(map[string]any)
		for _, code := range slices.Sorted(maps.Keys(responses)) {
			r, _ := resolveRef(d, responses[code]).(map[string]any)
			when := str(r["description"])
			if hs, ok := r["headers"].(map[string]any); ok {
				when += " Headers: " + strings.Join(codeList(slices.Sorted(maps.Keys(hs))), ", ") + "."
			}
			fmt.Fprintf(&ref, "| %s | %s | %s |\n", code, contentText(d, r["content"]), cell(when))
		}
		ref.WriteString("\n")
	}
	schemas, _ := comps["schemas"].(map[string]any)
	ref.WriteString("### Schemas\n\n")
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		s, _ := schemas[name].(map[string]any)
		fmt.Fprintf(&ref, "#### %s\n\n", name)
		if desc := str(s["description"]); desc != "" {
			ref.WriteString(desc + "\n\n")
		}
		props, _ := s["properties"].(map[string]any)
		if len(props) == 0 {
			fmt.Fprintf(&ref, "%s.\n\n", typeOf(d, s))
			continue
		}
		req, _ := s["required"].([]any)
		ref.WriteString("| field | type | required | what |\n| --- | --- | --- | --- |\n")
		for _, f := range slices.Sorted(maps.Keys(props)) {
			p, _ := props[f].(map[string]any)
			yes := ""
			if slices.Contains(req, any(f)) {
				yes = "yes"
			}
			fmt.Fprintf(&ref, "| `%s` | %s | %s | %s |\n", f, typeOf(d, p), yes, cell(str(p["description"])))
		}
		ref.WriteString("\n")
	}
	return map[string]string{"endpoints": table.String(), "reference": strings.TrimSuffix(ref.String(), "\n")}, nil
}

func str(v any) string { s, _ := v.(string); return s }

func codeList(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + "`"
	}
	return out
}

// anchorOf is the anchor GitHub gives a heading "### `text`".
func anchorOf(text string) string {
	for a := range headingAnchors("### `" + text + "`") {
		return a
	}
	return ""
}

// resolveRef follows a local $ref of the document.
func resolveRef(d map[string]any, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	ref, ok := m["$ref"].(string)
	if !ok {
		return v
	}
	var cur any = d
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		next, _ := cur.(map[string]any)
		cur = next[part]
	}
	return cur
}

// typeOf says a schema's type in a few words, linking named schemas.
func typeOf(d map[string]any, v any) string {
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		name := ref[strings.LastIndex(ref, "/")+1:]
		return "[" + name + "](#" + strings.ToLower(name) + ")"
	}
	if alts, ok := m["anyOf"].([]any); ok {
		var parts []string
		for _, a := range alts {
			parts = append(parts, typeOf(d, a))
		}
		return strings.Join(parts, " or ")
	}
	if c, ok := m["const"]; ok {
		b, _ := json.Marshal(c)
		return "`" + string(b) + "`"
	}
	if enum, ok := m["enum"].([]any); ok {
		var parts []string
		for _, e := range enum {
			parts = append(parts, fmt.Sprint(e))
		}
		return "one of " + strings.Join(codeList(parts), ", ")
	}
	t := str(m["type"])
	switch t {
	case "array":
		return "array of " + typeOf(d, m["items"])
	case "string":
		if f := str(m["format"]); f != "" {
			return "string (" + f + ")"
		}
	case "object":
		if ap, ok := m["additionalProperties"].(map[string]any); ok {
			return "object of " + typeOf(d, ap)
		}
	case "":
		return "any"
	}
	return t
}

// contentText lists a content map's media types with their schemas.
func contentText(d map[string]any, v any) string {
	content, _ := v.(map[string]any)
	if len(content) == 0 {
		return "none"
	}
	var parts []string
	for _, mt := range slices.Sorted(maps.Keys(content)) {
		media, _ := content[mt].(map[string]any)
		s := "`" + mt + "`"
		if sch, ok := media["schema"].(map[string]any); ok {
			if _, named := sch["$ref"]; named || sch["anyOf"] != nil {
				s += " " + typeOf(d, sch)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// cell makes text safe for one markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
