package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

func versionCmd() *command {
	c := newCommand("version", "version",
		"print adgate's module version and VCS revision",
		`Prints the module version and, when the binary was built from a checkout, the
VCS revision, its commit time and whether the tree had uncommitted changes; then
the Go version, OS and architecture it was built for.`, argNone)
	c.run = func(_ context.Context, st stdio, _ []string) int {
		bi, ok := debug.ReadBuildInfo()
		if !ok {
			return errExit(st.errOut, "version", fmt.Errorf("this binary has no build information"))
		}
		fmt.Fprintln(st.out, versionText(bi))
		return 0
	}
	return c
}

// versionText formats build info as
// "adgate v1.2.3 (rev 0123456789ab, 2026-01-02T03:04:05Z, modified) go1.26.0 linux/amd64".
func versionText(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		// go run and go test leave it empty; go build in a checkout says (devel).
		version = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var vcs []string
	if rev := settings["vcs.revision"]; rev != "" {
		vcs = append(vcs, "rev "+rev[:min(12, len(rev))])
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	var b strings.Builder
	b.WriteString("adgate " + version)
	if len(vcs) > 0 {
		b.WriteString(" (" + strings.Join(vcs, ", ") + ")")
	}
	if bi.GoVersion != "" {
		b.WriteString(" " + bi.GoVersion)
	}
	if goos, goarch := settings["GOOS"], settings["GOARCH"]; goos != "" && goarch != "" {
		b.WriteString(" " + goos + "/" + goarch)
	}
	return b.String()
}
