package gateway

import (
	"math/rand"
	"strings"
	"testing"
)

// replacerRedact is redaction as it was before formIndex: one
// strings.Replacer over the forms, longest first. formIndex must give
// its output byte for byte.
func replacerRedact(secrets []string) func(string) string {
	forms := redactionForms(secrets)
	if len(forms) == 0 {
		return func(s string) string { return s }
	}
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return strings.NewReplacer(pairs...).Replace
}

// redactionTexts builds n texts in which the secrets stand in the forms
// the redactor derives and in the test's own encodings, whole, cut short,
// back to back and overlapping, amid URL text and random bytes.
func redactionTexts(rng *rand.Rand, secrets []string, n int) []string {
	var pieces []string
	for _, c := range secrets {
		pieces = append(pieces, encodings(c)...)
	}
	pieces = append(pieces, redactionForms(secrets)...)
	filler := []string{"https://api.partner.test/pb?", "&", "=", "%", "%2", "%25", "+", "a", "0", Redacted, "REDACTED", "é", "\x00", "\xff"}
	var out []string
	for range n {
		var b strings.Builder
		for range 1 + rng.Intn(8) {
			switch p := pieces[rng.Intn(len(pieces))]; rng.Intn(6) {
			case 0: // cut short: a near miss
				b.WriteString(p[:rng.Intn(len(p))])
			case 1: // its end only: overlaps what came before
				b.WriteString(p[rng.Intn(len(p)):])
			case 2:
				b.WriteString(filler[rng.Intn(len(filler))])
			case 3:
				for range rng.Intn(12) {
					b.WriteByte(credAlphabet[rng.Intn(len(credAlphabet))])
				}
			default:
				b.WriteString(p)
			}
		}
		out = append(out, b.String())
	}
	return out
}

// TestRedactorMatchesReplacer holds the indexed redactor to the
// strings.Replacer it replaced, on secrets chosen to make matches
// compete: one a prefix of another, periodic ones that overlap
// themselves, the 4-byte minimum, multi-byte runes, and random
// credentials in every encoding the redactor covers.
func TestRedactorMatchesReplacer(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	tests := []struct {
		name    string
		secrets []string
	}{
		{"readme", []string{"TEST-R44-4Z5Z", "Zm9v+YmFy/YmF6==", "open sesame"}},
		{"prefixes", []string{"abcd", "abcd1234", "abcd12345678", "bcd1"}},
		{"periodic", []string{"abab", "ababab", "aaaa", "aaaaaaa"}},
		{"short", []string{"abc", "x"}}, // only derived forms reach 4 bytes
		{"escapes", []string{`S3cr~t K!y/+="é`, "tok 100%", "a+b=c&d"}},
		{"runes", []string{"日本語の鍵", "😀😀"}},
		{"redacted", []string{Redacted, "REDACTED", "[RED"}},
		{"random", []string{randomCredential(rng), randomCredential(rng), randomCredential(rng)}},
		{"random-more", []string{randomCredential(rng), randomCredential(rng), randomCredential(rng), randomCredential(rng)}},
		{"none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red, want := newRedactor(tt.secrets), replacerRedact(tt.secrets)
			texts := []string{"", "a", "abc", "text/plain; charset=utf-8", "ok"}
			if len(tt.secrets) > 0 {
				texts = append(texts, redactionTexts(rng, tt.secrets, 3000)...)
			}
			changed := 0
			for _, s := range texts {
				got, exp := red.String(s), want(s)
				if got != exp {
					t.Fatalf("redacting %q:\n got %q\nwant %q", s, got, exp)
				}
				if got != s {
					changed++
				}
			}
			// Most texts hold a whole form: a run that redacted nothing
			// compared nothing.
			if len(tt.secrets) > 0 && changed < len(texts)/2 {
				t.Errorf("only %d of %d texts were redacted", changed, len(texts))
			}
		})
	}
}

// FuzzRedactorMatchesReplacer: for any two secrets and text, with a form
// of either put inside the text, the indexed redactor agrees with the
// strings.Replacer.
func FuzzRedactorMatchesReplacer(f *testing.F) {
	f.Add("Zm9v+YmFy/YmF6==", "open sesame", "https://x.test/?t=", uint8(3), uint8(7))
	f.Add("abab", "ababab", "ababababab", uint8(0), uint8(2))
	f.Add(`S3cr~t K!y/+="é`, "", "%2B%3D", uint8(40), uint8(1))
	f.Fuzz(func(t *testing.T, s1, s2, text string, form, at uint8) {
		secrets := []string{s1, s2}
		red, want := newRedactor(secrets), replacerRedact(secrets)
		if forms := redactionForms(secrets); len(forms) > 0 {
			i := int(at) % (len(text) + 1)
			text = text[:i] + forms[int(form)%len(forms)] + text[i:]
		}
		if got, exp := red.String(text), want(text); got != exp {
			t.Fatalf("secrets %q, redacting %q:\n got %q\nwant %q", secrets, text, got, exp)
		}
	})
}

// BenchmarkRedact is the redaction of one attempt's texts: the URL (with
// and without a credential in it) and a response's Content-Type.
func BenchmarkRedact(b *testing.B) {
	red := newRedactor([]string{"TEST-R44-4Z5Z", "Zm9v+YmFy/YmF6==", "open sesame"})
	for _, bm := range []struct{ name, text string }{
		{"url-secret", "https://api.clevertap.com/branch?account_id=TEST-R44-4Z5Z&account_token=Zm9v%2BYmFy%2FYmF6%3D%3D&account_passcode=open%20sesame&event=INSTALL&event_timestamp=1767225600&identity=user-42&os=ANDROID&os_version=14&ip=203.0.113.7&utm_campaign=spring_sale&utm_source=jampp&utm_medium=cpi&reinstall=&google_advertising_id=38400000-8cf0-11bd-b23e-10b96e40000d&idfa="},
		{"url-clean", "https://api.clevertap.com/branch?event=INSTALL&event_timestamp=1767225600&identity=user-42&os=ANDROID&os_version=14&ip=203.0.113.7&utm_campaign=spring_sale&utm_source=jampp&utm_medium=cpi&reinstall=&google_advertising_id=38400000-8cf0-11bd-b23e-10b96e40000d&idfa="},
		{"content-type", "text/plain; charset=utf-8"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = red.String(bm.text)
			}
		})
	}
}
