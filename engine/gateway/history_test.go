package gateway

import (
	"context"
	"testing"
	"time"
)

// listAttempts waits until what the server recorded so far is stored,
// then lists the history newest first.
func listAttemptsT(t testing.TB, s *Server, f attemptFilter) []Attempt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.hist.sync(ctx); err != nil {
		t.Fatalf("history sync: %v", err)
	}
	list, _, err := s.listAttempts(ctx, f)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	return list
}
