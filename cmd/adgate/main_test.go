package main

import (
	"context"
	"strings"
	"testing"
)

// runCLI runs one adgate command in process, as main does, with nothing
// on stdin.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIStdin(t, "", args...)
}

// runCLIStdin runs one adgate command in process with stdin as its input.
func runCLIStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	code = run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, errOut: &errb})
	return code, out.String(), errb.String()
}
