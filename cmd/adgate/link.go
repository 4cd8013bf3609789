package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/adgate/adgate/engine/render"
)

func runLink(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	partner := fs.String("partner", "", "partner `ID`")
	base := fs.String("base", render.DefaultLinkBase, "your Branch link `URL`")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: adgate link --partner ID [--base URL] [--partners DIR]")
		fmt.Fprintln(stderr, "\nPrints the tracking link to give the partner: the base link with $3p, ~advertising_partner_name,")
		fmt.Fprintln(stderr, "every parameter the link carries and the link-only parameters; {macro} braces are left for the partner to fill.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *partner == "" {
		return usageError(fs, stderr, "--partner is required")
	}
	p, l, err := loadSpec(ctx, *dir, *partner, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "adgate link:", err)
		return 1
	}
	link, err := render.TrackingLink(p, l.Catalog(), *base)
	if err != nil {
		fmt.Fprintln(stderr, "adgate link:", err)
		return 1
	}
	fmt.Fprintln(stdout, link)
	return 0
}
