package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/diag"
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

// LoadPaths loads files and directories (see LoadDir) together, checking
// partner ids for uniqueness across all of them.
func (l *Loader) LoadPaths(ctx context.Context, paths ...string) ([]*Partner, diag.List, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("spec: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, nil, fmt.Errorf("spec: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() && IsSpecFile(e.Name()) {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	var (
		all      diag.List
		partners []*Partner
		firstID  = map[string]string{}
		seen     = map[string]bool{}
	)
	for _, f := range files {
		// A file reached twice (a directory and one of its files) is one
		// partner, not a duplicate id.
		key := filepath.Clean(f)
		if abs, err := filepath.Abs(f); err == nil {
			key = abs
		}
		if seen[key] {
			continue
		}
		seen[key] = true
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
				p := c.fieldPos("id")
				c.diags = append(c.diags, diag.Diagnostic{File: f, Line: p.Line, Col: p.Col, Severity: diag.Error, Rule: RuleDuplicateID,
					Message: fmt.Sprintf("partner id %q is already declared in %s", c.partner.ID, prev), Hint: "give each partner its own id"})
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
	src     *source
	doc     *yaml.Node // the document node, nil if the file did not parse
	root    *yaml.Node // the document's top-level node, nil if none
	partner *Partner
	diags   []diag.Diagnostic
	// anchors maps a finding (by index in diags) to the line of the key
	// whose value holds it, so a suppression above the key also applies
	// inside multi-line values.
	anchors map[int]int
	posMemo map[*yaml.Node][]pos
}

func (l *Loader) check(file string, data []byte) *checker {
	c := &checker{l: l, file: file, src: newSource(data), anchors: map[int]int{}, posMemo: map[*yaml.Node][]pos{}}
	if !c.parse(data) {
		return c
	}
	c.duplicateKeys(c.root)
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
	c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: p.Line, Col: p.Col, Severity: sev, Rule: rule, Message: msg, Hint: hint})
	return len(c.diags) - 1
}

func (c *checker) addRule(p pos, rule, msg string) int {
	r, _ := ruleInfo(rule)
	return c.add(p, r.Severity, rule, msg, r.Fix)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads exactly one YAML document into c.root.
func (c *checker) parse(data []byte) (ok bool) {
	defer func() {
		// yaml.v3 has panicked on hostile input before; a spec file must
		// never take the process down.
		if r := recover(); r != nil {
			c.addRule(pos{1, 1}, RuleYAMLSyntax, fmt.Sprintf("the YAML parser failed: %v", r))
			ok = false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.addRule(pos{1, 1}, RuleSchema, "the file is empty; a spec needs at least id and name")
			return false
		}
		c.yamlError(err)
		return false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		c.addRule(pos{extra.Line, extra.Column}, RuleYAMLSyntax, "a second YAML document; a spec file holds one partner")
	case errors.Is(err, io.EOF):
	default:
		c.yamlError(err)
	}
	if len(doc.Content) == 0 {
		c.addRule(pos{1, 1}, RuleSchema, "the file is empty; a spec needs at least id and name")
		return false
	}
	c.doc, c.root = &doc, doc.Content[0]
	return true
}

// yamlError turns a yaml.v3 error into positioned findings. yaml.v3 reports
// only the line; the column is the first non-blank character of that line,
// or the offending ':' for "mapping values are not allowed".
func (c *checker) yamlError(err error) {
	m := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1 // yaml.v3 leaves out "line 1"
	if sm := yamlLineRE.FindStringSubmatch(err.Error()); sm != nil {
		line, _ = strconv.Atoi(sm[1])
		m = sm[2]
	}
	line = c.problemLine(line, m)
	col := 1
	if line-1 < len(c.src.lines) {
		l := c.src.lines[line-1]
		// Skip indentation and sequence dashes; a tab stays, as it is
		// often the offending character itself.
		for col-1 < len(l) && (l[col-1] == ' ' || l[col-1] == '-') {
			col++
		}
		if col-1 >= len(l) {
			col = 1
		}
		if strings.Contains(m, "mapping values are not allowed") {
			if i := strings.Index(string(l), ": "); i >= 0 {
				col = len([]rune(string(l)[:i])) + 1
			}
		}
	}
	c.add(pos{line, col}, diag.Error, RuleYAMLSyntax, m, "check the indentation and quoting on this line and the one above")
}

// problemLine finds the line a YAML error is really about. For parser
// errors yaml.v3 names the line where the enclosing collection starts (its
// context mark) instead of the offending one: a key dedented on line 45 of a
// list that starts on line 22 reads "line 21: did not find expected '-'
// indicator". The offending line is the last line of the shortest prefix of
// the file, from the reported line on, that already fails with the same
// message; the search parses O(log n) prefixes and only runs on an error.
// When the full text does not fail the same way (invalid UTF-8, an error in a
// later document), or the file is far bigger than any real spec, the
// reported line is kept.
func (c *checker) problemLine(line int, msg string) int {
	n := len(c.src.lines)
	if line < 1 || line >= n {
		return line
	}
	var b strings.Builder
	ends := make([]int, n+1) // ends[k]: length of the first k lines
	for i, l := range c.src.lines {
		b.WriteString(string(l))
		b.WriteByte('\n')
		ends[i+1] = b.Len()
		if b.Len() > maxSearchSize {
			return line
		}
	}
	text := b.String()
	fails := func(k int) bool { return prefixFails(text[:ends[k]], msg) }
	if !fails(n) {
		return line
	}
	lo, hi := line, n // fails(hi) holds; find the least such k in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// maxSearchSize bounds the text problemLine searches: real specs are a
// few KiB, and each step of the search parses a prefix again.
const maxSearchSize = 256 << 10

// prefixFails reports whether text fails to parse as YAML with message msg
// (the error text without its "yaml: line N: " prefix).
func prefixFails(text, msg string) (failed bool) {
	defer func() {
		// as in check: yaml.v3 has panicked on hostile input, and a prefix
		// is as hostile as the file
		if recover() != nil {
			failed = false
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return false
		}
		m := strings.TrimPrefix(err.Error(), "yaml: ")
		if sm := yamlLineRE.FindStringSubmatch(err.Error()); sm != nil {
			m = sm[2]
		}
		return m == msg
	}
}

// duplicateKeys reports mapping keys written twice: yaml.v3 keeps the last
// one silently when building a node tree.
func (c *checker) duplicateKeys(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, dup := seen[k.Value]; dup && k.Kind == yaml.ScalarNode {
				c.addRule(pos{k.Line, k.Column}, RuleDuplicateKey, fmt.Sprintf("key %q is already set at line %d", k.Value, first.Line))
			} else {
				seen[k.Value] = k
			}
		}
	}
	for _, ch := range n.Content {
		c.duplicateKeys(ch)
	}
}

// maxAliasNodes bounds alias expansion when the node tree is turned into
// plain values ("billion laughs").
const maxAliasNodes = 100000

// toValue converts a node tree into the values JSON Schema validates.
func toValue(n *yaml.Node, budget *int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errors.New("too many alias expansions")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toValue(n.Content[0], budget)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return toValue(n.Alias, budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := toValue(n.Content[i+1], budget)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, ch := range n.Content {
			v, err := toValue(ch, budget)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, nil
		}
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, nil
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, nil
		}
	}
	return n.Value, nil
}

// validateSchema checks the document against partner.schema.json and
// places each schema error on the YAML node it is about.
func (c *checker) validateSchema() {
	budget := maxAliasNodes
	v, err := toValue(c.root, &budget)
	if err != nil {
		c.addRule(pos{c.root.Line, c.root.Column}, RuleYAMLSyntax, err.Error())
		return
	}
	res, err := c.l.schema.Validate(gojsonschema.NewGoLoader(v))
	if err != nil {
		c.addRule(pos{c.root.Line, c.root.Column}, RuleSchema, fmt.Sprintf("cannot validate: %v", err))
		return
	}
	errs := res.Errors()
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field() < errs[j].Field() })
	for _, e := range errs {
		segs := strings.Split(e.Context().String("\x00"), "\x00")[1:] // drop "(root)"
		key, val := lookup(c.root, segs)
		at := val
		if at == nil {
			at = key
		}
		if at == nil {
			at = c.root
		}
		where := humanPath(segs)
		msg := e.Description()
		switch e.Type() {
		case "additional_property_not_allowed":
			prop := fmt.Sprint(e.Details()["property"])
			if k, _ := lookup(c.root, append(append([]string(nil), segs...), prop)); k != nil {
				at = k
			}
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
		c.add(pos{at.Line, at.Column}, diag.Error, RuleSchema, msg, "see schemas/partner.schema.json (`adgate schema`)")
	}
}

// lookup follows a path of mapping keys and sequence indexes and returns
// the last key node (nil for a sequence item) and the value node.
func lookup(n *yaml.Node, segs []string) (key, val *yaml.Node) {
	val = n
	for _, s := range segs {
		for val != nil && val.Kind == yaml.AliasNode {
			val = val.Alias
		}
		if val == nil {
			return nil, nil
		}
		switch val.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			key = nil
			for i := 0; i+1 < len(val.Content); i += 2 {
				if val.Content[i].Value == s {
					key, next = val.Content[i], val.Content[i+1]
				}
			}
			val = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(val.Content) {
				return nil, nil
			}
			key, val = nil, val.Content[i]
		default:
			return nil, nil
		}
	}
	return key, val
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

// offsetPos returns where code point off of scalar n's value stands.
func (c *checker) offsetPos(n *yaml.Node, off int) pos {
	ps, ok := c.posMemo[n]
	if !ok {
		ps = c.src.scalarPositions(n)
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
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	if name != id {
		c.addRule(c.fieldPos("id"), RuleFileNameMismatch, fmt.Sprintf("file %s declares id %q; it must be named %s.yaml", base, id, id))
	}
}
