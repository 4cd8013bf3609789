package main

// What the subcommands share: flag parsing, error exits,
// and loading partner specs, events and accounts.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// defaultPartnersDir is where render, eval, link and test look for specs.
const defaultPartnersDir = "partners"

// parseInterspersed parses flags that may come before or after the
// positional arguments, as in `adgate import a.md b.md -o partners`, and
// returns the positional ones; those after "--" are never flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		// Parse stops at the first positional argument, or after a "--"
		// it consumes: then everything left is positional.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// errExit reports err as command cmd's failure and returns exit code 1.
func errExit(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintln(stderr, "adgate "+cmd+":", err)
	return 1
}

// loadSpec loads DIR/ID.yaml (or DIR/ID.yml) through the spec loader, so
// that a spec with an error diagnostic is never used. Diagnostics go to
// stderr.
func loadSpec(ctx context.Context, dir, id string, stderr io.Writer) (*spec.Partner, *spec.Loader, error) {
	l, err := spec.NewLoader()
	if err != nil {
		return nil, nil, err
	}
	path, err := spec.FindFile(dir, id)
	if err != nil {
		return nil, nil, err
	}
	p, err := loadSpecWith(ctx, l, path, stderr)
	return p, l, err
}

func loadSpecWith(ctx context.Context, l *spec.Loader, path string, stderr io.Writer) (*spec.Partner, error) {
	p, ds, err := l.LoadFile(ctx, path)
	if len(ds) > 0 {
		if werr := ds.Write(stderr, diag.Text); werr != nil {
			return nil, werr
		}
	}
	if err != nil {
		var le diag.ListError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("%s does not validate (%d error(s) above); run adgate validate %s", path, diag.List(le).Count(diag.Error), path)
		}
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("%s: no partner loaded", path)
	}
	return p, nil
}

func compilePartner(ctx context.Context, dir, id string, stderr io.Writer) (*render.Partner, error) {
	p, l, err := loadSpec(ctx, dir, id, stderr)
	if err != nil {
		return nil, err
	}
	return render.Compile(p, l.Catalog())
}

// readInputs reads the event file and the account file (none: an empty
// account), the data a postback or template is rendered on. The event
// file "-" is stdin.
func readInputs(stdin io.Reader, eventFile, accountFile string) (*event.Event, *render.Account, error) {
	ev, err := readEvent(stdin, eventFile)
	if err != nil {
		return nil, nil, err
	}
	acct, err := readAccount(accountFile)
	if err != nil {
		return nil, nil, err
	}
	return ev, acct, nil
}

// readEvent reads an event file ("-": stdin), checks it against the event
// schema and decodes it.
func readEvent(stdin io.Reader, path string) (*event.Event, error) {
	b, name, err := readFileOrStdin(stdin, path)
	if err != nil {
		return nil, fmt.Errorf("reading event: %w", err)
	}
	v, err := event.NewValidator()
	if err != nil {
		return nil, err
	}
	if err := v.Validate(b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ev, err := event.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ev, nil
}

// maxStdinBytes bounds what a command reads from stdin, as the file
// loaders bound files.
const maxStdinBytes = 4 << 20

// readFileOrStdin reads path, or stdin when path is "-"; name is what
// messages call it.
func readFileOrStdin(stdin io.Reader, path string) (b []byte, name string, err error) {
	if path != "-" {
		b, err = os.ReadFile(path)
		return b, path, err
	}
	b, err = io.ReadAll(io.LimitReader(stdin, maxStdinBytes+1))
	if err != nil {
		return nil, "stdin", fmt.Errorf("stdin: %w", err)
	}
	if len(b) > maxStdinBytes {
		return nil, "stdin", fmt.Errorf("stdin: larger than %d bytes", maxStdinBytes)
	}
	return b, "stdin", nil
}

// readAccount loads the account file; no file means an empty account.
func readAccount(path string) (*render.Account, error) {
	if path == "" {
		return account.New(account.Data{}), nil
	}
	return account.Load(path)
}
