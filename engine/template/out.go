package template

import "unsafe"

// outBuf is an execution's output. The directives that transform their
// body (<@json>, <@urlencode>, <#assign x>...</#assign>) render it in
// place at the end of this one buffer and then replace it by its
// transformation, so no body is built in a buffer of its own and copied.
// Its methods have strings.Builder's signatures, so code writing output
// reads the same whichever it writes to.
type outBuf struct {
	b []byte
}

func (o *outBuf) Len() int { return len(o.b) }

func (o *outBuf) WriteString(s string) (int, error) {
	o.b = append(o.b, s...)
	return len(s), nil
}

func (o *outBuf) WriteByte(c byte) error {
	o.b = append(o.b, c)
	return nil
}

func (o *outBuf) Write(p []byte) (int, error) {
	o.b = append(o.b, p...)
	return len(p), nil
}

// tail returns the text written since offset start, without copying; it
// is valid until the buffer is next written or truncated.
func (o *outBuf) tail(start int) string {
	t := o.b[start:]
	return unsafe.String(unsafe.SliceData(t), len(t))
}

// take hands the whole output to the caller as a string, without
// copying, and leaves the buffer empty: the next execution allocates its
// own, so the string is never written again.
func (o *outBuf) take() string {
	s := unsafe.String(unsafe.SliceData(o.b), len(o.b))
	o.b = nil
	return s
}
