package branchdoc

import "testing"

func TestFixMojibake(t *testing.T) {
	tests := []struct{ in, want string }{
		{"â€œbestâ€\u009d", "“best”"},
		// The 0x9D byte of ” has no Windows-1252 character and is often
		// lost in a copy: â€ alone still closes the quote.
		{"It â€œoptimisesâ€ for installs", "It “optimises” for installs"},
		{"(â€œ558055517â€ or â€œid558055517â€).", "(“558055517” or “id558055517”)."},
		{"Weâ€™re", "We’re"},
		{"Café, naïve", "Café, naïve"}, // genuine accents stay
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got, _ := fixMojibake(tt.in); got != tt.want {
			t.Errorf("fixMojibake(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
