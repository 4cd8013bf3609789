package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/adgate/adgate/engine/branchdoc"
	"github.com/adgate/adgate/engine/spec"
)

func exportCmd() *command {
	c := newCommand("export", "export --partner ID [--partners DIR] [-o FILE] [--strict]",
		"write a partner spec back as a Branch partner doc",
		`Writes a partner spec back as a Branch partner doc (markdown). What the
doc format cannot carry (headers, bodies, content types, extra postbacks
for one event, ...) is reported; with --strict that fails the export and
nothing is written. -o creates the file's parent directories.`, argNone)
	fs := c.flags
	id := fs.String("partner", "", "partner `ID` to export (DIR/ID.yaml or DIR/ID.yml)")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	out := fs.String("o", "", "write the doc to `FILE` (default: stdout)")
	strict := fs.Bool("strict", false, "fail, writing nothing, when the doc cannot carry all of the spec")
	c.run = func(ctx context.Context, st stdio, _ []string) int {
		stderr := st.errOut
		if *id == "" {
			return c.usageError(st, "--partner is required")
		}
		p, _, err := loadSpec(ctx, *dir, *id, stderr)
		if err != nil {
			return errExit(stderr, "export", err)
		}
		doc, lost := branchdoc.Export(p)
		path, _ := spec.FindFile(*dir, *id) // loadSpec found it
		for _, l := range lost {
			fmt.Fprintf(stderr, "adgate export: %s: the Branch doc format cannot carry the %s\n", path, l)
		}
		if *strict && len(lost) > 0 {
			fmt.Fprintf(stderr, "adgate export: %s: %d things the doc cannot carry (--strict); nothing written\n", path, len(lost))
			return 1
		}
		if *out == "" {
			if _, err := st.out.Write(doc); err != nil {
				return errExit(stderr, "export", err)
			}
			return 0
		}
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return errExit(stderr, "export", err)
		}
		if err := os.WriteFile(*out, doc, 0o644); err != nil {
			return errExit(stderr, "export", err)
		}
		return 0
	}
	return c
}
