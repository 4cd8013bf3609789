package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go run", debug.BuildInfo{GoVersion: "go1.26.0"}, "adgate (devel) go1.26.0"},
		{"release", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}}},
			"adgate v1.2.3 go1.26.0 linux/arm64"},
		{"checkout", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		}}, "adgate (devel) (rev 0123456789ab, 2026-01-02T03:04:05Z, modified) go1.26.0"},
		{"clean short revision", debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"},
		}}, "adgate v0.1.0 (rev abc)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText(&tt.bi); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestVersionBinary builds adgate as a user does and runs `adgate
// version`: only a real build carries the module and VCS information.
func TestVersionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "adgate")
	// -buildvcs=true overrides a GOFLAGS=-buildvcs=false; Go still leaves
	// VCS information out in a git worktree, which `go version -m` shows.
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("adgate version: %v", err)
	}
	got := strings.TrimSpace(string(out))
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	if !regexp.MustCompile(`^adgate \S+ (\(rev [0-9a-f]{12}, [0-9TZ:-]+(, modified)?\) )?go1\.\d+`).MatchString(got) || !strings.HasSuffix(got, platform) {
		t.Fatalf("adgate version printed %q", got)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	m := regexp.MustCompile(`(?m)^\s+mod\s+github.com/adgate/adgate\s+(\S+)`).FindSubmatch(info)
	if m == nil || !strings.HasPrefix(got, "adgate "+string(m[1])+" ") {
		t.Errorf("adgate version printed %q; go version -m says:\n%s", got, info)
	}
	rev := regexp.MustCompile(`vcs\.revision=([0-9a-f]{12})`).FindSubmatch(info)
	switch {
	case rev != nil && !strings.Contains(got, "(rev "+string(rev[1])):
		t.Errorf("adgate version printed %q, want revision %s", got, rev[1])
	case rev == nil && strings.Contains(got, "(rev "):
		t.Errorf("adgate version printed %q, but the binary has no revision", got)
	}
}
