package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/adgate/adgate/engine/branchdoc"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/spec"
)

// impMaxDocSize bounds one partner doc: the largest real doc is under 10 KiB.
const impMaxDocSize = 4 << 20

func importCmd() *command {
	c := newCommand("import", "import FILE.md... [-o DIR] [--force | --no-clobber] [--format text|json|github]",
		"import Branch partner docs (markdown) as partner specs",
		`Imports Branch partner docs into partner specs. Every repair and every
unmapped item is a warning with the doc's line; exit 1 when a doc fails.
With -o, an existing spec is not overwritten without --force, two docs
that map to one partner id are refused, and no spec is written through a
symbolic link.`, argPaths)
	fs := c.flags
	outDir := fs.String("o", "", "write one `DIR`/<id>.yaml per doc (default: YAML to stdout)")
	force := fs.Bool("force", false, "with -o, overwrite specs that already exist")
	noClobber := fs.Bool("no-clobber", false, "with -o, skip docs whose spec already exists instead of failing")
	format := fs.String("format", "text", "diagnostics `FORMAT`: text, json or github")
	c.run = func(ctx context.Context, st stdio, files []string) int {
		if len(files) == 0 {
			return c.usageError(st, "give at least one FILE.md")
		}
		if *force && *noClobber {
			return c.usageError(st, "--force and --no-clobber exclude each other")
		}
		return runImport(ctx, st.out, st.errOut, files, impOptions{outDir: *outDir, force: *force, noClobber: *noClobber}, *format)
	}
	return c
}

// impOptions say where and how import writes specs.
type impOptions struct {
	outDir           string // "" writes YAML to stdout
	force, noClobber bool
}

func runImport(ctx context.Context, stdout, stderr io.Writer, files []string, opt impOptions, format string) int {
	outDir := opt.outDir
	f, err := diag.ParseFormat(format)
	if err != nil {
		fmt.Fprintln(stderr, "adgate import:", err)
		return 2
	}
	loader, err := spec.NewLoader()
	if err != nil {
		return errExit(stderr, "import", err)
	}
	if outDir != "" {
		// Two docs with one id would write one file, the second
		// silently replacing the first: refuse before writing any.
		if msg := impSameID(files); msg != "" {
			fmt.Fprintln(stderr, "adgate import:", msg)
			return 1
		}
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
		switch skip, err := impWrite(dest, out, opt); {
		case err != nil:
			fmt.Fprintf(stderr, "adgate import: %s: %v\n", file, err)
			failed++
			continue
		case skip:
			fmt.Fprintf(stderr, "adgate import: %s exists; skipped %s (--no-clobber)\n", dest, file)
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

// impSameID returns a message naming the docs that map to one partner
// id, or "".
func impSameID(files []string) string {
	byID := map[string][]string{}
	var ids []string
	for _, f := range files {
		id, _ := branchdoc.PartnerID(f)
		if byID[id] == nil {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], f)
	}
	var clash []string
	for _, id := range ids {
		if len(byID[id]) > 1 {
			clash = append(clash, fmt.Sprintf("%s map to one partner id, %s (%s.yaml)", strings.Join(byID[id], ", "), id, id))
		}
	}
	if len(clash) == 0 {
		return ""
	}
	return strings.Join(clash, "; ") + "; import them into different -o directories or rename the docs; nothing written"
}

// impWrite writes one spec to dest. It never writes through a symbolic
// link, and replaces an existing file only with --force (with
// --no-clobber it reports skip instead). Without --force the file is
// created exclusively, so one that appears meanwhile is not overwritten;
// with --force it is written to a temporary file and renamed over dest,
// which replaces dest itself, never a file a link points to.
func impWrite(dest string, out []byte, opt impOptions) (skip bool, err error) {
	fi, err := os.Lstat(dest)
	switch {
	case err == nil && fi.Mode()&os.ModeSymlink != 0:
		return false, fmt.Errorf("%s is a symbolic link; adgate import does not write through links (remove it or choose another -o)", dest)
	case err == nil && !fi.Mode().IsRegular():
		return false, fmt.Errorf("%s exists and is not a regular file", dest)
	case err == nil && opt.noClobber:
		return true, nil
	case err == nil && !opt.force:
		return false, fmt.Errorf("%s exists; pass --force to overwrite it (or --no-clobber to skip it)", dest)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	if err := os.MkdirAll(opt.outDir, 0o755); err != nil {
		return false, err
	}
	if !opt.force {
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return false, fmt.Errorf("%s exists; pass --force to overwrite it (or --no-clobber to skip it)", dest)
			}
			return false, err
		}
		if _, err := f.Write(out); err != nil {
			f.Close()
			return false, fmt.Errorf("write %s: %w", dest, err)
		}
		return false, f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write %s: %w", dest, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return false, os.Rename(tmp.Name(), dest)
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
