package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/schemas"
)

func runSchema(_ context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("schema", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	cat := flags.Bool("catalog", false, "print the Branch parameter catalog (schemas/"+catalog.File+") instead")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: adgate schema [--catalog]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Prints the partner spec JSON Schema embedded in this binary (the same file as")
		fmt.Fprintln(w, "schemas/"+spec.SchemaFile+"), e.g. for editors or CI tools without the repository.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Flags:")
		flags.SetOutput(w)
		flags.PrintDefaults()
	}
	err := flags.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return 0
	}
	if err != nil || flags.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", flags.Arg(0))
		}
		fmt.Fprintln(stderr, "adgate schema:", err)
		usage(stderr)
		return 2
	}
	name := spec.SchemaFile
	if *cat {
		name = catalog.File
	}
	b, err := fs.ReadFile(schemas.FS, name)
	if err != nil {
		fmt.Fprintln(stderr, "adgate schema:", err)
		return 1
	}
	if _, err := stdout.Write(b); err != nil {
		fmt.Fprintln(stderr, "adgate schema:", err)
		return 1
	}
	return 0
}
