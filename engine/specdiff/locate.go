package specdiff

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/adgate/adgate/engine/internal/yamlx"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// This file finds the spec line a change comes from, for annotations on
// the reviewed file: the template or parameter that differs between the
// versions, else the postback field that renders the changed part.

// pos returns the position of the field at segs (mapping keys and
// sequence indexes) in the spec: the key of a mapping entry, the item of
// a sequence, else the nearest node the path reaches.
func (l *loaded) pos(segs ...string) Pos {
	if l == nil || l.root == nil {
		return Pos{}
	}
	f := yamlx.Lookup(l.root, segs)
	n := f.Key
	if n == nil {
		n = f.Val
	}
	if n == nil {
		n = f.Nearest
	}
	if n == nil {
		return Pos{}
	}
	return Pos{Line: n.Line, Col: n.Column}
}

// index returns the index of the postback of key pb, or -1.
func (l *loaded) index(pb string) int {
	if l == nil {
		return -1
	}
	ref, ok := lookup(l.sel, pb)
	if !ok {
		return -1
	}
	return ref.Index
}

func (l *loaded) postbackPos(pb string) Pos {
	i := l.index(pb)
	if i < 0 {
		return l.pos("postbacks")
	}
	return l.pos("postbacks", strconv.Itoa(i))
}

// eventPos is the line listing event pb in its postback's events.
func (l *loaded) eventPos(pb string) Pos {
	i := l.index(pb)
	if i < 0 {
		return l.pos("postbacks")
	}
	for j, e := range l.partner.Postbacks[i].Events {
		if strings.EqualFold(e, pb) {
			return l.pos("postbacks", strconv.Itoa(i), "events", strconv.Itoa(j))
		}
	}
	return l.pos("postbacks", strconv.Itoa(i), "events")
}

// siblingPos is, in l, the events of the postback that listed pb in old.
func (l *loaded) siblingPos(old *loaded, pb string) Pos {
	ref, _ := lookup(old.sel, pb)
	for _, e := range old.partner.Postbacks[ref.Index].Events {
		if i := l.index(e); i >= 0 {
			return l.pos("postbacks", strconv.Itoa(i), "events")
		}
	}
	return l.pos("postbacks")
}

// fieldSeg is the postback field that renders a part of the request.
func fieldSeg(f FieldChange) []string {
	switch f.Field {
	case FieldMethod:
		return []string{"method"}
	case FieldHeader:
		return []string{"headers", f.Name}
	case FieldBody:
		return []string{"body"}
	}
	return []string{"url"}
}

// fieldText is the spec text of the postback field that renders a part.
func fieldText(pb *spec.Postback, f FieldChange) string {
	switch f.Field {
	case FieldMethod:
		return pb.MethodOrDefault()
	case FieldHeader:
		for k, v := range pb.Headers {
			if strings.EqualFold(k, f.Name) {
				return v
			}
		}
		return ""
	case FieldBody:
		return pb.ContentType + "\x00" + pb.Body
	}
	return pb.URL
}

// fieldPos is where in the new spec a changed part comes from: the
// postback's field when its template changed, else a changed parameter
// the postback uses, else the field.
func (c *comparer) fieldPos(pb string, f FieldChange, macros []render.Macro) Pos {
	hi, bi := c.head.index(pb), c.base.index(pb)
	if hi < 0 {
		return c.head.pos("postbacks")
	}
	hp := &c.head.partner.Postbacks[hi]
	field := func() Pos {
		segs := append([]string{"postbacks", strconv.Itoa(hi)}, fieldSeg(f)...)
		if f.Field == FieldHeader {
			for k := range hp.Headers {
				if strings.EqualFold(k, f.Name) {
					segs[len(segs)-1] = k
				}
			}
		}
		return c.head.pos(segs...)
	}
	if bi < 0 || fieldText(hp, f) != fieldText(&c.base.partner.Postbacks[bi], f) {
		return field()
	}
	newValue := ""
	if f.New != nil {
		newValue = *f.New
	}
	if p, ok := c.paramPos(macros, newValue); ok {
		return p
	}
	return field()
}

// paramPos is the line of a parameter that the postback uses (its
// explained macros) and that differs between the versions, preferring
// one whose value shows in value; false when none differs.
func (c *comparer) paramPos(macros []render.Macro, value string) (Pos, bool) {
	var first Pos
	found := false
	for _, m := range macros {
		hp, hj := param(c.head.partner, m.Name)
		if hp == nil {
			continue
		}
		bp, _ := param(c.base.partner, m.Name)
		if bp != nil && reflect.DeepEqual(*bp, *hp) {
			continue
		}
		at := c.head.pos("parameters", strconv.Itoa(hj))
		if bp != nil && bp.Template != hp.Template {
			at = c.head.pos("parameters", strconv.Itoa(hj), "template")
		}
		if value != "" && m.Value != "" && strings.Contains(value, m.Value) {
			return at, true
		}
		if !found {
			first, found = at, true
		}
	}
	return first, found
}

func param(p *spec.Partner, macro string) (*spec.Parameter, int) {
	for j := range p.Parameters {
		if p.Parameters[j].Macro == macro {
			return &p.Parameters[j], j
		}
	}
	return nil, -1
}

// paramOrPostback is the changed parameter the postback uses, else the
// postback.
func (c *comparer) paramOrPostback(pb string, macros []render.Macro) Pos {
	if p, ok := c.paramPos(macros, ""); ok {
		return p
	}
	return c.head.postbackPos(pb)
}
