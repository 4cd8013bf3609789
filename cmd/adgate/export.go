package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/adgate/adgate/engine/branchdoc"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("partner", "", "partner `ID` to export (partners/<ID>.yaml)")
	dir := fs.String("partners", "partners", "partners `DIR`")
	out := fs.String("o", "", "write the doc to `FILE` (default: stdout)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: adgate export --partner ID [--partners DIR] [-o FILE]")
		fmt.Fprintln(stderr, "\nWrites a partner spec back as a Branch partner doc (markdown).")
		fs.PrintDefaults()
	}
	rest, err := impParseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *id == "" || len(rest) > 0 {
		fs.Usage()
		return 2
	}
	path := filepath.Join(*dir, *id+".yaml")
	p, diags, err := spec.LoadFile(ctx, path)
	if p == nil {
		_ = diags.Write(stderr, diag.Text)
		if err == nil {
			err = fmt.Errorf("%s does not load", path)
		}
		fmt.Fprintln(stderr, "adgate export:", err)
		return 1
	}
	doc, lost := branchdoc.Export(p)
	for _, l := range lost {
		fmt.Fprintf(stderr, "adgate export: %s: the Branch doc format cannot carry the %s; left out\n", path, l)
	}
	if *out == "" {
		if _, err := stdout.Write(doc); err != nil {
			fmt.Fprintln(stderr, "adgate export:", err)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		fmt.Fprintln(stderr, "adgate export:", err)
		return 1
	}
	return 0
}
