// Package template is a FreeMarker 2.3.31-compatible template engine for
// the dialect Branch uses in partner postback templates: interpolations,
// conditionals, assignments, the common built-ins, Branch's own user
// directives (<@loop>, <@json>, ...) and Sprig functions (sprig.NAME(...)).
//
// # Rendering
//
// Parse compiles a template once; Template.Execute and
// Template.ExecuteString run it many times, concurrently, against a data
// model. The data model is an immutable Value: build one with String,
// Int, Number, Bool, Seq and NewHash, or decode a JSON event with
// ParseJSON (or ParseJSONSelected, which builds only the paths a
// JSONSelection names, for templates known to read nothing else); read
// one with Get, Lookup and AsString. Semantics follow FreeMarker
// configured with number_format
// "computer", boolean_format "c", locale en_US, time zone UTC and
// URL-escaping charset UTF-8; undefined values are errors. The README's
// template language section is the reference.
//
// Execution is sandboxed: a template reaches only its data model, and
// ExecOptions bound it in steps (work charged by the
// size of what it touches), output size, number size, regex size and
// wall-clock time. Constructs that reach outside the template or
// evaluate text as code (<#include>, <#import>, ?eval, ?interpret, ...)
// are refused by Parse. <#list> and its family (<#items>, <#sep>,
// <#else>, <#break>, <#continue>, x?index, ...) run with FreeMarker's
// semantics although Branch's blocklist names <#list>: ParseTree warns
// about it (RuleBranchBlocked) for templates meant to go back to Branch.
//
// # Errors
//
// Errors are *Error values with the template's name, a line and column,
// and a stable rule id (RuleSyntax, RuleBlocked, RuleEval, RuleLimit) for
// diagnostics.
//
// # Tools
//
// ParseTree is for tools that read templates rather than run them
// (linters, editors): it returns the syntax tree as written, a Span with
// byte offset, line and column on every node and expression, and does not
// stop at the first error: it reports each one once, as an ErrorList, and
// keeps what did not parse as a BadNode. Walk visits a tree. ParseTree and
// Parse are one parser, so they accept the same templates.
package template

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rule ids of template errors, stable for diagnostics.
const (
	RuleSyntax  = "template-syntax"  // not well formed
	RuleBlocked = "template-blocked" // a construct adgate refuses (<#include>, ?eval, ...)
	RuleEval    = "template-eval"    // a failure while executing
	RuleLimit   = "template-limit"   // a sandbox bound was hit
	// RuleBranchBlocked is a warning, not an error: a construct on
	// Branch's blocklist that adgate runs (<#list>), which Branch would
	// refuse in a template pasted back into it. ParseTree reports it in
	// Tree.Warnings; Parse accepts the template.
	RuleBranchBlocked = "branch-blocked"
)

// Error is a parse or execution error at a position of a template. Line
// and Col are 1-based (Col counts Unicode code points); zero when unknown.
// Offset is the byte offset of that position in the text, set on parse
// errors.
type Error struct {
	Name   string // template name given to Parse
	Line   int
	Col    int
	Offset int
	Rule   string
	Msg    string

	undef bool // a missing value, which a parenthesised ! or ?? operand swallows
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Name != "" {
		b.WriteString(e.Name)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Col)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Options configure Parse.
type Options struct {
	// IsMacro reports whether {name} in template text (outside ${...} and
	// tags) is a macro: a declared parameter name. Nil means no macros. A
	// macro becomes a node whose value ExecOptions.Macro writes.
	IsMacro func(name string) bool
}

// Template is a compiled template. It is immutable and safe for
// concurrent use by several goroutines.
type Template struct {
	name string
	root []*stmt
	refs []string
	// sizeHint presizes the output: twice the static text, plus room for
	// values.
	sizeHint int
	// npaths is the number of distinct variable paths (dotExpr.slot),
	// and pathsOf the slots of the paths starting at each variable
	npaths  int
	pathsOf map[string][]int32
	// execs recycles execution states (variables, loop frames) between
	// executions of this template.
	execs sync.Pool
}

// Name returns the name given to Parse.
func (t *Template) Name() string { return t.name }

// Refs returns the distinct top-level variable names the template reads
// (for lint), in order of first use. Names bound by <#assign> or <@loop>
// are included when they are also read before being bound, and loop
// variables of <#list> always: a null item reads the name from the data
// model.
func (t *Template) Refs() []string { return t.refs }

// Default sandbox bounds.
const (
	DefaultMaxOutput = 64 << 10
	DefaultMaxSteps  = 100_000
	// DefaultMaxDuration is far beyond any real template: the slowest
	// render of a partners/ postback (all its templates, on the events of
	// partners/events, with the fast paths off) took 0.35 to 0.75 ms on
	// a loaded two-core machine.
	DefaultMaxDuration = 250 * time.Millisecond
)

// ExecOptions configure one execution.
type ExecOptions struct {
	// Macro writes the value of macro {name} (already escaped as the
	// output context needs). Nil: a macro node writes nothing.
	Macro func(w *strings.Builder, name string) error
	// MaxOutput bounds the output in bytes; 0 means DefaultMaxOutput.
	MaxOutput int
	// MaxSteps bounds evaluation work (nodes evaluated, loop iterations,
	// built-in calls, and work that grows with the size of what it
	// touches: text scanned or built, digits of arithmetic, regex match
	// states); 0 means DefaultMaxSteps.
	MaxSteps int
	// MaxDuration bounds the wall-clock time of the execution: past it
	// the execution stops with a RuleLimit error at the construct then
	// running. 0 means DefaultMaxDuration; negative means no deadline
	// (the step bound still applies).
	MaxDuration time.Duration
	// Clock, if set, is the deadline's clock, shared by the executions
	// that use it (the templates of one render) so that MaxDuration bounds
	// them together. Nil: each execution has its own.
	Clock *Clock
}

// Clock is a deadline clock several executions share. It starts when the
// first of them has run long enough to look at it (a few hundred
// microseconds of work), so a short render never reads the time. The
// zero Clock is ready; a Clock must not be used by two executions at once.
type Clock struct {
	start time.Time
}

// StartedAt returns a Clock that started at t.
func StartedAt(t time.Time) *Clock { return &Clock{start: t} }

// MaxTemplateBytes bounds the size of a template Parse accepts.
const MaxTemplateBytes = 1 << 20

// Parse compiles a template. The error is an *Error: a syntax error, or a
// construct Branch blocks (Rule RuleBlocked).
func Parse(name, text string, opt Options) (*Template, error) {
	if len(text) > MaxTemplateBytes {
		return nil, &Error{Name: name, Rule: RuleLimit, Msg: "template larger than " + strconv.Itoa(MaxTemplateBytes) + " bytes"}
	}
	p := newParser(name, text, opt)
	root, err := p.parseTemplate()
	if err != nil {
		return nil, err
	}
	return &Template{name: name, root: root, refs: p.refs, sizeHint: 2*staticLen(root) + 64, npaths: len(p.paths), pathsOf: pathsByVar(p.paths)}, nil
}

// Execute runs the template against root and writes the output to w. The
// output is written only when execution succeeds. The error is an *Error
// with the position of the failing node, the error ExecOptions.Macro
// returned, or w's write error.
func (t *Template) Execute(w io.Writer, root Value, opt *ExecOptions) error {
	s, err := t.ExecuteString(root, opt)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, s)
	return err
}

// ExecuteString runs the template against root and returns its output.
func (t *Template) ExecuteString(root Value, opt *ExecOptions) (string, error) {
	e := t.newExec(root, opt)
	err := e.run()
	out := e.out.take()
	e.release()
	if err != nil {
		return "", err
	}
	return out, nil
}

func staticLen(list []*stmt) int {
	n := 0
	for _, s := range list {
		n += len(s.text)
		n += staticLen(s.body)
	}
	return n
}
