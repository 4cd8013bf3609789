package spec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
	"github.com/adgate/adgate/schemas"
)

// SchemaFile is the partner schema's name inside schemas.FS.
const SchemaFile = "partner.schema.json"

// MaxFileSize bounds a spec file; real specs are a few KiB.
const MaxFileSize = 4 << 20

// Loader parses, validates and lints partner specs. It is immutable and
// safe for concurrent use.
type Loader struct {
	cat    *catalog.Catalog
	schema *gojsonschema.Schema
}

// NewLoader builds a Loader from the schema and Branch parameter catalog
// embedded in the binary.
func NewLoader() (*Loader, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	raw, err := fs.ReadFile(schemas.FS, SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("spec: read embedded schema: %w", err)
	}
	sch, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(raw))
	if err != nil {
		return nil, fmt.Errorf("spec: compile %s: %w", SchemaFile, err)
	}
	return &Loader{cat: cat, schema: sch}, nil
}

// Catalog returns the Branch parameter catalog the loader lints against.
func (l *Loader) Catalog() *catalog.Catalog { return l.cat }

// LoadFile loads one spec with a default Loader. See Loader.LoadFile.
func LoadFile(ctx context.Context, path string) (*Partner, diag.List, error) {
	l, err := NewLoader()
	if err != nil {
		return nil, nil, err
	}
	return l.LoadFile(ctx, path)
}

// LoadDir loads every spec in dir with a default Loader. See Loader.LoadDir.
func LoadDir(ctx context.Context, dir string) ([]*Partner, diag.List, error) {
	l, err := NewLoader()
	if err != nil {
		return nil, nil, err
	}
	return l.LoadDir(ctx, dir)
}

// LoadFile reads, validates and lints the spec at path. The partner is
// returned only when there is no error diagnostic; the error is then a
// diag.ListError, or an I/O error.
func (l *Loader) LoadFile(ctx context.Context, path string) (*Partner, diag.List, error) {
	ps, ds, err := l.LoadPaths(ctx, path)
	if len(ps) == 1 {
		return ps[0], ds, err
	}
	return nil, ds, err
}

// LoadDir loads every *.yaml / *.yml spec directly in dir, skipping the
// *.test.yaml fixture files, and checks that ids are unique across files.
// It returns the partners whose files have no error; err is non-nil when
// any file has an error (a diag.ListError) or cannot be read.
func (l *Loader) LoadDir(ctx context.Context, dir string) ([]*Partner, diag.List, error) {
	return l.LoadPaths(ctx, dir)
}

// IsSpecFile reports whether a file name is a partner spec (not a fixture).
func IsSpecFile(name string) bool {
	base := filepath.Base(name)
	if strings.HasSuffix(base, ".test.yaml") || strings.HasSuffix(base, ".test.yml") {
		return false
	}
	return strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml")
}

// SpecID is the partner id the spec file must declare (file-name-mismatch
// checks it), and so the id a spec with errors is known by.
func SpecID(file string) string {
	return strings.TrimSuffix(strings.TrimSuffix(filepath.Base(file), ".yaml"), ".yml")
}

// SpecFiles lists the spec files that LoadPaths reads for paths: each file
// as given, and the spec files directly in each directory. A file reached
// twice (a directory and one of its files) is listed once.
func SpecFiles(paths ...string) ([]string, error) {
	var (
		files []string
		seen  = map[string]bool{}
	)
	add := func(f string) {
		key := filepath.Clean(f)
		if abs, err := filepath.Abs(f); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() && IsSpecFile(e.Name()) {
				add(filepath.Join(p, e.Name()))
			}
		}
	}
	return files, nil
}

// LoadPaths loads files and directories (see LoadDir) together, checking
// partner ids for uniqueness across all of them.
func (l *Loader) LoadPaths(ctx context.Context, paths ...string) ([]*Partner, diag.List, error) {
	files, err := SpecFiles(paths...)
	if err != nil {
		return nil, nil, err
	}
	var (
		all      diag.List
		partners []*Partner
		firstID  = map[string]string{}
	)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, all, err
		}
		data, err := readBounded(f)
		if err != nil {
			return nil, all, err
		}
		c := l.check(f, data)
		if c.partner != nil && c.partner.ID != "" {
			if prev, dup := firstID[c.partner.ID]; dup {
				id := c.fieldSpan("id")
				c.addSpan(id.from, id.to, diag.Error, RuleDuplicateID,
					fmt.Sprintf("partner id %q is already declared in %s", c.partner.ID, prev), "give each partner its own id")
			} else {
				firstID[c.partner.ID] = f
			}
		}
		ds := diag.List(c.diags)
		all = append(all, ds...)
		if !ds.HasErrors() && c.partner != nil {
			partners = append(partners, c.partner)
		}
	}
	all.Sort()
	return partners, all, all.Err()
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("spec: read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("spec: %s is larger than %d bytes", path, MaxFileSize)
	}
	return b, nil
}

// Check validates and lints one spec's bytes; file names it in diagnostics
// and its base name must be <id>.yaml. The partner is returned only when
// there is no error diagnostic.
func (l *Loader) Check(file string, data []byte) (*Partner, diag.List) {
	c := l.check(file, data)
	ds := diag.List(c.diags)
	ds.Sort()
	if ds.HasErrors() {
		return nil, ds
	}
	return c.partner, ds
}

// checker holds one file's state while it is checked.
type checker struct {
	l       *Loader
	file    string
	lines   [][]rune // the source by line, see yamlx.Lines
	budget  yamlx.Budget
	doc     *yaml.Node   // the document node, nil if the file did not parse
	root    *yaml.Node   // the document's top-level node, nil if none
	text    *diag.Source // the raw bytes, for the ranges of findings
	partner *Partner
	diags   []diag.Diagnostic
	// anchors maps a finding (by index in diags) to the line of the key
	// whose value holds it, so a suppression above the key also applies
	// inside multi-line values.
	anchors map[int]int
	posMemo map[*yaml.Node][]pos
}

func (l *Loader) check(file string, data []byte) *checker {
	text := diag.NewSource(data)
	c := &checker{l: l, file: file, text: text, anchors: map[int]int{}, posMemo: map[*yaml.Node][]pos{}}
	if !c.parse(data) {
		return c
	}
	c.validateSchema()
	var p Partner
	if c.root.Kind == yaml.MappingNode {
		// Type mismatches were reported by the schema; decode what fits so
		// the lint still sees every other field.
		_ = c.root.Decode(&p)
		c.partner = &p
		c.lint()
		c.fileName()
	}
	c.suppress()
	return c
}

func (c *checker) add(p pos, sev diag.Severity, rule, msg, hint string) int {
	return c.addSpan(p, p, sev, rule, msg, hint)
}

// addSpan adds a finding about the text from one position up to another.
func (c *checker) addSpan(from, to pos, sev diag.Severity, rule, msg, hint string) int {
	r := c.text.Span(from.Line, from.Col, to.Line, to.Col)
	c.diags = append(c.diags, diag.Diagnostic{File: c.file, Range: r, Severity: sev, Rule: rule, Message: msg, Hint: hint})
	return len(c.diags) - 1
}

func (c *checker) addRule(p pos, rule, msg string) int {
	r, _ := ruleInfo(rule)
	return c.add(p, r.Severity, rule, msg, r.Fix)
}

// parse reads exactly one YAML document into c.root.
func (c *checker) parse(data []byte) bool {
	doc, ds := yamlx.Parse(c.file, data, yamlx.Options{Rules: yamlx.Rules{Syntax: RuleYAMLSyntax, Duplicate: RuleDuplicateKey}})
	c.lines = doc.Lines
	c.diags = append(c.diags, ds...)
	if doc.Root == nil {
		if !ds.HasErrors() {
			c.addRule(pos{1, 1}, RuleSchema, "the file is empty; a spec needs at least id and name")
		}
		return false
	}
	c.doc, c.root, c.budget = doc.Node, doc.Root, doc.Budget
	return true
}

// validateSchema checks the document against partner.schema.json and
// places each schema error on the YAML node it is about.
func (c *checker) validateSchema() {
	res, err := yamlx.SchemaResult(c.l.schema, c.root, c.budget)
	if err != nil {
		at := c.root
		var ne *yamlx.NodeError
		if errors.As(err, &ne) {
			at = ne.Node
		}
		c.addRule(pos{at.Line, at.Column}, RuleSchema, fmt.Sprintf("cannot validate: %v", err))
		return
	}
	errs := res.Errors()
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field() < errs[j].Field() })
	for _, e := range errs {
		segs := yamlx.SchemaPath(e)
		at := yamlx.SchemaNode(c.root, e)
		if at == nil {
			at = c.root
		}
		where := humanPath(segs)
		msg := e.Description()
		switch e.Type() {
		case "additional_property_not_allowed":
			prop := fmt.Sprint(e.Details()["property"])
			msg = fmt.Sprintf("unknown field %q", prop)
			if where != "" {
				msg += " in " + where
			}
		case "required":
			msg = fmt.Sprintf("missing required field %q", fmt.Sprint(e.Details()["property"]))
			if where != "" {
				msg += " in " + where
			}
		default:
			if where != "" {
				msg = where + ": " + msg
			}
		}
		s := c.nodeSpan(at)
		c.addSpan(s.from, s.to, diag.Error, RuleSchema, msg, "see schemas/partner.schema.json (`adgate schema`)")
	}
}

// lookup follows a path of mapping keys and sequence indexes and returns
// the last key node (nil for a sequence item) and the value node.
func lookup(n *yaml.Node, segs []string) (key, val *yaml.Node) {
	f := yamlx.Lookup(n, segs)
	return f.Key, f.Val
}

// humanPath writes postbacks.0.url as postbacks[0].url.
func humanPath(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// fieldPos returns the position of a value at a path, or of the file start.
func (c *checker) fieldPos(segs ...string) pos {
	if c.root == nil {
		return pos{1, 1}
	}
	if _, v := lookup(c.root, segs); v != nil {
		return pos{v.Line, v.Column}
	}
	return pos{c.root.Line, c.root.Column}
}

// span is the text a finding is about, from up to (not including) to.
type span struct{ from, to pos }

// fieldSpan returns the text of the value at a path: a scalar written on
// one line spans its text, quotes included; anything else (a mapping, a
// block scalar, a missing value) is the point fieldPos gives.
func (c *checker) fieldSpan(segs ...string) span {
	if c.root != nil {
		if _, v := lookup(c.root, segs); v != nil {
			return c.nodeSpan(v)
		}
	}
	p := c.fieldPos(segs...)
	return span{p, p}
}

// nodeSpan is fieldSpan for a node in hand.
func (c *checker) nodeSpan(v *yaml.Node) span {
	p := pos{v.Line, v.Column}
	if v.Kind != yaml.ScalarNode || v.Style == yaml.LiteralStyle || v.Style == yaml.FoldedStyle {
		return span{p, p}
	}
	end := c.offsetPos(v, len([]rune(v.Value)))
	if v.Style == yaml.SingleQuotedStyle || v.Style == yaml.DoubleQuotedStyle {
		end.Col++ // the closing quote
	}
	if end.Line != p.Line || end.Col < p.Col {
		return span{p, p}
	}
	return span{p, end}
}

// addRuleSpan is addRule for a finding about a span of text.
func (c *checker) addRuleSpan(s span, rule, msg string) int {
	r, _ := ruleInfo(rule)
	return c.addSpan(s.from, s.to, r.Severity, rule, msg, r.Fix)
}

// offsetPos returns where code point off of scalar n's value stands.
func (c *checker) offsetPos(n *yaml.Node, off int) pos {
	ps, ok := c.posMemo[n]
	if !ok {
		ps = scalarPositions(c.lines, n)
		c.posMemo[n] = ps
	}
	if off < 0 {
		off = 0
	}
	if off >= len(ps) {
		off = len(ps) - 1
	}
	return ps[off]
}

// fileName checks that the file is named <id>.yaml.
func (c *checker) fileName() {
	id := c.partner.ID
	if id == "" {
		return
	}
	base := filepath.Base(c.file)
	if SpecID(c.file) != id {
		c.addRuleSpan(c.fieldSpan("id"), RuleFileNameMismatch, fmt.Sprintf("file %s declares id %q; it must be named %s.yaml", base, id, id))
	}
}
