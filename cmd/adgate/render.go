package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// defaultPartnersDir is where render, eval, link and test look for specs.
const defaultPartnersDir = "partners"

func runRender(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	partner := fs.String("partner", "", "partner `ID` (the spec is DIR/ID.yaml)")
	eventFile := fs.String("event", "", "Branch event JSON `FILE`")
	accountFile := fs.String("account", "", "account YAML `FILE`: credentials, app.app_bundles, settings")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	postback := fs.String("postback", "", "render this postback `KEY` whatever the event's name selects")
	explain := fs.Bool("explain", false, "list each macro's value, Branch parameter and source")
	format := fs.String("format", "text", "output format: text, json or curl")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: adgate render --partner ID --event FILE [--account FILE] [--partners DIR] [--postback KEY] [--explain] [--format text|json|curl]")
		fmt.Fprintln(stderr, "\nRenders the requests partner ID sends for the event, and the postbacks it skips with their reason.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	f, err := render.ParseFormat(*format)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	if *partner == "" || *eventFile == "" {
		return usageError(fs, stderr, "--partner and --event are required")
	}
	cp, err := compilePartner(ctx, *dir, *partner, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "adgate render:", err)
		return 1
	}
	ev, err := readEvent(*eventFile)
	if err != nil {
		fmt.Fprintln(stderr, "adgate render:", err)
		return 1
	}
	acct, err := readAccount(*accountFile)
	if err != nil {
		fmt.Fprintln(stderr, "adgate render:", err)
		return 1
	}
	res, err := cp.Render(ev, acct, render.Options{Postback: *postback, Explain: *explain})
	if err != nil {
		fmt.Fprintln(stderr, "adgate render:", err)
		return 1
	}
	if err := res.Write(stdout, f); err != nil {
		fmt.Fprintln(stderr, "adgate render:", err)
		return 1
	}
	return 0
}

// parseFlags parses args; done is true when the command must return code
// right away (help asked for: 0; a flag error: 2).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 && fs.Name() != "test" {
		fmt.Fprintf(fs.Output(), "adgate %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2, true
	}
	return 0, false
}

func usageError(fs *flag.FlagSet, stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "adgate %s: %s\n", fs.Name(), msg)
	fs.Usage()
	return 2
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
		return &render.Account{}, nil
	}
	return render.LoadAccount(path)
}
