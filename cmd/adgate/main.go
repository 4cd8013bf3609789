// Command adgate runs ad-partner integrations from declarative YAML specs:
// it validates specs, renders postbacks, imports Branch partner docs and
// serves a postback gateway.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
)

// command is one subcommand as a value, after cmd/go's base.Command: the
// help text, the flags and the completion scripts are all made from it,
// so they cannot disagree.
type command struct {
	// name is the word after adgate.
	name string
	// usage is the usage line after "adgate ", spelling flags as help
	// does (see flagName); several lines are several forms.
	usage string
	// short is the one-line summary in the command list.
	short string
	// long is the help text between the usage line and the flags.
	long string
	// args is what the positional arguments are; argNone rejects any.
	args argKind
	// words lists the accepted words of an argWords command.
	words func() []string
	// flags is the command's flag set. Flags may come before or after the
	// positional arguments; those after "--" are never flags.
	flags *flag.FlagSet
	// run does the work: it gets the positional arguments and returns the
	// exit code: 0 ok, 1 failure, 2 usage error.
	run func(ctx context.Context, st stdio, args []string) int
}

// argKind says what a command's positional arguments are, for argument
// checking and shell completion.
type argKind int

const (
	argNone  argKind = iota // no positional arguments
	argPaths                // files or directories
	argWords                // words from a fixed list (see command.words)
)

// stdio is where a command reads and writes.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
}

// newCommand makes a command with an empty flag set; the caller adds its
// flags and run.
func newCommand(name, usage, short, long string, args argKind) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Parse errors come back as values; help and messages are written by
	// the command, so that help always goes to stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{name: name, usage: usage, short: short, long: long, args: args, flags: fs}
}

// commands lists every subcommand, in the order help lists them; each is
// declared in its own file. It builds fresh values on every call, so no
// flag state outlives one run.
func commands() []*command {
	cmds := []*command{
		validateCmd(),
		testCmd(),
		renderCmd(),
		evalCmd(),
		linkCmd(),
		diffCmd(),
		newCmd(),
		sampleCmd(),
		importCmd(),
		exportCmd(),
		schemaCmd(),
		serveCmd(),
		sinkCmd(),
		versionCmd(),
	}
	// completion and help describe the whole table, themselves included.
	cmds = append(cmds, completionCmd(func() []*command { return cmds }), helpCmd(func() []*command { return cmds }))
	return cmds
}

func commandNames(cmds []*command) []string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	return names
}

func lookup(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs a command on the process's standard streams, stopping it on
// SIGINT or SIGTERM.
func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, stdio{in: os.Stdin, out: os.Stdout, errOut: os.Stderr})
}

func run(ctx context.Context, args []string, st stdio) int {
	cmds := commands()
	if len(args) == 0 {
		writeMainHelp(st.errOut, cmds)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" {
		writeMainHelp(st.out, cmds)
		return 0
	}
	c := lookup(cmds, args[0])
	if c == nil {
		fmt.Fprintf(st.errOut, "adgate: unknown command %q\n\n", args[0])
		writeMainHelp(st.errOut, cmds)
		return 2
	}
	return c.execute(ctx, st, args[1:])
}

// execute parses the flags and runs the command: --help prints the help
// on stdout (exit 0), a flag or argument error goes to stderr (exit 2).
func (c *command) execute(ctx context.Context, st stdio, args []string) int {
	pos, err := parseInterspersed(c.flags, args)
	if errors.Is(err, flag.ErrHelp) {
		c.writeHelp(st.out)
		return 0
	}
	if err != nil {
		return c.usageError(st, respellFlags(err.Error()))
	}
	if c.args == argNone && len(pos) > 0 {
		return c.usageError(st, fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	return c.run(ctx, st, pos)
}

// usageError reports msg and the usage line on stderr, for exit code 2.
func (c *command) usageError(st stdio, msg string) int {
	fmt.Fprintf(st.errOut, "adgate %s: %s\n", c.name, msg)
	c.writeUsage(st.errOut)
	fmt.Fprintf(st.errOut, "Run 'adgate help %s' for details.\n", c.name)
	return 2
}

func (c *command) writeUsage(w io.Writer) {
	for i, l := range strings.Split(c.usage, "\n") {
		if i == 0 {
			fmt.Fprintf(w, "Usage: adgate %s\n", l)
		} else {
			fmt.Fprintf(w, "       adgate %s\n", l)
		}
	}
}

// writeHelp writes what `adgate help CMD` and `adgate CMD --help` print.
func (c *command) writeHelp(w io.Writer) {
	c.writeUsage(w)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.long, "\n"))
	}
	n := 0
	c.flags.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags:\n")
	c.flags.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  %s", flagName(f.Name))
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintln(w)
		if !isZeroDefault(f) {
			if isStringFlag(f) {
				usage += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		for _, l := range strings.Split(usage, "\n") {
			fmt.Fprintf(w, "        %s\n", l)
		}
	})
}

// flagName is how help, usage lines and completion spell a flag: one dash
// for a one-letter flag (-v, -o), two for the others (--format). The
// parser accepts either.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagInMessage finds the flags the flag package names in its errors,
// always with one dash.
var flagInMessage = regexp.MustCompile(`(defined: |argument: |flag |for )-([A-Za-z0-9][A-Za-z0-9_-]*)`)

// respellFlags makes a flag package error spell flags as help does.
func respellFlags(msg string) string {
	return flagInMessage.ReplaceAllStringFunc(msg, func(m string) string {
		sub := flagInMessage.FindStringSubmatch(m)
		return sub[1] + flagName(sub[2])
	})
}

// isZeroDefault reports whether a flag's default is its type's zero value,
// which help does not print.
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return true
	}
	return false
}

// isStringFlag reports whether f holds a string, whose default help
// quotes, as the flag package does.
func isStringFlag(f *flag.Flag) bool {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	_, isString := g.Get().(string)
	return isString
}

func writeMainHelp(w io.Writer, cmds []*command) {
	fmt.Fprintln(w, "adgate runs ad-partner postback integrations from declarative YAML specs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: adgate <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.short)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'adgate help <command>' or 'adgate <command> --help' for a command's flags.")
}

func helpCmd(all func() []*command) *command {
	c := newCommand("help", "help [COMMAND]", "print the help of adgate or of one command",
		"Prints the command list, or COMMAND's usage, description and flags: the same text as 'adgate COMMAND --help'.", argWords)
	c.words = func() []string { return commandNames(all()) }
	c.run = func(_ context.Context, st stdio, args []string) int {
		switch len(args) {
		case 0:
			writeMainHelp(st.out, all())
			return 0
		case 1:
			if sub := lookup(all(), args[0]); sub != nil {
				sub.writeHelp(st.out)
				return 0
			}
			return c.usageError(st, fmt.Sprintf("unknown command %q", args[0]))
		}
		return c.usageError(st, "give at most one command")
	}
	return c
}
