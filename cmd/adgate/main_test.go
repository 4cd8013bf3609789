package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
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

// childArgsEnv carries the arguments of a child process run by runChild.
const childArgsEnv = "ADGATE_CHILD_ARGS"

// TestMain runs adgate as main does, on the real standard streams, when
// this test binary is runChild's child process.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgsEnv); ok {
		os.Exit(runMain(strings.Split(args, "\x1f")))
	}
	os.Exit(m.Run())
}

// runChild runs adgate in a real child process (this test binary
// re-executed) with stdin as its standard input, for behaviour that
// depends on the process: standard streams, exit status.
func runChild(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runChildIn(t, "", stdin, args...)
}

// runChildIn is runChild with dir as the working directory.
func runChildIn(t *testing.T, dir, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\x1f"))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running adgate %q: %v", args, err)
	}
	return code, out.String(), errb.String()
}
