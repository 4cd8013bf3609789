package main

import (
	"context"
	"io/fs"

	"github.com/adgate/adgate/engine/catalog"
	"github.com/adgate/adgate/engine/spec"
	"github.com/adgate/adgate/schemas"
)

func schemaCmd() *command {
	c := newCommand("schema", "schema [--catalog]",
		"print the embedded partner spec JSON Schema (or --catalog)",
		`Prints the partner spec JSON Schema embedded in this binary (the same file as
schemas/`+spec.SchemaFile+`), e.g. for editors or CI tools without the repository.`, argNone)
	cat := c.flags.Bool("catalog", false, "print the Branch parameter catalog (schemas/"+catalog.File+") instead")
	c.run = func(_ context.Context, st stdio, _ []string) int {
		name := spec.SchemaFile
		if *cat {
			name = catalog.File
		}
		b, err := fs.ReadFile(schemas.FS, name)
		if err != nil {
			return errExit(st.errOut, "schema", err)
		}
		if _, err := st.out.Write(b); err != nil {
			return errExit(st.errOut, "schema", err)
		}
		return 0
	}
	return c
}
