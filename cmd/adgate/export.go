package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/adgate/adgate/engine/branchdoc"
)

const exportUsage = `Usage: adgate export --partner ID [--partners DIR] [-o FILE]

Writes a partner spec back as a Branch partner doc (markdown).
`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	setUsage(fs, stderr, exportUsage)
	id := fs.String("partner", "", "partner `ID` to export (partners/<ID>.yaml)")
	dir := fs.String("partners", "partners", "partners `DIR`")
	out := fs.String("o", "", "write the doc to `FILE` (default: stdout)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if *id == "" || len(rest) > 0 {
		fs.Usage()
		return 2
	}
	path := filepath.Join(*dir, *id+".yaml")
	p, _, err := loadSpec(ctx, *dir, *id, stderr)
	if err != nil {
		return errExit(stderr, "export", err)
	}
	doc, lost := branchdoc.Export(p)
	for _, l := range lost {
		fmt.Fprintf(stderr, "adgate export: %s: the Branch doc format cannot carry the %s; left out\n", path, l)
	}
	if *out == "" {
		if _, err := stdout.Write(doc); err != nil {
			return errExit(stderr, "export", err)
		}
		return 0
	}
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		return errExit(stderr, "export", err)
	}
	return 0
}
