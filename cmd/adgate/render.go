package main

import (
	"context"
	"flag"
	"io"

	"github.com/adgate/adgate/engine/render"
)

const renderUsage = `Usage: adgate render --partner ID --event FILE [--account FILE] [--partners DIR] [--postback KEY] [--explain] [--format text|json|curl]

Renders the requests partner ID sends for the event, and the postbacks it skips with their reason.

Flags:
`

func runRender(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	setUsage(fs, stderr, renderUsage)
	partner := fs.String("partner", "", "partner `ID` (the spec is DIR/ID.yaml)")
	eventFile := fs.String("event", "", "Branch event JSON `FILE`")
	accountFile := fs.String("account", "", "account YAML `FILE`: credentials, app.app_bundles, settings")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	postback := fs.String("postback", "", "render this postback `KEY` whatever the event's name selects")
	explain := fs.Bool("explain", false, "list each macro's value, Branch parameter and source")
	format := fs.String("format", "text", "output format: text, json or curl")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	f, err := parseRenderFormat(*format)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	if *partner == "" || *eventFile == "" {
		return usageError(fs, stderr, "--partner and --event are required")
	}
	cp, err := compilePartner(ctx, *dir, *partner, stderr)
	if err != nil {
		return errExit(stderr, "render", err)
	}
	ev, acct, err := readInputs(*eventFile, *accountFile)
	if err != nil {
		return errExit(stderr, "render", err)
	}
	res, err := cp.Render(ev, acct, render.Options{Postback: *postback, Explain: *explain})
	if err != nil {
		return errExit(stderr, "render", err)
	}
	if err := writeResult(stdout, res, f); err != nil {
		return errExit(stderr, "render", err)
	}
	return 0
}
