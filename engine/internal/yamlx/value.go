package yamlx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// NodeError is a conversion problem at a node.
type NodeError struct {
	Node *yaml.Node
	Msg  string
}

func (e *NodeError) Error() string { return e.Msg }

func nodeErr(n *yaml.Node, format string, args ...any) error {
	return &NodeError{n, fmt.Sprintf(format, args...)}
}

// ErrBudget is returned when a conversion would pass the budget. Parse
// refuses such documents first; this guards nodes a caller changed or
// built itself.
var ErrBudget = errors.New("the value is too large once aliases and merge keys are expanded")

// maxDepth bounds nesting, aliases included: no real file nests deeper
// than a dozen levels.
const maxDepth = 64

// JSONOptions adjusts JSON.
type JSONOptions struct {
	// StrictNumbers refuses numbers JSON cannot write (.inf, .nan) with a
	// NodeError; otherwise they are written as the strings they are in
	// the file, so a schema check reports them as a type mismatch.
	StrictNumbers bool
}

// JSON writes n as JSON text: keys in document order, merge keys (<<:
// *base) applied, aliases expanded, numbers copied as written so an 18-19
// digit id stays exact. It stops at budget b (nodes visited and bytes
// written). This text is also what a JSON Schema check of the document
// sees (SchemaResult).
func JSON(n *yaml.Node, b Budget, opt JSONOptions) ([]byte, error) {
	b = b.orDefault()
	c := &converter{nodes: b.Nodes, maxBytes: int(min(b.Bytes, math.MaxInt32)), opt: opt}
	if err := c.write(n, 0); err != nil {
		return nil, err
	}
	return c.b.Bytes(), nil
}

type converter struct {
	b        bytes.Buffer
	nodes    int64
	maxBytes int
	opt      JSONOptions
}

func (c *converter) step() error {
	c.nodes--
	if c.nodes < 0 || c.b.Len() > c.maxBytes {
		return ErrBudget
	}
	return nil
}

func (c *converter) write(n *yaml.Node, depth int) error {
	if depth > maxDepth {
		return nodeErr(n, "the value is nested too deeply (more than %d levels)", maxDepth)
	}
	// Counted as Parse measures: an alias stands for its target's nodes,
	// and a key is a node.
	if n.Kind != yaml.AliasNode {
		if err := c.step(); err != nil {
			return err
		}
	}
	b := &c.b
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nodeErr(n, "empty document")
		}
		return c.write(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nodeErr(n, "unknown alias")
		}
		return c.write(n.Alias, depth+1)
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := c.write(item, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case yaml.MappingNode:
		keys, vals, err := c.mergedPairs(n, depth)
		if err != nil {
			return err
		}
		b.WriteByte('{')
		for i := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := c.step(); err != nil {
				return err
			}
			k, _ := json.Marshal(keys[i])
			b.Write(k)
			b.WriteByte(':')
			if err := c.write(vals[i], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nodeErr(n, "unsupported YAML node")
}

// mergedPairs returns a mapping's keys and values with merge keys
// applied: explicit keys win over merged ones, and the first merged
// mapping wins over later ones, as YAML's merge key type says.
func (c *converter) mergedPairs(n *yaml.Node, depth int) ([]string, []*yaml.Node, error) {
	var keys []string
	var vals []*yaml.Node
	index := map[string]int{}
	set := func(k string, v *yaml.Node, override bool) {
		if i, ok := index[k]; ok {
			if override {
				vals[i] = v
			}
			return
		}
		index[k] = len(keys)
		keys = append(keys, k)
		vals = append(vals, v)
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, nil, nodeErr(k, "a key must be a plain value")
		}
		if k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		set(k.Value, v, true)
	}
	for _, m := range merges {
		m = Deref(m)
		var srcs []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			srcs = []*yaml.Node{m}
		case yaml.SequenceNode:
			srcs = m.Content
		default:
			return nil, nil, nodeErr(m, "<< must merge a mapping or a list of mappings")
		}
		for _, src := range srcs {
			src = Deref(src)
			if src.Kind != yaml.MappingNode {
				return nil, nil, nodeErr(src, "<< must merge a mapping")
			}
			if depth > maxDepth {
				return nil, nil, nodeErr(src, "merge keys nested too deeply")
			}
			if err := c.step(); err != nil {
				return nil, nil, err
			}
			ks, vs, err := c.mergedPairs(src, depth+1)
			if err != nil {
				return nil, nil, err
			}
			for i := range ks {
				set(ks[i], vs[i], false)
			}
		}
	}
	return keys, vals, nil
}

var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func (c *converter) scalar(n *yaml.Node) error {
	b := &c.b
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
		return nil
	case "!!bool":
		if v, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			b.WriteString(strconv.FormatBool(v))
			return nil
		}
		if c.opt.StrictNumbers {
			return nodeErr(n, "not a boolean: %s", n.Value)
		}
	case "!!int", "!!float":
		txt := strings.ReplaceAll(n.Value, "_", "")
		if jsonNumberRE.MatchString(txt) {
			b.WriteString(txt)
			return nil
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			b.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
			return nil
		}
		if c.opt.StrictNumbers {
			return nodeErr(n, "number %s cannot be written in JSON; quote it to send a string", n.Value)
		}
	}
	s, _ := json.Marshal(n.Value)
	b.Write(s)
	return nil
}
