package template

import (
	"encoding/binary"
	"strconv"
	"unsafe"
)

// execUser runs one of Branch's user directives, as
// fmoracle/src/BranchDirectives.java defines them. FreeMarker evaluates
// every parameter before calling a directive, a missing value being passed
// as null, so parameters are evaluated here the same way.
func (e *exec) execUser(s *stmt) error {
	// FreeMarker finds a directive by variable lookup, so an assigned or
	// data-model variable of the same name hides it.
	if _, ok := e.loopVar(s.name); ok {
		return e.errf(s.begin, "<@"+s.name+">: the loop variable "+s.name+" hides Branch's directive of that name; rename the loop variable")
	}
	if v, ok := e.lookupVar(s.name); (ok && v.kind != KindMissing) || e.rootHides(s, s.ukind) {
		return e.errf(s.begin, "<@"+s.name+">: the variable "+s.name+" hides Branch's directive of that name; rename the variable")
	}
	var data, val Value
	var hasVal bool
	for _, p := range s.parms {
		v, err := p.x.eval(e)
		if err != nil {
			return err
		}
		switch p.name {
		case "data":
			data = v
		case "val":
			val, hasVal = v, true
		}
	}
	hasBody := s.body != nil
	switch s.ukind {
	case uLoop:
		return e.execLoop(s, data, val, hasVal)
	case uBreak:
		if len(e.loops) == 0 {
			return e.errf(s.begin, "<@break/> used outside of <@loop>")
		}
		return errBreak
	case uSep:
		if hasBody && len(e.loops) > 0 && e.loops[len(e.loops)-1].hasNext {
			return e.execList(s.body)
		}
		return nil
	case uJSON, uURLEncode:
		// the body is rendered in place, moved to scratch and replaced
		// by its encoding
		start := e.out.Len()
		if hasBody {
			var err error
			if start, err = e.inPlace(s.body); err != nil {
				return err
			}
		}
		n := e.out.Len() - start
		if start-e.outBase+n*3+2 > e.maxOut {
			e.out.b = e.out.b[:start]
			return e.outputErr(s.begin)
		}
		e.scratch = append(e.scratch[:0], e.out.b[start:]...)
		body := unsafe.String(unsafe.SliceData(e.scratch), n)
		e.out.b = e.out.b[:start]
		if s.ukind == uJSON {
			writeJSONQuoted(&e.out, body)
		} else {
			e.out.b = appendFormURLEncoded(e.out.b, body)
		}
		return nil
	case uJSONMap:
		start := e.out.Len()
		if err := e.toJSON(s, &e.out, data, 0, start); err != nil {
			return err
		}
		return nil
	}
	return nil
}

func (e *exec) execLoop(s *stmt, data, val Value, hasVal bool) error {
	if !hasVal || val.kind == KindMissing {
		return e.errf(s.begin, "<@loop>: missing required parameter \"val\"")
	}
	if val.kind != KindString {
		return e.errf(s.begin, "<@loop>: parameter \"val\" must be a string")
	}
	if data.kind == KindMissing || s.body == nil {
		return nil
	}
	if data.kind != KindSeq && !data.isMultiEmpty() {
		return e.errf(s.begin, "<@loop>: \"data\" must be a sequence, but it is "+article(data))
	}
	name := val.s
	saved, had := e.lookupVar(name)
	e.loops = append(e.loops, loopFrame{})
	var err error
	n := data.Len()
	for i := 0; i < n; i++ {
		if err = e.step(s.begin); err != nil {
			break
		}
		e.setVar(name, data.c.vals[i])
		e.loops[len(e.loops)-1].hasNext = i+1 < n
		if err = e.execList(s.body); err != nil {
			break
		}
	}
	if err == errBreak {
		err = nil
	}
	e.loops = e.loops[:len(e.loops)-1]
	if had {
		e.setVar(name, saved)
	} else {
		e.removeVar(name)
	}
	return err
}

func (e *exec) removeVar(name string) {
	e.forget(name)
	for i := range e.vars {
		if e.vars[i].name == name {
			e.vars = append(e.vars[:i], e.vars[i+1:]...)
			return
		}
	}
}

// writeJSONQuoted writes s as a JSON string the way Jackson does.
func writeJSONQuoted(sb *outBuf, s string) {
	if plainJSON(s, JSONJackson) == len(s) {
		// the usual value: one append, no escaper
		sb.b = append(append(append(sb.b, '"'), s...), '"')
		return
	}
	sb.WriteByte('"')
	writeJSON(sb, s, JSONJackson)
	sb.WriteByte('"')
}

// formEncoded is java.net.URLEncoder's form of each byte, as
// appendFormURLEncoded stores it: in the low 32 bits, up to three bytes
// of text in memory order (NativeEndian, so that one uint32 store writes
// them in order on any machine), and their count above. Letters, digits
// and . - * _ stay as they are, ' ' becomes '+', every other byte %XX.
var formEncoded = func() (t [256]uint64) {
	for c := 0; c < 256; c++ {
		b := [4]byte{byte(c)}
		n := uint64(1)
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '*' || c == '_':
		case c == ' ':
			b[0] = '+'
		default:
			b, n = [4]byte{'%', upperHex[c>>4], upperHex[c&15]}, 3
		}
		t[c] = uint64(binary.NativeEndian.Uint32(b[:])) | n<<32
	}
	return t
}()

// appendFormURLEncoded is java.net.URLEncoder.encode(s, UTF-8):
// application/x-www-form-urlencoded, space as '+', only A-Z a-z 0-9 . - * _
// left as they are. It is the inner loop of Criteo's <@urlencode> body: a
// byte is one table load and an append of the bytes the table gives. (A
// version storing four bytes at a time through unsafe pointers was 10%
// faster on Criteo; an unchecked write in the engine that runs untrusted
// templates is not worth it, Criteo is already several times faster than
// Apache FreeMarker.)
func appendFormURLEncoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		enc := formEncoded[s[i]]
		if enc>>32 == 1 {
			dst = append(dst, byte(enc))
			continue
		}
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], uint32(enc))
		dst = append(dst, b[:3]...)
	}
	return dst
}

const maxJSONMapDepth = 64

// toJSON serialises v for <@jsonmap>: missing -> null, strings quoted,
// numbers as Java prints them (a JSON decimal is a Java Double there, so
// 100.0 stays "100.0"), hashes with their alias keys, as the oracle's map
// has them.
func (e *exec) toJSON(s *stmt, sb *outBuf, v Value, depth, start int) error {
	if depth > maxJSONMapDepth {
		return e.errf(s.begin, "<@jsonmap>: nesting too deep")
	}
	if sb.Len()-e.outBase > e.maxOut {
		return e.outputErr(s.begin)
	}
	switch v.kind {
	case KindMissing:
		sb.WriteString("null")
	case KindString:
		writeJSONQuoted(sb, v.s)
	case KindNumber:
		switch v.fl {
		case flavorDouble:
			sb.WriteString(v.num().doubleString())
		case flavorBig:
			sb.WriteString(v.num().javaString())
		default:
			sb.WriteString(v.num().plain())
		}
	case KindBool:
		sb.WriteString(strconv.FormatBool(v.b))
	case KindHash:
		sb.WriteByte('{')
		first := true
		err := hashEntries(v, func(k string, x Value) error {
			if !first {
				sb.WriteByte(',')
			}
			first = false
			writeJSONQuoted(sb, k)
			sb.WriteByte(':')
			return e.toJSON(s, sb, x, depth+1, start)
		})
		if err != nil {
			return err
		}
		sb.WriteByte('}')
	case KindSeq:
		sb.WriteByte('[')
		for i, x := range v.c.vals {
			if i > 0 {
				sb.WriteByte(',')
			}
			if err := e.toJSON(s, sb, x, depth+1, start); err != nil {
				return err
			}
		}
		sb.WriteByte(']')
	}
	return nil
}

// rootHides reports whether the data model has a variable named like s,
// directive k; the answer is computed once per execution, for the kinds
// the template uses only. A small model is scanned once for every
// directive's name: cheaper than a failed lookup per directive, the
// usual answer (directive names have no alias, so own keys are all).
func (e *exec) rootHides(s *stmt, k userKind) bool {
	if e.hidesKnown&(1<<k) == 0 {
		if c := e.root.c; e.root.kind == KindHash && c.idx == nil {
			e.hidesKnown = ^uint8(0)
			for i, key := range c.keys {
				if len(key) == 0 || len(key) >= len(userNameStarts) || userNameStarts[len(key)]&(1<<(key[0]&63)) == 0 {
					continue
				}
				for _, u := range userNameList {
					if u.name == key && c.vals[i].kind != KindMissing {
						e.rootHidden |= 1 << u.kind
					}
				}
			}
		} else {
			e.hidesKnown |= 1 << k
			if e.root.Get(s.name).kind != KindMissing {
				e.rootHidden |= 1 << k
			}
		}
	}
	return e.rootHidden&(1<<k) != 0
}

// userNameStarts[n] has bit b&63 set when a user directive's name is n
// bytes long and starts with byte b: most keys of a data model are ruled
// out by their length and first byte alone. userNameList is userNames
// as a list, which a few comparisons search faster than a map lookup.
var userNameStarts, userNameList = func() (m [64]uint64, l []struct {
	name string
	kind userKind
}) {
	for n, k := range userNames {
		m[len(n)] |= 1 << (n[0] & 63)
		l = append(l, struct {
			name string
			kind userKind
		}{n, k})
	}
	return m, l
}()
