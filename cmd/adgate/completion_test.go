package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionScriptsCoverTheCommandTable: every script names every
// command and every flag as help spells it, and the shell accepts it.
func TestCompletionScriptsCoverTheCommandTable(t *testing.T) {
	for _, shell := range completionShells() {
		t.Run(shell, func(t *testing.T) {
			code, script, errs := runCLI(t, "completion", shell)
			if code != 0 || errs != "" {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, c := range commands() {
				if !strings.Contains(script, c.name) {
					t.Errorf("script lacks command %s", c.name)
				}
				c.flags.VisitAll(func(f *flag.Flag) {
					want := flagName(f.Name)
					if shell == "fish" { // fish spells options as -l name / -s n
						want = map[bool]string{true: "-s ", false: "-l "}[len(f.Name) == 1] + f.Name
					}
					if !strings.Contains(script, want) {
						t.Errorf("script lacks %s's flag %s", c.name, want)
					}
				})
			}
			path, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s is not installed: syntax not checked", shell)
			}
			file := filepath.Join(t.TempDir(), "adgate."+shell)
			if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(path, "-n", file).CombinedOutput(); err != nil {
				t.Errorf("%s -n rejects the script: %v\n%s", shell, err, out)
			}
		})
	}
}

// TestBashCompletionCompletes runs the bash script's completion function
// on command lines and checks what it offers.
func TestBashCompletionCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	_, script, _ := runCLI(t, "completion", "bash")
	dir := t.TempDir()
	file := filepath.Join(dir, "adgate.bash")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clevertap.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		words []string // the command line; the last word is being completed
		want  string   // COMPREPLY, space-separated
	}{
		{[]string{"adgate", "val"}, "validate"},
		{[]string{"adgate", "co"}, "completion"},
		{[]string{"adgate", "test", "-"}, "--junit --run --update -v"},
		{[]string{"adgate", "render", "--par"}, "--partner --partners"},
		{[]string{"adgate", "validate", "--f"}, "--format"},
		{[]string{"adgate", "completion", ""}, "bash zsh fish"},
		{[]string{"adgate", "help", "se"}, "serve"},
		{[]string{"adgate", "test", "clev"}, "clevertap.yaml"},
		{[]string{"adgate", "render", "--event", "clev"}, "clevertap.yaml"},
		{[]string{"adgate", "render", "--format", ""}, "text json curl"},
		{[]string{"adgate", "validate", "--format", "g"}, "github"},
		{[]string{"adgate", "version", ""}, ""},
		{[]string{"adgate", "nope", "-"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			var quoted []string
			for _, w := range tt.words {
				quoted = append(quoted, "'"+w+"'")
			}
			prog := "source " + file + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
				strconv.Itoa(len(tt.words)-1) + "\n_adgate\necho \"${COMPREPLY[*]}\"\n"
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("offered %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompletionUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		if code, out, errs := runCLI(t, args...); code != 2 || out != "" || !strings.Contains(errs, "give one shell: bash, zsh, fish") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

// TestFishCompletionCompletes asks fish what it offers on command lines.
func TestFishCompletionCompletes(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish is not installed")
	}
	_, script, _ := runCLI(t, "completion", "fish")
	file := filepath.Join(t.TempDir(), "adgate.fish")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ line, want string }{
		{"adgate vali", "validate\tvalidate partner specs (schema and lint) for CI and editors"},
		{"adgate test --u", "--update\trewrite the expectations of failing cases to their current output"},
		{"adgate link --par", "--partner\tpartner ID\n--partners\tDIRectory of partner specs"},
		{"adgate completion z", "zsh"},
		{"adgate import --format j", "json\tdiagnostics FORMAT: text, json or github"},
	}
	for _, tt := range tests {
		out, err := exec.Command(fish, "--no-config", "-c", "source "+file+"; complete -C '"+tt.line+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tt.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tt.want {
			t.Errorf("%q: offered %q, want %q", tt.line, got, tt.want)
		}
	}
}
