package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/adgate/adgate/engine/branchdoc"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
)

// impMaxDocSize bounds one partner doc: the largest real doc is under 10 KiB.
const impMaxDocSize = 4 << 20

func importCmd() *command {
	c := newCommand("import", "import FILE.md... [-o DIR] [--no-clobber] [--format text|json|github]",
		"import Branch partner docs (markdown) as partner specs",
		`Imports Branch partner docs into partner specs. Every repair and every
unmapped item is a warning with the doc's line; exit 1 when a doc fails.`, argPaths)
	fs := c.flags
	outDir := fs.String("o", "", "write one `DIR`/<id>.yaml per doc (default: YAML to stdout)")
	noClobber := fs.Bool("no-clobber", false, "skip docs whose output file already exists")
	format := fs.String("format", "text", "diagnostics `FORMAT`: text, json or github")
	c.run = func(ctx context.Context, st stdio, files []string) int {
		if len(files) == 0 {
			return c.usageError(st, "give at least one FILE.md")
		}
		return runImport(ctx, st.out, st.errOut, files, *outDir, *noClobber, *format)
	}
	return c
}

func runImport(ctx context.Context, stdout, stderr io.Writer, files []string, outDir string, noClobber bool, format string) int {
	f, err := diag.ParseFormat(format)
	if err != nil {
		fmt.Fprintln(stderr, "adgate import:", err)
		return 2
	}
	loader, err := spec.NewLoader()
	if err != nil {
		return errExit(stderr, "import", err)
	}
	var all diag.List
	failed, written := 0, 0
	for i, file := range files {
		if err := ctx.Err(); err != nil {
			return errExit(stderr, "import", err)
		}
		res, out, diags, err := impConvert(file)
		all = append(all, diags...)
		if err != nil {
			if !errors.Is(err, branchdoc.ErrNotPartnerDoc) { // else a finding says it
				fmt.Fprintln(stderr, "adgate import:", err)
			}
			failed++
			continue
		}
		dest := filepath.Join(outDir, res.Partner.ID+".yaml")
		// The importer reports what it repaired or could not map; as a
		// safety net the written spec is also held to the lint, whose
		// errors (at their place in the output) fail the import.
		if lintErrs := impLintErrors(loader, dest, out); len(lintErrs) > 0 {
			all = append(all, lintErrs...)
			failed++
		}
		if outDir == "" {
			if i > 0 {
				fmt.Fprintln(stdout, "---")
			}
			if _, err := stdout.Write(out); err != nil {
				return errExit(stderr, "import", err)
			}
			written++
			continue
		}
		if noClobber {
			if _, err := os.Stat(dest); err == nil {
				fmt.Fprintf(stderr, "adgate import: %s exists; skipped %s\n", dest, file)
				continue
			}
		}
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return errExit(stderr, "import", err)
		}
		if err := os.WriteFile(dest, out, 0o644); err != nil {
			fmt.Fprintln(stderr, "adgate import:", err)
			failed++
			continue
		}
		written++
	}
	if err := all.Write(stderr, f); err != nil {
		return errExit(stderr, "import", err)
	}
	if f == diag.Text {
		fmt.Fprintf(stderr, "adgate import: %d of %d docs imported, %d warnings\n", written, len(files), all.Count(diag.Warning))
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// impConvert reads one doc and imports it as a partner spec's YAML. The
// importer's findings come back also when err is set.
func impConvert(file string) (*branchdoc.Result, []byte, diag.List, error) {
	data, err := impReadFile(file, impMaxDocSize)
	if err != nil {
		return nil, nil, nil, err
	}
	res, diags, err := branchdoc.Import(file, data)
	if err != nil {
		return nil, nil, diags, err
	}
	out, err := res.YAML(filepath.Base(file))
	return res, out, diags, err
}

// impLintErrors returns the error findings of the spec lint on an
// imported spec's YAML, named as the file it is written to.
func impLintErrors(l *spec.Loader, file string, out []byte) diag.List {
	_, ds := l.Check(file, out)
	var errs diag.List
	for _, d := range ds {
		if d.Severity == diag.Error {
			errs = append(errs, d)
		}
	}
	return errs
}

// impReadFile reads a file, refusing ones larger than limit.
func impReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}
