package gateway

import (
	"crypto/rand"
	"os"
	"strings"
)

// newInstanceID names this gateway process in history records and stats
// rollups: the host name (so an operator recognises it) plus a random
// suffix (so two processes on one host, or a restart, never share one).
func newInstanceID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "gateway"
	}
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, h)
	if len(h) > 40 {
		h = h[:40]
	}
	return h + "-" + strings.ToLower(rand.Text()[:6])
}
