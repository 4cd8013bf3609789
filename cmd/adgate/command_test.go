package main

import (
	"flag"
	"regexp"
	"strings"
	"testing"
)

// TestHelpIsTheSameEverywhere: `adgate help CMD`, `adgate CMD --help` and
// `adgate CMD -h` print one text on stdout and exit 0.
func TestHelpIsTheSameEverywhere(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			code, want, errs := runCLI(t, "help", c.name)
			if code != 0 || errs != "" || !strings.HasPrefix(want, "Usage: adgate "+c.name) {
				t.Fatalf("help %s: exit %d, stderr %q, stdout %q", c.name, code, errs, want)
			}
			for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {c.name, "x", "--help"}} {
				code, got, errs := runCLI(t, args...)
				if code != 0 || errs != "" || got != want {
					t.Errorf("%q: exit %d, stderr %q, stdout differs from help %s:\n%s", args, code, errs, c.name, got)
				}
			}
			c.flags.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(want, "\n  "+flagName(f.Name)) {
					t.Errorf("help does not list %s:\n%s", flagName(f.Name), want)
				}
			})
		})
	}
}

func TestMainHelpAndUnknownCommand(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		out, err   string
		wantOutput bool // the command list is on stdout, else on stderr
	}{
		{[]string{}, 2, "", "Commands:", false},
		{[]string{"help"}, 0, "Commands:", "", true},
		{[]string{"--help"}, 0, "Commands:", "", true},
		{[]string{"-h"}, 0, "Commands:", "", true},
		{[]string{"nope"}, 2, "", `unknown command "nope"`, false},
		{[]string{"help", "nope"}, 2, "", `unknown command "nope"`, false},
		{[]string{"help", "test", "render"}, 2, "", "at most one command", false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.err) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tt.code, out, tt.out, errs, tt.err)
			}
			if tt.wantOutput != (out != "") {
				t.Errorf("stdout %q", out)
			}
		})
	}
	// Every command is listed with its summary.
	_, out, _ := runCLI(t, "help")
	for _, c := range commands() {
		if !strings.Contains(out, "  "+c.name+" ") || !strings.Contains(out, c.short) {
			t.Errorf("command list lacks %s:\n%s", c.name, out)
		}
	}
}

// flagRef is a flag as text mentions it: its dashes, its name and the
// word after it.
var flagRef = regexp.MustCompile(`(?:^|[\s\[(|'` + "`" + `])(-{1,2})([a-z][a-z0-9-]*)(?:[ =]([^\s\])]+))?`)

// TestUsageSpellsFlagsAsHelp: usage lines, descriptions and flag help
// spell every flag as the flag list does (flagName), every flag a usage
// line names exists, and its placeholder is the one its help shows.
func TestUsageSpellsFlagsAsHelp(t *testing.T) {
	cmds := commands()
	known := map[string]bool{}
	for _, c := range cmds {
		c.flags.VisitAll(func(f *flag.Flag) { known[f.Name] = true })
	}
	for _, c := range cmds {
		for _, m := range flagRef.FindAllStringSubmatch(c.usage, -1) {
			dashes, name, word := m[1], m[2], m[3]
			f := c.flags.Lookup(name)
			if f == nil {
				t.Errorf("%s: usage line names %s%s, which is not one of its flags", c.name, dashes, name)
				continue
			}
			if dashes+name != flagName(name) {
				t.Errorf("%s: usage line spells %s%s, help spells %s", c.name, dashes, name, flagName(name))
			}
			placeholder, _ := flag.UnquoteUsage(f)
			if placeholder != "" && word != placeholder && !strings.Contains(word, "|") {
				t.Errorf("%s: usage line says %s %s, help says %s %s", c.name, flagName(name), word, flagName(name), placeholder)
			}
		}
		texts := []string{c.long}
		c.flags.VisitAll(func(f *flag.Flag) { texts = append(texts, f.Usage) })
		for _, text := range texts {
			for _, m := range flagRef.FindAllStringSubmatch(text, -1) {
				dashes, name := m[1], m[2]
				if known[name] && dashes+name != flagName(name) {
					t.Errorf("%s: help text spells %s%s, the flag list %s", c.name, dashes, name, flagName(name))
				}
			}
		}
	}
}

// TestFlagsAfterPaths: every command takes its flags before or after its
// arguments, and "--" ends the flags.
func TestFlagsAfterPaths(t *testing.T) {
	dir := cleverTapDir(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"test -v after the path", []string{"test", dir, "-v"}, 0, "--- PASS: clevertap/"},
		{"test -v before the path", []string{"test", "-v", dir}, 0, "--- PASS: clevertap/"},
		{"validate --strict after the path", []string{"validate", dir, "--strict"}, 0, ""},
		{"a path after --", []string{"test", "--", "-v"}, 1, ""},
		{"render flags in any order", []string{"render", "--format", "json", "--partners", dir, "--event", ctEvent, "--partner", "clevertap"}, 0, `"partner": "clevertap"`},
		{"no positional argument for render", []string{"render", "extra", "--partner", "clevertap", "--event", ctEvent, "--partners", dir}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) {
				t.Errorf("exit %d (want %d), stdout lacks %q:\n%s%s", code, tt.code, tt.out, out, errs)
			}
		})
	}
}

// TestUsageErrors: a flag or argument error names the command, spells
// flags as help does, shows the usage line on stderr and exits 2.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"render", "-bogus"}, "flag provided but not defined: --bogus"},
		{[]string{"link", "--partner"}, "flag needs an argument: --partner"},
		{[]string{"schema", "extra"}, `unexpected argument "extra"`},
		{[]string{"sink", "--status", "abc"}, `invalid value "abc" for flag --status`},
		{[]string{"test", "--v=x"}, `invalid boolean value "x" for -v`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(t, tt.args...)
		want := "adgate " + tt.args[0] + ": " + tt.msg
		if code != 2 || out != "" || !strings.HasPrefix(errs, want) || !strings.Contains(errs, "\nUsage: adgate "+tt.args[0]) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, want it to start with %q", tt.args, code, out, errs, want)
		}
	}
}
