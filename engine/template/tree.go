package template

import "strconv"

// Pos is a position in a template's text.
type Pos struct {
	Offset int // byte offset, from 0
	Line   int // 1-based
	Col    int // 1-based, in Unicode code points
}

func (p Pos) String() string { return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) }

func toPos(p position) Pos { return Pos{Offset: int(p.Off), Line: int(p.Line), Col: int(p.Col)} }

// Span is the extent of a node in the text: Start is its first character,
// Stop is just past its last.
type Span struct{ Start, Stop Pos }

// Pos returns the position of the node's first character.
func (s Span) Pos() Pos { return s.Start }

// End returns the position just past the node's last character.
func (s Span) End() Pos { return s.Stop }

// Node is an element of a parsed template (a *TextNode, *InterpNode,
// *IfNode, ...) or an expression (*Expr).
type Node interface {
	Pos() Pos
	End() Pos
}

// Tree is the syntax tree of a template, as written: the text is not yet
// white-space stripped and {macros} are part of the text.
type Tree struct {
	Name  string
	Nodes []Node
	// Warnings are the uses of constructs on Branch's blocklist that
	// adgate runs (Rule RuleBranchBlocked), in source order: the template
	// works here but Branch would refuse it.
	Warnings []*Error
}

// TextNode is literal template text.
type TextNode struct {
	Span
	Text string
}

// CommentNode is a <#-- ... --> comment; Text includes the delimiters.
type CommentNode struct {
	Span
	Text string
}

// InterpNode is an interpolation: ${X}, or #{X} when Hash is set.
type InterpNode struct {
	Span
	Hash bool
	X    *Expr
}

// IfNode is <#if>...</#if>: its #if, #elseif and #else arms in order.
type IfNode struct {
	Span
	Branches []*BranchNode
}

// BranchNode is one arm of an #if, from its tag to the next one. Cond is
// nil for #else (and where the condition did not parse).
type BranchNode struct {
	Span
	Cond *Expr
	Body []Node
}

// AssignNode is <#assign a = x b += y c++>.
type AssignNode struct {
	Span
	Sets []Assignment
}

// Assignment is one name of an AssignNode. X is nil for ++ and --.
type Assignment struct {
	Pos  Pos
	Name string
	Op   string // "=", "+=", "-=", "*=", "/=", "%=", "++", "--"
	X    *Expr
}

// CaptureNode is <#assign Name>...</#assign>.
type CaptureNode struct {
	Span
	Name string
	Body []Node
}

// UserNode is a call of one of Branch's user directives, <@loop ...>,
// <@json>, ...: Name is the directive's name. Body is nil for the
// self-closed form (<@break/>) and non-nil, maybe empty, otherwise.
type UserNode struct {
	Span
	Name   string
	Params []Param
	Body   []Node
}

// Param is a named parameter of a user directive.
type Param struct {
	Name string
	X    *Expr
}

// ListNode is <#list X as Var[, ValueVar]>Body[<#else>Else]</#list>.
// Var is empty when an ItemsNode inside Body names the loop variables;
// ValueVar is set when a hash is listed, Var then being the key. Else is
// nil without an #else part and non-nil, maybe empty, with one.
type ListNode struct {
	Span
	X             *Expr
	Var, ValueVar string
	Body, Else    []Node
}

// ItemsNode is <#items as Var[, ValueVar]>Body</#items>, the iteration
// of the ListNode it is in.
type ItemsNode struct {
	Span
	Var, ValueVar string
	Body          []Node
}

// SepNode is <#sep>Body, with or without </#sep>.
type SepNode struct {
	Span
	Body []Node
}

// BreakNode is <#break>, or <#continue> when Continue is set.
type BreakNode struct {
	Span
	Continue bool
}

// BadNode is a construct that did not parse, for which ParseTree reported
// an error: a tag, a ${...}, or a directive with the body it encloses.
// Name is the directive's ("#list", "@foo"), empty for a ${...}.
type BadNode struct {
	Span
	Name string
	Body []Node
}

// ExprKind is the kind of an expression.
type ExprKind uint8

// The kinds of expressions. Operands are in Expr.Args.
const (
	ExprLiteral ExprKind = iota // a string, number or boolean literal
	ExprString                  // a string literal with ${...} inside; Args are the interpolated expressions
	ExprName                    // a top-level variable; Name
	ExprDot                     // Args[0].Name
	ExprIndex                   // Args[0][Args[1]]
	ExprCall                    // Args[0](Args[1:]...)
	ExprBuiltin                 // Args[0]?Name or Args[0]?Name(Args[1:]...)
	ExprSprig                   // sprig.Name(Args...)
	ExprDefault                 // Args[0]! or Args[0]!Args[1]
	ExprExists                  // Args[0]??
	ExprParen                   // (Args[0])
	ExprUnary                   // Op Args[0]: "!", "-" or "+"
	ExprBinary                  // Args[0] Op Args[1]: "&&", "||", "==", "<", "lt", "+", "*", ...
	ExprSeq                     // [Args...]
	ExprHash                    // {Args[0]: Args[1], Args[2]: Args[3], ...}
)

var exprKindNames = [...]string{
	ExprLiteral: "literal", ExprString: "string", ExprName: "name", ExprDot: "dot", ExprIndex: "index",
	ExprCall: "call", ExprBuiltin: "builtin", ExprSprig: "sprig", ExprDefault: "default", ExprExists: "exists",
	ExprParen: "paren", ExprUnary: "unary", ExprBinary: "binary", ExprSeq: "sequence", ExprHash: "hash",
}

func (k ExprKind) String() string {
	if int(k) < len(exprKindNames) {
		return exprKindNames[k]
	}
	return "ExprKind(" + strconv.Itoa(int(k)) + ")"
}

// Expr is an expression: one node type for every kind, as the kinds
// differ only in which fields they use.
type Expr struct {
	Span
	Kind ExprKind
	Name string  // the name of an ExprName, ExprDot, ExprBuiltin or ExprSprig
	Op   string  // the operator of an ExprUnary or ExprBinary
	Args []*Expr // the operands, as the ExprKind constants say
	Text string  // the source text
}

// ErrorList is every error ParseTree found, in source order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return l[0].Error() + " (and " + strconv.Itoa(len(l)-1) + " more errors)"
}

// Unwrap returns the errors, for errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// ParseTree parses text into its syntax tree for tools (linters,
// editors). It does not stop at the first error: it reports every error
// it finds, as an ErrorList, and still returns the tree, in which each
// construct that did not parse is a BadNode. The rules are Parse's: a
// template ParseTree reports no error for is one Parse compiles.
func ParseTree(name, text string) (*Tree, error) {
	if len(text) > MaxTemplateBytes {
		return &Tree{Name: name}, ErrorList{{Name: name, Rule: RuleLimit, Msg: "template larger than " + strconv.Itoa(MaxTemplateBytes) + " bytes"}}
	}
	p := newParser(name, text, Options{})
	body, errs := p.parse()
	t := &Tree{Name: name, Nodes: convertBody(text, body), Warnings: p.warns}
	if len(errs) > 0 {
		return t, ErrorList(errs)
	}
	return t, nil
}

func spanOf(s *stmt) Span { return Span{toPos(s.begin), toPos(s.stop)} }

func convertBody(src string, list []*stmt) []Node {
	if list == nil {
		return nil
	}
	out := make([]Node, 0, len(list))
	for _, s := range list {
		out = append(out, convertStmt(src, s))
	}
	return out
}

func convertStmt(src string, s *stmt) Node {
	sp := spanOf(s)
	switch s.kind {
	case sText:
		return &TextNode{Span: sp, Text: s.text}
	case sComment:
		return &CommentNode{Span: sp, Text: src[sp.Start.Offset:sp.Stop.Offset]}
	case sInterp, sHashInterp:
		return &InterpNode{Span: sp, Hash: s.kind == sHashInterp, X: convertExpr(s.x)}
	case sIf:
		n := &IfNode{Span: sp}
		for _, b := range s.body {
			n.Branches = append(n.Branches, &BranchNode{Span: spanOf(b), Cond: convertExpr(b.x), Body: convertBody(src, b.body)})
		}
		return n
	case sAssign:
		n := &AssignNode{Span: sp}
		for _, a := range s.sets {
			n.Sets = append(n.Sets, Assignment{Pos: toPos(a.pos), Name: a.name, Op: a.op, X: convertExpr(a.x)})
		}
		return n
	case sCapture:
		return &CaptureNode{Span: sp, Name: s.name, Body: convertBody(src, s.body)}
	case sList:
		return &ListNode{Span: sp, X: convertExpr(s.x), Var: s.name, ValueVar: s.name2, Body: convertBody(src, s.body)}
	case sListElse:
		n := convertStmt(src, s.body[0]).(*ListNode)
		n.Span = sp
		n.Else = convertBody(src, s.body[1].body)
		if n.Else == nil {
			n.Else = []Node{}
		}
		return n
	case sItems:
		return &ItemsNode{Span: sp, Var: s.name, ValueVar: s.name2, Body: convertBody(src, s.body)}
	case sSep:
		return &SepNode{Span: sp, Body: convertBody(src, s.body)}
	case sBreak, sContinue:
		return &BreakNode{Span: sp, Continue: s.kind == sContinue}
	case sUser:
		n := &UserNode{Span: sp, Name: s.name, Body: convertBody(src, s.body)}
		for _, pr := range s.parms {
			n.Params = append(n.Params, Param{Name: pr.name, X: convertExpr(pr.x)})
		}
		return n
	}
	return &BadNode{Span: sp, Name: s.name, Body: convertBody(src, s.body)}
}

// convertExpr turns a compiled expression into its public form.
func convertExpr(x expr) *Expr {
	if x == nil {
		return nil
	}
	p := x.pos()
	e := &Expr{Span: Span{toPos(p), toPos(advancePos(p, x.source()))}, Text: x.source()}
	args := func(xs ...expr) []*Expr {
		out := make([]*Expr, 0, len(xs))
		for _, a := range xs {
			if a != nil {
				out = append(out, convertExpr(a))
			}
		}
		return out
	}
	switch x := x.(type) {
	case *litExpr:
		e.Kind = ExprLiteral
	case *strInterpExpr:
		e.Kind = ExprString
		for _, part := range x.parts {
			if ip, ok := part.(*interpPart); ok {
				e.Args = append(e.Args, convertExpr(ip.x))
			}
		}
	case *identExpr:
		e.Kind, e.Name = ExprName, x.name
	case *dotExpr:
		e.Kind, e.Name, e.Args = ExprDot, x.name, args(x.x)
	case *indexExpr:
		e.Kind, e.Args = ExprIndex, args(x.x, x.k)
	case *callExpr:
		e.Kind, e.Args = ExprCall, args(append([]expr{x.x}, x.args...)...)
	case *builtinExpr:
		e.Kind, e.Name, e.Args = ExprBuiltin, x.name, args(append([]expr{x.x}, x.args...)...)
	case *loopBuiltinExpr:
		v := &Expr{Span: Span{toPos(p), toPos(advancePos(p, x.v))}, Kind: ExprName, Name: x.v, Text: x.v}
		e.Kind, e.Name, e.Args = ExprBuiltin, x.name, append([]*Expr{v}, args(x.args...)...)
	case *sprigExpr:
		e.Kind, e.Name, e.Args = ExprSprig, x.name, args(x.args...)
	case *defaultExpr:
		e.Kind, e.Args = ExprDefault, args(x.x, x.rhs)
	case *existsExpr:
		e.Kind, e.Args = ExprExists, args(x.x)
	case *parenExpr:
		e.Kind, e.Args = ExprParen, args(x.x)
	case *notExpr:
		e.Kind, e.Op, e.Args = ExprUnary, "!", args(x.x)
	case *negExpr:
		e.Kind, e.Op, e.Args = ExprUnary, "+", args(x.x)
		if x.neg {
			e.Op = "-"
		}
	case *logicExpr:
		e.Kind, e.Op, e.Args = ExprBinary, "&&", args(x.l, x.r)
		if x.or {
			e.Op = "||"
		}
	case *cmpExpr:
		e.Kind, e.Op, e.Args = ExprBinary, x.opTok, args(x.l, x.r)
	case *arithExpr:
		e.Kind, e.Op, e.Args = ExprBinary, string(rune(x.op)), args(x.l, x.r)
	case *seqLitExpr:
		e.Kind, e.Args = ExprSeq, args(x.items...)
	case *hashLitExpr:
		e.Kind = ExprHash
		for i := range x.keys {
			e.Args = append(e.Args, convertExpr(x.keys[i]), convertExpr(x.vals[i]))
		}
	}
	return e
}

// Walk calls fn for n and, while fn returns true, for each node inside
// it, depth first in source order: the nodes of bodies and branches, and
// the expressions of interpolations, conditions, assignments and
// parameters.
func Walk(n Node, fn func(Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	walkExpr := func(x *Expr) {
		if x != nil {
			Walk(x, fn)
		}
	}
	walkList := func(list []Node) {
		for _, c := range list {
			Walk(c, fn)
		}
	}
	switch n := n.(type) {
	case *InterpNode:
		walkExpr(n.X)
	case *IfNode:
		for _, b := range n.Branches {
			Walk(b, fn)
		}
	case *BranchNode:
		walkExpr(n.Cond)
		walkList(n.Body)
	case *AssignNode:
		for _, a := range n.Sets {
			walkExpr(a.X)
		}
	case *CaptureNode:
		walkList(n.Body)
	case *UserNode:
		for _, p := range n.Params {
			walkExpr(p.X)
		}
		walkList(n.Body)
	case *ListNode:
		walkExpr(n.X)
		walkList(n.Body)
		walkList(n.Else)
	case *ItemsNode:
		walkList(n.Body)
	case *SepNode:
		walkList(n.Body)
	case *BadNode:
		walkList(n.Body)
	case *Expr:
		for _, a := range n.Args {
			walkExpr(a)
		}
	}
}

// Walk walks every top-level node of t with Walk.
func (t *Tree) Walk(fn func(Node) bool) {
	for _, n := range t.Nodes {
		Walk(n, fn)
	}
}
