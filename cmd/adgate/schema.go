package main

import (
	"context"
	"flag"
	"io"
	"io/fs"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/schemas"
)

const schemaUsage = `Usage: adgate schema [--catalog]

Prints the partner spec JSON Schema embedded in this binary (the same file as
schemas/` + spec.SchemaFile + `), e.g. for editors or CI tools without the repository.

Flags:
`

func runSchema(_ context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("schema", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	cat := flags.Bool("catalog", false, "print the Branch parameter catalog (schemas/"+catalog.File+") instead")
	err := flags.Parse(args)
	if err == nil {
		err = noArgs(flags)
	}
	if err != nil {
		return quietUsageExit(stdout, stderr, flags, schemaUsage, err)
	}
	name := spec.SchemaFile
	if *cat {
		name = catalog.File
	}
	b, err := fs.ReadFile(schemas.FS, name)
	if err != nil {
		return errExit(stderr, "schema", err)
	}
	if _, err := stdout.Write(b); err != nil {
		return errExit(stderr, "schema", err)
	}
	return 0
}
