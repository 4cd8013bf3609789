package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/event"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/template"
)

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	text := fs.String("template", "", "template `TEXT`")
	file := fs.String("template-file", "", "read the template from `FILE`")
	eventFile := fs.String("event", "", "Branch event JSON `FILE`")
	accountFile := fs.String("account", "", "account YAML `FILE` (ad_network.credentials, app, settings)")
	partner := fs.String("partner", "", "partner `ID` whose machine name and name fill ad_network")
	dir := fs.String("partners", defaultPartnersDir, "`DIR`ectory of partner specs")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: adgate eval (--template TEXT | --template-file FILE) --event FILE [--account FILE] [--partner ID] [--partners DIR]")
		fmt.Fprintln(stderr, "\nPrints the template's output on the event's data model, byte for byte (no newline added).")
		fmt.Fprintln(stderr, "On error prints it with its line and column and exits 1. {macro} text is not expanded here.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if (*text == "") == (*file == "") {
		return usageError(fs, stderr, "give one of --template and --template-file")
	}
	if *eventFile == "" {
		return usageError(fs, stderr, "--event is required")
	}
	name, src := "--template", *text
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			fmt.Fprintln(stderr, "adgate eval:", err)
			return 1
		}
		name, src = *file, string(b)
	}
	ev, err := readEvent(*eventFile)
	if err != nil {
		fmt.Fprintln(stderr, "adgate eval:", err)
		return 1
	}
	acct, err := readAccount(*accountFile)
	if err != nil {
		fmt.Fprintln(stderr, "adgate eval:", err)
		return 1
	}
	var model template.Value
	if *partner != "" {
		cp, err := compilePartner(ctx, *dir, *partner, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "adgate eval:", err)
			return 1
		}
		model = cp.Model(ev, acct)
	} else {
		model = event.Model(ev, accountApp(acct), event.NetworkValue(event.Network{Credentials: acct.Credentials}))
	}
	t, err := template.Parse(name, src, template.Options{})
	if err == nil {
		var out string
		if out, err = t.ExecuteString(model, nil); err == nil {
			if _, err := io.WriteString(stdout, out); err != nil {
				fmt.Fprintln(stderr, "adgate eval:", err)
				return 1
			}
			return 0
		}
	}
	var te *template.Error
	if errors.As(err, &te) {
		d := diag.Diagnostic{File: name, Line: te.Line, Col: te.Col, Severity: diag.Error, Rule: te.Rule, Message: te.Msg}
		fmt.Fprintln(stderr, d.String())
		return 1
	}
	fmt.Fprintln(stderr, "adgate eval:", err)
	return 1
}

func accountApp(acct *render.Account) template.Value {
	if len(acct.App.Bundles) == 0 {
		return template.Missing()
	}
	return event.AppValue(acct.App.Bundles)
}
