package queue

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestJobCodecRoundTrip(t *testing.T) {
	for _, j := range []Job{
		{},
		{ID: "pb-1", App: "demo", Partner: "clevertap", URL: "https://x/?a=1"},
		{
			ID: "e\x00\xff", App: "ünï", Partner: "p.q", Postback: "INSTALL", EventID: "1234567890123456789",
			Method: "POST", URL: "https://in1.api.clevertap.com/1/upload?id=1&t=%2B", Body: `{"d":[1,2]}`,
			Headers:       map[string]string{"Content-Type": "application/json", "X-Empty": ""},
			ConfigVersion: "sha256:abc", EnqueuedAt: time.Date(2026, 11, 28, 15, 0, 0, 123456789, time.UTC), Replays: 3,
		},
		{ID: "pb-w", App: "a", Partner: "p", URL: "https://x", WindowEnd: time.Date(2026, 12, 5, 1, 2, 3, 4, time.UTC)},
		{ID: "pb-e", App: "a", Partner: "p", URL: "https://x", EventSeq: 1 << 40},
		{ID: "pb-ew", App: "a", Partner: "p", URL: "https://x", EventSeq: 7, OriginalConfigVersion: "sha256:old",
			WindowEnd: time.Date(2026, 12, 5, 1, 2, 3, 4, time.UTC)},
		{ID: "pb-o", App: "a", Partner: "p", URL: "https://x", OriginalConfigVersion: "v0", Replays: 2},
		{ID: "pb-a", App: "a", Partner: "p", URL: "https://x", EventSeq: 9, Attempts: 1,
			NotBefore: time.Date(2026, 12, 2, 15, 0, 0, 5, time.UTC), WindowEnd: time.Date(2026, 12, 5, 1, 2, 3, 4, time.UTC)},
		{ID: "pb-d", App: "a", Partner: "p", URL: "https://x", NotBefore: time.Unix(7, 0).UTC()},
		// Past sharedMax: fields decoded as copies rather than substrings.
		{ID: "pb-big", App: "a", Partner: "p", Method: "POST", URL: "https://x", Body: strings.Repeat("b", sharedMax),
			Headers: map[string]string{"K": "v"}, ConfigVersion: "v1", Replays: 1},
	} {
		got, err := decodeJob(encodeJob(&j))
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", j, err)
		}
		if !reflect.DeepEqual(got, j) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, j)
		}
	}
}

func TestJobCodecReadsJSON(t *testing.T) {
	j := Job{ID: "1", App: "a", Partner: "p", URL: "https://x", EnqueuedAt: time.Unix(5, 0).UTC()}
	b, _ := json.Marshal(j)
	got, err := decodeJob(b)
	if err != nil || !reflect.DeepEqual(got, j) {
		t.Fatalf("%+v, %v", got, err)
	}
}

// A job without a window keeps the first version's bytes, so a binary that
// predates windows still reads what a newer one enqueued without one; a
// job with a window uses the new version.
func TestJobCodecVersions(t *testing.T) {
	if b := encodeJob(&Job{ID: "1"}); b[0] != codecVersion {
		t.Errorf("job without window encoded as version %#x", b[0])
	}
	if b := encodeJob(&Job{ID: "1", EventSeq: 3}); b[0] != codecEvent {
		t.Errorf("job with an event sequence written as version %#x", b[0])
	}
	if b := encodeJob(&Job{ID: "1", EventSeq: 3, Attempts: 1}); b[0] != codecAttempted {
		t.Errorf("job queued after an attempt written as version %#x", b[0])
	}
	if b := encodeJob(&Job{ID: "1", WindowEnd: time.Unix(9, 0)}); b[0] != codecWindow {
		t.Errorf("job with window encoded as version %#x", b[0])
	}
}

func TestJobCodecRejectsDamage(t *testing.T) {
	for _, j := range []Job{
		{ID: "pb", App: "a", Partner: "p", URL: "https://x", Headers: map[string]string{"k": "v"}},
		{ID: "pb", App: "a", Partner: "p", URL: "https://x", WindowEnd: time.Unix(1e9, 0)},
		{ID: "pb", App: "a", Partner: "p", URL: "https://x", Attempts: 2, NotBefore: time.Unix(1e9, 0)},
	} {
		full := encodeJob(&j)
		for i := range len(full) {
			if _, err := decodeJob(full[:i]); err == nil {
				t.Errorf("a job truncated to %d bytes decoded", i)
			}
		}
		if _, err := decodeJob(append(full, 0)); err == nil {
			t.Error("trailing bytes accepted")
		}
	}
	if _, err := decodeJob([]byte("garbage")); err == nil {
		t.Error("garbage accepted")
	}
}

func FuzzDecodeJob(f *testing.F) {
	f.Add(encodeJob(&Job{ID: "pb", App: "a", Partner: "p", URL: "https://x", Headers: map[string]string{"k": "v"}}))
	f.Add(encodeJob(&Job{ID: "pb", WindowEnd: time.Unix(1, 2)}))
	f.Add(encodeJob(&Job{ID: "pb", EventSeq: 4, Attempts: 1, NotBefore: time.Unix(3, 4)}))
	f.Add([]byte(`{"id":"1"}`))
	f.Add([]byte(`{"id":"1","attempts":-1,"not_before":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"id":"1","headers":{},"enqueued_at":"2026-01-01T00:00:00+01:00","replays":-2}`))
	f.Add([]byte{codecVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := decodeJob(b)
		if err != nil {
			return
		}
		// Compare encodings: JSON input may carry a time zone or an empty
		// header map that the binary form normalizes.
		enc := encodeJob(&j)
		again, err := decodeJob(enc)
		if err != nil || string(encodeJob(&again)) != string(enc) {
			t.Fatalf("re-encoding %+v gave %+v, %v", j, again, err)
		}
	})
}
