// Command adgate runs ad-partner integrations from declarative YAML specs:
// it validates specs, renders postbacks, imports Branch partner docs and
// serves a postback gateway.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command name
// and returns the process exit code: 0 ok, 1 failure, 2 usage error.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands lists every subcommand; each lives in its own file.
func commands() map[string]command {
	return map[string]command{
		// Each subcommand registers here, one line each, defined in <name>.go.
		"validate": {"validate partner specs (schema and lint) for CI and editors", runValidate},
		"schema":   {"print the embedded partner spec JSON Schema (or --catalog)", runSchema},
		"import":   {"import Branch partner docs (markdown) as partner specs", runImport},
		"export":   {"write a partner spec back as a Branch partner doc", runExport},
		"render":   {"render the postbacks a partner sends for one event", runRender},
		"eval":     {"evaluate one template on an event's data model (a template playground)", runEval},
		"link":     {"print a partner's tracking-link template", runLink},
		"test":     {"run partner fixture cases (partners/<id>.test.yaml)", runTest},
		"serve":    {"run the postback gateway: HTTP ingest, durable queue, delivery", runServe},
		"sink":     {"run a capture server that answers and records postbacks (demos, tests)", runSink},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "adgate: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "adgate runs ad-partner postback integrations from declarative YAML specs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: adgate <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'adgate <command> --help' for a command's flags.")
}
