package hostname

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"api.example.com", true},
		{"API.Example.COM", true},
		{"api.example.com.", true},
		{"a_b.example.com", true},
		{"x-1.example.com", true},
		{"localhost", true},
		{"127.0.0.1", true},
		{"2001:db8::1", true},
		{"fe80::1%eth0", true},
		{"", false},
		{".", false},
		{"branch.io&us", false},
		{"a..b", false},
		{".example.com", false},
		{"-a.example.com", false},
		{"a-.example.com", false},
		{"a b.com", false},
		{"{host}.example.com", false},
		{"héllo.com", false},
		{"[2001:db8::1]", false},
		{"example.com:443", false},
		{strings.Repeat("a", 63) + ".com", true},
		{strings.Repeat("a", 64) + ".com", false},
		{strings.Repeat("a.", 126) + "aa", false},
		{strings.Repeat("a.", 126) + "a", true},
	}
	for _, tt := range tests {
		if got := Valid(tt.host); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestLabelByte(t *testing.T) {
	var got strings.Builder
	for c := 0; c < 256; c++ {
		if LabelByte(byte(c)) {
			got.WriteByte(byte(c))
		}
	}
	if want := "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"; got.String() != want {
		t.Errorf("label bytes %q, want %q", got.String(), want)
	}
}

// TestParseIP holds ParseIP to netip.ParseAddr, on hosts of every kind.
func TestParseIP(t *testing.T) {
	hosts := []string{
		"", ".", ":", "%", "1", "1.2.3.4", "01.2.3.4", "1.2.3", "1.2.3.4.", "256.1.1.1", "1.2.3.4%eth0",
		"::", "::1", "0:0::1", "::ffff:127.0.0.1", "2001:db8::1", "fe80::1%eth0", "[::1]", "::1]",
		"example.com", "localhost", "api.example.com.", "1.2.3.example", "a:b", "1e2.3.4.5", "१.२.३.४",
		"127.0.0.1:80", " 1.2.3.4", "1.2.3.4 ",
	}
	for _, h := range hosts {
		want, err := netip.ParseAddr(h)
		got, ok := ParseIP(h)
		if ok != (err == nil) || got != want {
			t.Errorf("ParseIP(%q) = %v, %v; ParseAddr says %v, %v", h, got, ok, want, err)
		}
	}
}

func FuzzParseIP(f *testing.F) {
	for _, h := range []string{"1.2.3.4", "::1", "example.com", "fe80::1%eth0", "1.2.3.4%x"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		want, err := netip.ParseAddr(h)
		if got, ok := ParseIP(h); ok != (err == nil) || got != want {
			t.Errorf("ParseIP(%q) = %v, %v; ParseAddr says %v, %v", h, got, ok, want, err)
		}
	})
}
