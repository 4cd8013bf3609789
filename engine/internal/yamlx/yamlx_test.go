package yamlx

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
)

var testRules = Rules{Syntax: "syntax", Duplicate: "dup"}

func parse(t testing.TB, src string) (*Doc, diag.List) {
	t.Helper()
	return Parse("f.yaml", []byte(src), Options{Rules: testRules})
}

// nested is the billion laughs: each level lists the one before ten times.
func nested(levels int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	return b.String()
}

// longString reuses one long string through many aliases.
func longString(size, uses int) string {
	return "s: &s " + strings.Repeat("A", size) + "\nl: [" + strings.TrimSuffix(strings.Repeat("*s, ", uses), ", ") + "]\n"
}

func TestParseFindings(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // file:line:col rule, "" for none
		msg, hint string // substrings
	}{
		{"ok", "a: 1\nb: [x, y]\n", "", "", ""},
		{"empty", "", "", "", ""},
		{"comment only", "# nothing\n", "", "", ""},
		{"env in flow list", "a: 1\nurls: [a, ${env:TOKEN}]\n", "f.yaml:2:11 syntax", "did not find expected ',' or ']'", `quote the value: write "${env:TOKEN}"`},
		{"env first in flow list", "urls: [${env:TOKEN}, b]\n", "f.yaml:1:8 syntax", "did not find expected ',' or ']'", "quote the value"},
		{"env in flow mapping", "m: {a: ${env:X}}\n", "f.yaml:1:8 syntax", "did not find expected ',' or '}'", `write "${env:X}"`},
		{"macro then text", "url: {idfa}?x=1\n", "f.yaml:1:6 syntax", "did not find expected key", `write "{idfa}?x=1"`},
		{"braces inside a plain value are text", "a: [x,\n  b: https://x.test/?a={a}\n", "f.yaml:2:3 syntax", "", "indentation and quoting"},
		{"quoted env is fine", "urls: [\"${env:TOKEN}\", b]\n", "", "", ""},
		{"tab", "a:\n\tb: 1\n", "f.yaml:2:1 syntax", "cannot start any token", "indent with spaces"},
		{"mapping value", "a: b: c\n", "f.yaml:1:2 syntax", "mapping values are not allowed", "indentation and quoting"},
		{"dedented key in list", "l:\n  - a: 1\n    b: 2\n  - a: 3\n   c: 4\n", "f.yaml:5:4 syntax", "", ""},
		{"second document", "a: 1\n---\nb: 2\n", "f.yaml:2:1 syntax", "a second YAML document", "---"},
		{"duplicate key", "a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml:4:3 dup", `key "c" is already set at line 3`, "remove or rename"},
		{"duplicate merge keys are merges", "b: &b {x: 1}\nc: &c {y: 1}\na:\n  <<: *b\n  <<: *c\n", "", "", ""},
		{"self alias", "a: &a [*a]\n", "f.yaml:1:8 yaml-alias-budget", "contains the alias itself", "write the value out"},
		{"nested laughs", nested(9), "f.yaml:9:10 yaml-alias-budget", "alias *l7 alone stands for 111111111 nodes", "fewer aliases"},
		{"long string reused", longString(1000, 5000), "f.yaml:2:5 yaml-alias-budget", "alias *s alone stands for 1 node and 1002 bytes", ""},
		{"a few aliases", nested(3), "", "", ""},
		{"bom", "\xef\xbb\xbfa: b: c\n", "f.yaml:1:2 syntax", "mapping values", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ds := parse(t, tt.src)
			if tt.want == "" {
				if len(ds) != 0 {
					t.Fatalf("findings: %v", ds)
				}
				return
			}
			if len(ds) != 1 {
				t.Fatalf("want one finding, got %v", ds)
			}
			f := ds[0]
			if got := fmt.Sprintf("%s:%d:%d %s", f.File, f.Line(), f.Col(), f.Rule); got != tt.want {
				t.Errorf("at %s, want %s (%s)", got, tt.want, f)
			}
			if !strings.Contains(f.Message, tt.msg) || !strings.Contains(f.Hint, tt.hint) || f.Hint == "" {
				t.Errorf("finding %q / %q, want message with %q and hint with %q", f.Message, f.Hint, tt.msg, tt.hint)
			}
			if f.Rule != "dup" && d.Root != nil {
				t.Errorf("a refused document keeps its root")
			}
		})
	}
}

// TestBudgetRefusesBeforeExpanding: a document whose aliases pass the
// budget is refused by measuring, with no more memory than the document
// itself takes; the measure is exact below the limit.
func TestBudgetRefusesBeforeExpanding(t *testing.T) {
	for _, tt := range []struct {
		name   string
		src    string
		budget Budget
		refuse bool
	}{
		// nested(2) expands to the root, 2 keys, l0 (a list of 10) and
		// l1 (a list of 10 copies of l0): 1 + 2 + 11 + 111 nodes.
		{"nodes at the limit", nested(2), Budget{Nodes: 125, Bytes: 1 << 20}, false},
		{"nodes over the limit", nested(2), Budget{Nodes: 124, Bytes: 1 << 20}, true},
		{"bytes over the limit", longString(100, 30), Budget{Nodes: 1000, Bytes: 3000}, true},
		{"bytes under the limit", longString(100, 20), Budget{Nodes: 1000, Bytes: 3000}, false},
		// Without aliases the file is as big as it is; its size limit
		// bounds it, not the budget.
		{"no aliases", "a: [" + strings.Repeat("x, ", 500) + "y]\n", Budget{Nodes: 10, Bytes: 10}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, ds := Parse("f.yaml", []byte(tt.src), Options{Rules: testRules, Budget: tt.budget})
			if got := ds.HasErrors(); got != tt.refuse {
				t.Fatalf("refused = %v, want %v: %v", got, tt.refuse, ds)
			}
			if tt.refuse {
				return
			}
			text, err := JSON(d.Root, d.Budget, JSONOptions{})
			if err != nil {
				t.Fatalf("accepted document does not convert within its budget: %v", err)
			}
			if int64(len(text)) > d.Budget.Bytes {
				t.Errorf("JSON is %d bytes, budget %d", len(text), d.Budget.Bytes)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name, src, want string
		strict          bool
		err             string
	}{
		{"order and exact numbers", "b: 1\na: 551302741529937301\nc: 1.5e3\nd: 0x1F\ne: 1_000\n", `{"b":1,"a":551302741529937301,"c":1.5e3,"d":31,"e":1000}`, false, ""},
		{"scalars", "a: ~\nb: True\nc: 'x'\nd: \"1\"\n", `{"a":null,"b":true,"c":"x","d":"1"}`, false, ""},
		{"merge keys", "base: &b {x: 1, y: 2}\nv:\n  <<: *b\n  y: 3\n", `{"base":{"x":1,"y":2},"v":{"y":3,"x":1}}`, false, ""},
		{"merge list, first wins", "a: &a {x: 1}\nb: &b {x: 2, z: 3}\nv: {<<: [*a, *b]}\n", `{"a":{"x":1},"b":{"x":2,"z":3},"v":{"x":1,"z":3}}`, false, ""},
		{"inf as text", "a: .inf\n", `{"a":".inf"}`, false, ""},
		{"inf strict", "a: .inf\n", "", true, "cannot be written in JSON"},
		{"bad merge", "a: {<<: 1}\n", "", false, "<< must merge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ds := parse(t, tt.src)
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			got, err := JSON(d.Root, d.Budget, JSONOptions{StrictNumbers: tt.strict})
			if tt.err != "" {
				var ne *NodeError
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, &ne) || ne.Node == nil {
					t.Fatalf("err = %v, want a NodeError with %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tt.want)
			}
			var v any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Errorf("not JSON: %v", err)
			}
		})
	}
}

func TestJSONBudget(t *testing.T) {
	d, ds := parse(t, nested(3))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if _, err := JSON(d.Root, Budget{Nodes: 50, Bytes: 1 << 20}, JSONOptions{}); !errors.Is(err, ErrBudget) {
		t.Errorf("nodes: err = %v", err)
	}
	if _, err := JSON(d.Root, Budget{Nodes: 1 << 20, Bytes: 100}, JSONOptions{}); !errors.Is(err, ErrBudget) {
		t.Errorf("bytes: err = %v", err)
	}
}

func TestLookup(t *testing.T) {
	d, ds := parse(t, "a:\n  b: [x, &y {c: 1}]\n  d: *y\n")
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	tests := []struct {
		path          string
		key, val, nrs string // line:col, "" for nil
	}{
		{"a.b.1.c", "2:14", "2:17", "2:17"},
		{"a.d.c", "2:14", "2:17", "2:17"}, // through the alias
		{"a.b.0", "", "2:7", "2:7"},
		{"a.b.5", "", "", "2:6"},
		{"a.nope.x", "", "", "2:3"},
		{"", "", "1:1", "1:1"},
	}
	for _, tt := range tests {
		var segs []string
		if tt.path != "" {
			segs = strings.Split(tt.path, ".")
		}
		f := Lookup(d.Root, segs)
		if got := posOf(f.Key); got != tt.key {
			t.Errorf("%s: key at %s, want %s", tt.path, got, tt.key)
		}
		if got := posOf(f.Val); got != tt.val {
			t.Errorf("%s: val at %s, want %s", tt.path, got, tt.val)
		}
		if got := posOf(f.Nearest); got != tt.nrs {
			t.Errorf("%s: nearest at %s, want %s", tt.path, got, tt.nrs)
		}
	}
}

func posOf(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return fmt.Sprintf("%d:%d", n.Line, n.Column)
}

// FuzzParse: no input panics or hangs Parse; findings stand inside the
// file; an accepted document converts within its budget.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a: 1", "a: &a [*a]", nested(6), longString(10, 10), "urls: [${env:X}]", "a: b: c", "\tx", "a: 1\n---\nb: 2", "{<<: [*a]}", "a: &a {x: 1}\nb: {<<: *a}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, ds := Parse("f.yaml", data, Options{Rules: testRules, Budget: Budget{Nodes: 10_000, Bytes: 64 << 10}})
		lines := len(d.Lines) + 1
		for _, f := range ds {
			if f.Rule == "" || f.Message == "" || f.Line() < 1 || f.Line() > lines || f.Col() < 1 {
				t.Fatalf("bad finding (%d lines): %+v", lines, f)
			}
		}
		if d.Root == nil {
			return
		}
		text, err := JSON(d.Root, d.Budget, JSONOptions{})
		var ne *NodeError
		if err != nil && !errors.As(err, &ne) {
			t.Fatalf("accepted document does not convert: %v", err)
		}
		if err == nil && !json.Valid(text) {
			t.Fatalf("not JSON: %s", text)
		}
	})
}
