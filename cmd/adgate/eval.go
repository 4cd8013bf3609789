package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/template"
)

func evalCmd() *command {
	c := newCommand("eval", "eval (--template TEXT | --template-file FILE) [--event FILE] [--account FILE] [--partner ID] [--partners DIR]",
		"evaluate one template on an event's data model (a template playground)",
		`Prints the template's output on the event's data model, byte for byte (no newline added).
On error prints it with its line and column and exits 1. {macro} text is not expanded here.
Without --event the model has no event fields (${1+1} works, ${name} is missing).
--template - and --template-file - read the template from stdin, --event - the event.`, argNone)
	fs := c.flags
	text := fs.String("template", "", "template `TEXT` (- for stdin)")
	file := fs.String("template-file", "", "read the template from `FILE` (- for stdin)")
	eventFile := fs.String("event", "", "Branch event JSON `FILE` (- for stdin; default: no event)")
	accountFile := fs.String("account", "", "account YAML `FILE`: its credentials become ad_network.credentials and its app becomes app (settings reach only catalog parameters such as GOAL_ID)")
	partner := fs.String("partner", "", "partner `ID` whose machine name and name fill ad_network")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	c.run = func(ctx context.Context, st stdio, _ []string) int {
		stdout, stderr := st.out, st.errOut
		if (*text == "") == (*file == "") {
			return c.usageError(st, "give one of --template and --template-file")
		}
		if *text == "-" {
			*file = "-"
		}
		if *file == "-" && *eventFile == "-" {
			return c.usageError(st, "only one of the template and the event can come from stdin")
		}
		name, src := "--template", *text
		if *file != "" {
			b, fname, err := readFileOrStdin(st.in, *file)
			if err != nil {
				return errExit(stderr, "eval", err)
			}
			name, src = fname, string(b)
		}
		ev := event.Empty()
		if *eventFile != "" {
			var err error
			if ev, err = readEvent(st.in, *eventFile); err != nil {
				return errExit(stderr, "eval", err)
			}
		}
		acct, err := readAccount(*accountFile)
		if err != nil {
			return errExit(stderr, "eval", err)
		}
		var model template.Value
		if *partner != "" {
			cp, err := compilePartner(ctx, *dir, *partner, stderr)
			if err != nil {
				return errExit(stderr, "eval", err)
			}
			model = cp.Model(ev, acct)
		} else {
			model = event.Model(ev, acct.AppValue(), acct.NetworkValue("", ""))
		}
		t, err := template.Parse(name, src, template.Options{})
		if err == nil {
			var out string
			if out, err = t.ExecuteString(model, nil); err == nil {
				if _, err := io.WriteString(stdout, out); err != nil {
					return errExit(stderr, "eval", err)
				}
				return 0
			}
		}
		var te *template.Error
		if errors.As(err, &te) {
			d := diag.Diagnostic{File: name, Range: diag.Point(te.Line, te.Col), Severity: diag.Error, Rule: te.Rule, Message: te.Msg}
			fmt.Fprintln(stderr, d.String())
			return 1
		}
		return errExit(stderr, "eval", err)
	}
	return c
}
