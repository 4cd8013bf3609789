package main

import (
	"context"
	"fmt"

	"github.com/adgate/adgate/engine/render"
)

func linkCmd() *command {
	c := newCommand("link", "link --partner ID [--base URL] [--partners DIR]",
		"print a partner's tracking-link template",
		`Prints the tracking link to give the partner: the base link with $3p, ~advertising_partner_name,
every parameter the link carries and the link-only parameters; {macro} braces are left for the partner to fill.`, argNone)
	fs := c.flags
	partner := fs.String("partner", "", "partner `ID`")
	base := fs.String("base", render.DefaultLinkBase, "your Branch link `URL`")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	c.run = func(ctx context.Context, st stdio, _ []string) int {
		stderr := st.errOut
		if *partner == "" {
			return c.usageError(st, "--partner is required")
		}
		p, l, err := loadSpec(ctx, *dir, *partner, stderr)
		if err != nil {
			return errExit(stderr, "link", err)
		}
		link, err := render.TrackingLink(p, l.Catalog(), *base)
		if err != nil {
			return errExit(stderr, "link", err)
		}
		fmt.Fprintln(st.out, link)
		return 0
	}
	return c
}
