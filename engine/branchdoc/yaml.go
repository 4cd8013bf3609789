package branchdoc

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/spec"
)

// SchemaComment is the first line of every partner YAML: it points editors
// at the JSON Schema.
const SchemaComment = "# yaml-language-server: $schema=../schemas/partner.schema.json"

// YAML renders the result as a partner spec file, with the importer's
// notes as comments next to what they are about.
func (r *Result) YAML(source string) ([]byte, error) {
	head := SchemaComment
	if source != "" {
		head += "\n# Imported from " + source + " by adgate import."
	}
	return marshalPartner(r.Partner, head, r.Notes)
}

// MarshalPartner renders a partner spec file without import notes.
func MarshalPartner(p *spec.Partner) ([]byte, error) {
	return marshalPartner(p, SchemaComment, nil)
}

func marshalPartner(p *spec.Partner, head string, notes []Note) ([]byte, error) {
	var body yaml.Node
	if err := body.Encode(p); err != nil {
		return nil, fmt.Errorf("encode partner %s: %w", p.ID, err)
	}
	styleStrings(&body)
	body.HeadComment = head
	for _, n := range notes {
		target := findNode(&body, n.Path)
		if target == nil {
			target = &body
		}
		target.HeadComment = joinComment(target.HeadComment, n.Text)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&body); err != nil {
		return nil, fmt.Errorf("write partner %s: %w", p.ID, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write partner %s: %w", p.ID, err)
	}
	return buf.Bytes(), nil
}

func joinComment(a, b string) string {
	// A comment cannot escape anything: control characters would make
	// the file invalid YAML.
	b = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\uFEFF' {
			return '\uFFFD'
		}
		return r
	}, b)
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// styleStrings writes multi-line strings as literal blocks, which read
// better than quoted strings full of \n.
func styleStrings(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(n.Value, "\n") && !strings.ContainsAny(n.Value, "\t\r") && n.Value == strings.TrimSpace(n.Value) {
		n.Style = yaml.LiteralStyle
	}
	for _, c := range n.Content {
		styleStrings(c)
	}
}

var pathPart = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?$`)

// findNode resolves a note path such as "postbacks[1].url" in a mapping.
func findNode(root *yaml.Node, path string) *yaml.Node {
	if path == "" {
		return nil
	}
	cur := root
	for _, part := range strings.Split(path, ".") {
		m := pathPart.FindStringSubmatch(part)
		if m == nil || cur.Kind != yaml.MappingNode {
			return nil
		}
		var key, val *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == m[1] {
				key, val = cur.Content[i], cur.Content[i+1]
			}
		}
		if val == nil {
			return nil
		}
		if m[2] == "" {
			// Comment the key line: "url:" rather than the value.
			if part == strings.Split(path, ".")[len(strings.Split(path, "."))-1] {
				return key
			}
			cur = val
			continue
		}
		idx, _ := strconv.Atoi(m[2])
		if val.Kind != yaml.SequenceNode || idx >= len(val.Content) {
			return nil
		}
		cur = val.Content[idx]
	}
	return cur
}
