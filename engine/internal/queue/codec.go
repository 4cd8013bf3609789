package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Jobs are stored in a compact binary form: decoding JSON with reflection
// cost more CPU per postback than any other step of the queue. Layout:
// codecVersion, then uvarint-length-prefixed strings (ID, App, Partner,
// Postback, EventID, Method, URL, Body, ConfigVersion), EnqueuedAt as
// varint Unix nanoseconds (0: unset), Replays as uvarint, and the headers
// as a uvarint count of key/value string pairs in key order. Version
// codecWindow appends WindowEnd as varint Unix nanoseconds; a job without a
// window is still written as codecVersion, so a binary that predates
// windows keeps reading it. Version codecEvent, written only for a job
// that has an EventSeq or an OriginalConfigVersion, appends WindowEnd (0:
// none), EventSeq as uvarint and OriginalConfigVersion as a string.
// Version codecAttempted, written only for a job queued after an attempt
// (Attempts above 0 or NotBefore set), appends to codecEvent's fields NotBefore as
// varint Unix nanoseconds (0: none) and Attempts as uvarint. A message
// starting with '{' is read as JSON.
const (
	codecVersion   byte = 0xA1
	codecWindow    byte = 0xA2
	codecEvent     byte = 0xA3
	codecAttempted byte = 0xA4
)

var errTruncated = errors.New("truncated job")

func encodeJob(j *Job) []byte {
	n := 32 + len(j.ID) + len(j.App) + len(j.Partner) + len(j.Postback) + len(j.EventID) +
		len(j.Method) + len(j.URL) + len(j.Body) + len(j.ConfigVersion) + len(j.OriginalConfigVersion)
	for k, v := range j.Headers {
		n += len(k) + len(v) + 4
	}
	b := make([]byte, 0, n)
	version := codecVersion
	switch {
	case j.Attempts > 0 || !j.NotBefore.IsZero():
		version = codecAttempted
	case j.EventSeq != 0 || j.OriginalConfigVersion != "":
		version = codecEvent
	case !j.WindowEnd.IsZero():
		version = codecWindow
	}
	b = append(b, version)
	for _, s := range []string{j.ID, j.App, j.Partner, j.Postback, j.EventID, j.Method, j.URL, j.Body, j.ConfigVersion} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	var at int64
	if !j.EnqueuedAt.IsZero() {
		at = j.EnqueuedAt.UnixNano()
	}
	b = binary.AppendVarint(b, at)
	b = binary.AppendUvarint(b, uint64(max(j.Replays, 0)))
	keys := make([]string, 0, len(j.Headers))
	for k := range j.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(j.Headers[k])))
		b = append(b, j.Headers[k]...)
	}
	switch version {
	case codecWindow:
		b = binary.AppendVarint(b, j.WindowEnd.UnixNano())
	case codecEvent, codecAttempted:
		b = binary.AppendVarint(b, unixNano(j.WindowEnd))
		b = binary.AppendUvarint(b, j.EventSeq)
		b = binary.AppendUvarint(b, uint64(len(j.OriginalConfigVersion)))
		b = append(b, j.OriginalConfigVersion...)
		if version == codecAttempted {
			b = binary.AppendVarint(b, unixNano(j.NotBefore))
			b = binary.AppendUvarint(b, uint64(max(j.Attempts, 0)))
		}
	}
	return b
}

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func decodeJob(b []byte) (Job, error) {
	var j Job
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &j); err != nil {
			return Job{}, err
		}
		return j, nil
	}
	if len(b) == 0 || (b[0] != codecVersion && b[0] != codecWindow && b[0] != codecEvent && b[0] != codecAttempted) {
		return Job{}, errors.New("unknown job encoding")
	}
	d := decoder{b: b[1:]}
	if len(b) <= sharedMax {
		// One string for the whole message, sliced for every field: a
		// conversion per field cost an allocation each.
		d.s = string(b[1:])
		d.shared = true
	}
	for _, p := range []*string{&j.ID, &j.App, &j.Partner, &j.Postback, &j.EventID, &j.Method, &j.URL, &j.Body, &j.ConfigVersion} {
		*p = d.str()
	}
	if at := d.varint(); at != 0 {
		j.EnqueuedAt = time.Unix(0, at).UTC()
	}
	replays := d.uvarint()
	if replays > 1<<30 {
		return Job{}, fmt.Errorf("replay count %d out of range", replays)
	}
	j.Replays = int(replays)
	nh := d.uvarint()
	if nh > uint64(len(d.b)) {
		return Job{}, errTruncated
	}
	if nh > 0 {
		j.Headers = make(map[string]string, nh)
		for range nh {
			k := d.str()
			j.Headers[k] = d.str()
		}
	}
	switch b[0] {
	case codecWindow:
		at := d.varint()
		if at == 0 && d.err == nil {
			return Job{}, errors.New("version with window but no window end")
		}
		j.WindowEnd = time.Unix(0, at).UTC()
	case codecEvent, codecAttempted:
		if at := d.varint(); at != 0 {
			j.WindowEnd = time.Unix(0, at).UTC()
		}
		j.EventSeq = d.uvarint()
		j.OriginalConfigVersion = d.str()
		if b[0] == codecAttempted {
			if at := d.varint(); at != 0 {
				j.NotBefore = time.Unix(0, at).UTC()
			}
			attempts := d.uvarint()
			if attempts > 1<<30 {
				return Job{}, fmt.Errorf("attempt count %d out of range", attempts)
			}
			j.Attempts = int(attempts)
		}
	}
	if d.err != nil {
		return Job{}, d.err
	}
	if len(d.b) != 0 {
		return Job{}, errors.New("trailing bytes after job")
	}
	return j, nil
}

// sharedMax is the largest message whose fields share one string. The
// fields of a larger one (a large body) are copied one by one, so the few
// small ones that outlive the delivery (the attempts GET /v1/deliveries
// keeps) do not pin the whole message.
const sharedMax = 2 << 10

// decoder reads b. When shared, s holds the same bytes as a string and str
// returns substrings of it instead of copies.
type decoder struct {
	b      []byte
	s      string
	shared bool
	err    error
}

func (d *decoder) advance(n int) {
	d.b = d.b[n:]
	if d.shared {
		d.s = d.s[n:]
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.advance(n)
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.advance(n)
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errTruncated
		return ""
	}
	var s string
	if d.shared {
		s = d.s[:n]
	} else {
		s = string(d.b[:n])
	}
	d.advance(int(n))
	return s
}
