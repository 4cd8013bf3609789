package template

// A macro is Branch's {…} placeholder: {name} in literal template text.
// This file is the one definition of its syntax; the spec lint, the URL
// checks, the renderer, the importer and the partner schema's macro
// pattern all follow it (schemas/partner.schema.json writes it as
// ^[A-Za-z0-9_~$+.-]+(\[[A-Za-z0-9_~$+.-]+\][A-Za-z0-9_~$+.-]*)*$).
//
// A name is a run of name characters (letters, digits and _ ~ $ + . -),
// optionally followed by subscripts: Branch writes device-id macros as
// {DeviceIds[IFA]} and {DeviceIds[AID]}. A subscript is '[', one or more
// name characters, ']', and the name may go on after it. Brackets do not
// nest and are never empty, so a stray '[' or ']' is not part of a name.

// macroNameByte reports whether c may stand in a macro name outside a
// subscript's brackets.
func macroNameByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '_', '~', '$', '+', '.', '-':
		return true
	}
	return false
}

// MacroNamePrefix returns the length in bytes of the longest prefix of s
// that is a macro name, 0 when s does not start with one. The importer
// uses it to read a macro whose closing brace a doc lost ({idfa).
func MacroNamePrefix(s string) int {
	i := 0
	for i < len(s) && macroNameByte(s[i]) {
		i++
	}
	if i == 0 {
		return 0
	}
	for i < len(s) && s[i] == '[' {
		j := i + 1
		for j < len(s) && macroNameByte(s[j]) {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != ']' {
			break
		}
		i = j + 1
		for i < len(s) && macroNameByte(s[i]) {
			i++
		}
	}
	return i
}

// IsMacroName reports whether name (without braces) is a macro name.
func IsMacroName(name string) bool {
	return name != "" && MacroNamePrefix(name) == len(name)
}

// MacroIndexes returns, for every {name} in text, the byte offsets of the
// whole reference and of the name inside it: {start, end, nameStart,
// nameEnd}, left to right and not overlapping. Whether a name is a
// declared parameter is the caller's question.
func MacroIndexes(text string) [][]int {
	var out [][]int
	for i := 0; i < len(text); i++ {
		if text[i] != '{' {
			continue
		}
		if end, ok := macroAt(text, i); ok {
			out = append(out, []int{i, end, i + 1, end - 1})
			i = end - 1
		}
	}
	return out
}

// macroAt reports whether a macro reference starts at text[i] (a '{'),
// and the offset just past its closing brace.
func macroAt(text string, i int) (end int, ok bool) {
	n := MacroNamePrefix(text[i+1:])
	j := i + 1 + n
	if n == 0 || j >= len(text) || text[j] != '}' {
		return 0, false
	}
	return j + 1, true
}
