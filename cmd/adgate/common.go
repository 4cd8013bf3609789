package main

// What the subcommands share: flag parsing and usage text, error exits,
// and loading partner specs, events and accounts.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/adgate/adgate/engine/account"
	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// defaultPartnersDir is where render, eval, link and test look for specs.
const defaultPartnersDir = "partners"

// printUsage writes a command's usage text, then its flags, to w.
func printUsage(w io.Writer, fs *flag.FlagSet, text string) {
	fmt.Fprint(w, text)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// setUsage sends fs's messages to w and makes its usage text, then its
// flags, what it prints on -h and on a flag error.
func setUsage(fs *flag.FlagSet, w io.Writer, text string) {
	fs.SetOutput(w)
	fs.Usage = func() { printUsage(w, fs, text) }
}

// flagExit is the exit code for an error from parsing flags: 0 when help
// was asked for, 2 (usage error) otherwise.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// parseFlags parses the flags of a command that takes no positional
// arguments; done is true when the command must return code right away
// (help asked for: 0; a flag error or an argument: 2).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		return flagExit(err), true
	}
	if err := noArgs(fs); err != nil {
		return usageError(fs, fs.Output(), err.Error()), true
	}
	return 0, false
}

// noArgs is the error for positional arguments left after the flags of a
// command that takes none.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, as in `adgate import a.md b.md -o partners`, and
// returns the positional ones; those after "--" are never flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// usageError reports msg and the usage text, for exit code 2.
func usageError(fs *flag.FlagSet, stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "adgate %s: %s\n", fs.Name(), msg)
	fs.Usage()
	return 2
}

// quietUsageExit handles a flag error of a command whose flag set is
// silent (validate, schema, sink): help goes to stdout with exit code 0,
// any other error to stderr with the usage text and exit code 2.
func quietUsageExit(stdout, stderr io.Writer, fs *flag.FlagSet, text string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs, text)
		return 0
	}
	fmt.Fprintf(stderr, "adgate %s: %v\n", fs.Name(), err)
	printUsage(stderr, fs, text)
	return 2
}

// errExit reports err as command cmd's failure and returns exit code 1.
func errExit(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintln(stderr, "adgate "+cmd+":", err)
	return 1
}

// loadSpec loads DIR/ID.yaml through the spec loader, so that a spec with
// an error diagnostic is never used. Diagnostics go to stderr.
func loadSpec(ctx context.Context, dir, id string, stderr io.Writer) (*spec.Partner, *spec.Loader, error) {
	l, err := spec.NewLoader()
	if err != nil {
		return nil, nil, err
	}
	p, err := loadSpecWith(ctx, l, filepath.Join(dir, id+".yaml"), stderr)
	return p, l, err
}

func loadSpecWith(ctx context.Context, l *spec.Loader, path string, stderr io.Writer) (*spec.Partner, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no spec for this partner: %w", err)
	}
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
// account), the data a postback or template is rendered on.
func readInputs(eventFile, accountFile string) (*event.Event, *render.Account, error) {
	ev, err := readEvent(eventFile)
	if err != nil {
		return nil, nil, err
	}
	acct, err := readAccount(accountFile)
	if err != nil {
		return nil, nil, err
	}
	return ev, acct, nil
}

// readEvent reads an event file, checks it against the event schema and
// decodes it.
func readEvent(path string) (*event.Event, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading event: %w", err)
	}
	v, err := event.NewValidator()
	if err != nil {
		return nil, err
	}
	if err := v.Validate(b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ev, err := event.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ev, nil
}

// readAccount loads the account file; no file means an empty account.
func readAccount(path string) (*render.Account, error) {
	if path == "" {
		return account.New(account.Data{}), nil
	}
	return account.Load(path)
}
