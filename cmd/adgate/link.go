package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/adgate/adgate/engine/render"
)

const linkUsage = `Usage: adgate link --partner ID [--base URL] [--partners DIR]

Prints the tracking link to give the partner: the base link with $3p, ~advertising_partner_name,
every parameter the link carries and the link-only parameters; {macro} braces are left for the partner to fill.

Flags:
`

func runLink(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	setUsage(fs, stderr, linkUsage)
	partner := fs.String("partner", "", "partner `ID`")
	base := fs.String("base", render.DefaultLinkBase, "your Branch link `URL`")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *partner == "" {
		return usageError(fs, stderr, "--partner is required")
	}
	p, l, err := loadSpec(ctx, *dir, *partner, stderr)
	if err != nil {
		return errExit(stderr, "link", err)
	}
	link, err := render.TrackingLink(p, l.Catalog(), *base)
	if err != nil {
		return errExit(stderr, "link", err)
	}
	fmt.Fprintln(stdout, link)
	return 0
}
