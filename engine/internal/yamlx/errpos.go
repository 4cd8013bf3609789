package yamlx

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
)

// Lines splits text by line as yaml.v3 counts lines, so a line:col from a
// node indexes it directly.
func Lines(b []byte) [][]rune {
	// diag.Source owns where YAML lines break, so positions here, in the
	// lint and under a snippet's caret all agree.
	src := diag.NewSource(b)
	out := make([][]rune, src.Lines())
	for i := range out {
		line := src.Line(i + 1)
		if !utf8.Valid(line) {
			line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
		}
		out[i] = bytes.Runes(line)
	}
	return out
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// splitError returns the line yaml.v3 reports (it leaves out "line 1")
// and the message without its prefix.
func splitError(err error) (int, string) {
	if sm := yamlLineRE.FindStringSubmatch(err.Error()); sm != nil {
		n, _ := strconv.Atoi(sm[1])
		return n, sm[2]
	}
	return 1, strings.TrimPrefix(err.Error(), "yaml: ")
}

// unquoted matches what YAML reads as the start of a mapping where the
// author meant text: an ${env:NAME} reference or a {macro}.
var unquoted = regexp.MustCompile(`\$\{[^}\s]*\}?|\{[A-Za-z_][A-Za-z0-9_.:]*\}`)

// syntaxError turns a yaml.v3 parse error into a positioned diagnostic.
// yaml.v3 reports only a line, and for many errors the line where the
// enclosing collection starts; the column is where the problem stands.
func (d *Doc) syntaxError(err error, rule string) diag.Diagnostic {
	line, msg := splitError(err)
	line = d.problemLine(line, msg)
	col, hint := 1, "check the indentation and quoting on this line and the one above"
	if line-1 < len(d.Lines) {
		l := d.Lines[line-1]
		// Skip indentation and sequence dashes; a tab stays, as it is
		// often the offending character itself.
		for col-1 < len(l) && (l[col-1] == ' ' || l[col-1] == '-') {
			col++
		}
		if col-1 >= len(l) {
			col = 1
		}
		switch {
		case strings.Contains(msg, "mapping values are not allowed"):
			if i := strings.Index(string(l), ": "); i >= 0 {
				col = len([]rune(string(l)[:i])) + 1
			}
		case strings.Contains(msg, "found character that cannot start any token") && col-1 < len(l) && l[col-1] == '\t':
			hint = "indent with spaces; YAML does not allow tabs there"
		}
		if c, text, ok := unquotedValue(l); ok && strings.Contains(msg, "did not find expected") {
			col = c
			hint = "quote the value: write \"" + text + "\"; unquoted, YAML reads { } as a mapping"
		}
	}
	return diag.Diagnostic{File: d.File, Range: diag.Point(line, col), Severity: diag.Error, Rule: rule, Message: msg, Hint: hint}
}

// unquotedValue finds an ${env:...} or {macro} outside quotes on a line
// that failed to parse, and returns its column and the text to quote.
func unquotedValue(l []rune) (int, string, bool) {
	s := string(l)
	if i := strings.Index(s, "#"); i >= 0 && (i == 0 || s[i-1] == ' ') {
		s = s[:i]
	}
	for _, m := range unquoted.FindAllStringIndex(s, -1) {
		if quotedAt(s, m[0]) || !valueStart(s[:m[0]]) {
			continue
		}
		// The value runs to the next flow separator.
		end := m[1]
		for end < len(s) && !strings.ContainsRune(",]}", rune(s[end])) {
			end++
		}
		if strings.HasPrefix(s[m[0]:], "{") && end == m[1] {
			continue // a flow mapping {a} that parsed; not this error
		}
		return utf8.RuneCountInString(s[:m[0]]) + 1, strings.TrimSpace(s[m[0]:end]), true
	}
	return 0, "", false
}

// valueStart reports whether a value starts after text: at the line's
// start or after a flow or block indicator. Inside a plain value, as in
// url: https://x.test/?a={a}, braces are text and need no quotes.
func valueStart(before string) bool {
	t := strings.TrimRight(before, " \t")
	return t == "" || strings.ContainsRune("[{,:-", rune(t[len(t)-1]))
}

// quotedAt reports whether byte i of s stands inside a quoted string.
func quotedAt(s string, i int) bool {
	var q byte
	for j := 0; j < i; j++ {
		switch {
		case q == 0 && (s[j] == '"' || s[j] == '\''):
			q = s[j]
		case q != 0 && s[j] == q:
			q = 0
		case q == '"' && s[j] == '\\':
			j++
		}
	}
	return q != 0
}

// problemLine finds the line a YAML error is really about. For parser
// errors yaml.v3 names the line where the enclosing collection starts (its
// context mark) instead of the offending one: a key dedented on line 45 of a
// list that starts on line 22 reads "line 21: did not find expected '-'
// indicator". The offending line is the last line of the shortest prefix of
// the file, from the reported line on, that already fails with the same
// message; the search parses O(log n) prefixes and only runs on an error.
// When the full text does not fail the same way (invalid UTF-8, an error in a
// later document), or the file is far bigger than any real one, the
// reported line is kept.
func (d *Doc) problemLine(line int, msg string) int {
	n := len(d.Lines)
	if line < 1 || line >= n {
		return line
	}
	var b strings.Builder
	ends := make([]int, n+1) // ends[k]: length of the first k lines
	for i, l := range d.Lines {
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

// maxSearchSize bounds the text problemLine searches: real files are a
// few KiB, and each step of the search parses a prefix again.
const maxSearchSize = 256 << 10

// prefixFails reports whether text fails to parse as YAML with message msg
// (the error text without its "yaml: line N: " prefix).
func prefixFails(text, msg string) (failed bool) {
	defer func() {
		// as in Parse: yaml.v3 has panicked on hostile input, and a
		// prefix is as hostile as the file
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
		_, m := splitError(err)
		return m == msg
	}
}

var typeErrorLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// DecodeError splits an error of yaml.v3's Node.Decode into the line of
// its first problem (0 if none) and a message without the prefix.
func DecodeError(err error) (int, string) {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		if sm := typeErrorLineRE.FindStringSubmatch(te.Errors[0]); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			return n, sm[2]
		}
		return 0, te.Errors[0]
	}
	line, msg := splitError(err)
	if !yamlLineRE.MatchString(err.Error()) {
		line = 0
	}
	return line, msg
}
