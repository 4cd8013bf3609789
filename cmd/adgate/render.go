package main

import (
	"context"

	"github.com/adgate/adgate/engine/render"
)

func renderCmd() *command {
	c := newCommand("render", "render --partner ID --event FILE [--account FILE] [--partners DIR] [--postback NAME] [--explain] [--format text|json|curl]",
		"render the postbacks a partner sends for one event",
		`Renders the requests partner ID sends for the event, and the postbacks it skips with their reason.
--event - reads the event from stdin.`, argNone)
	fs := c.flags
	partner := fs.String("partner", "", "partner `ID` (the spec is DIR/ID.yaml or DIR/ID.yml)")
	eventFile := fs.String("event", "", "Branch event JSON `FILE` (- for stdin)")
	accountFile := fs.String("account", "", "account YAML `FILE`: credentials, app.app_bundles, settings")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	postback := fs.String("postback", "", "render the postback of this `NAME`, or every postback of this event key, whatever the event's name selects")
	explain := fs.Bool("explain", false, "list each macro's value, Branch parameter and source")
	format := fs.String("format", "text", "output `FORMAT`: text, json or curl")
	c.run = func(ctx context.Context, st stdio, _ []string) int {
		stderr := st.errOut
		f, err := parseRenderFormat(*format)
		if err != nil {
			return c.usageError(st, err.Error())
		}
		if *partner == "" || *eventFile == "" {
			return c.usageError(st, "--partner and --event are required")
		}
		cp, err := compilePartner(ctx, *dir, *partner, stderr)
		if err != nil {
			return errExit(stderr, "render", err)
		}
		ev, acct, err := readInputs(st.in, *eventFile, *accountFile)
		if err != nil {
			return errExit(stderr, "render", err)
		}
		res, err := cp.Render(ev, acct, render.Options{Postback: *postback, Explain: *explain})
		if err != nil {
			return errExit(stderr, "render", err)
		}
		if err := writeResult(st.out, res, f); err != nil {
			return errExit(stderr, "render", err)
		}
		return 0
	}
	return c
}
