package template

import "strings"

// formatPattern formats d with a java.text.DecimalFormat pattern, for
// ?string("0.00"). Only the digit part of the syntax is supported (0 # ,
// and .); ok is false for anything else (prefixes, %, exponents, ...).
// Rounding is half-even, DecimalFormat's default.
func formatPattern(d dec, pat string) (string, bool) {
	if strings.Contains(pat, ".") && !strings.Contains(pat, "0") {
		// DecimalFormat makes one digit of a pattern without zeros
		// mandatory: "#.#" means "0.#" and ".#" means ".0"
		n := max(strings.Count(pat[:strings.Index(pat, ".")], "#"), 1)
		b := []byte(pat)
		for i := range b {
			if b[i] == '#' {
				if n--; n == 0 {
					b[i] = '0'
					break
				}
			}
		}
		pat = string(b)
	}
	intPat, fracPat, hasDot := strings.Cut(pat, ".")
	if intPat == "" && !hasDot {
		return "", false
	}
	minInt, group := 0, 0
	lastComma := -1
	for i := 0; i < len(intPat); i++ {
		switch intPat[i] {
		case '0':
			minInt++
		case '#':
			if minInt > 0 {
				return "", false
			}
		case ',':
			lastComma = i
		default:
			return "", false
		}
	}
	if lastComma >= 0 {
		group = len(intPat) - lastComma - 1
		if group == 0 {
			return "", false
		}
	}
	minFrac, maxFrac := 0, 0
	for i := 0; i < len(fracPat); i++ {
		switch fracPat[i] {
		case '0':
			if maxFrac > minFrac {
				return "", false
			}
			minFrac++
			maxFrac++
		case '#':
			maxFrac++
		default:
			return "", false
		}
	}
	neg := d.sign() < 0
	r := d.setScale(int32(maxFrac), roundHalfEven)
	digits, _ := r.unscaledText()
	for len(digits) <= maxFrac {
		digits = "0" + digits
	}
	ip := digits[:len(digits)-maxFrac]
	fp := digits[len(digits)-maxFrac:]
	for len(fp) > minFrac && fp[len(fp)-1] == '0' {
		fp = fp[:len(fp)-1]
	}
	ip = strings.TrimLeft(ip, "0")
	for len(ip) < minInt {
		ip = "0" + ip
	}
	if ip == "" && fp == "" {
		ip = "0"
	}
	if group > 0 && len(ip) > group {
		var sb strings.Builder
		first := len(ip) % group
		if first > 0 {
			sb.WriteString(ip[:first])
		}
		for i := first; i < len(ip); i += group {
			if sb.Len() > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(ip[i : i+group])
		}
		ip = sb.String()
	}
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	sb.WriteString(ip)
	if fp != "" {
		sb.WriteByte('.')
		sb.WriteString(fp)
	}
	return sb.String(), true
}
