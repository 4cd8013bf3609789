package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// gitRepo makes a git repository in dir with the catalog committed under
// partners/, for commands that read a base revision.
func gitRepo(t *testing.T, dir string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on PATH")
	}
	copyCatalog(t, filepath.Join(dir, "partners"))
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "catalog"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestGitHubWorkflowCommands runs every adgate command of the example
// workflow, as its steps write them, on the catalog with a pull request's
// change: a flag renamed in the CLI fails here, not in a user's CI.
func TestGitHubWorkflowCommands(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", "github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gitRepo(t, dir)
	editCatalog(t, filepath.Join(dir, "partners"))
	// The pull request's author updates the expectations the change moves.
	if code, out, errOut := runChildIn(t, dir, "", "test", "--update", "partners"); code != 0 {
		t.Fatalf("test --update: exit %d\n%s%s", code, out, errOut)
	}
	// The checkout's base branch is origin/$BASE_REF; here it is HEAD,
	// the commit before the edit.
	subst := strings.NewReplacer(`"origin/$BASE_REF"`, "HEAD")
	ran := 0
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			for _, line := range strings.Split(step.Run, "\n") {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "mkdir -p ") {
					if err := os.MkdirAll(filepath.Join(dir, strings.TrimPrefix(line, "mkdir -p ")), 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if !strings.HasPrefix(line, "adgate ") {
					continue
				}
				cmd, redirect, _ := strings.Cut(subst.Replace(line), ">")
				args := strings.Fields(cmd)[1:]
				code, out, errOut := runChildIn(t, dir, "", args...)
				if code != 0 {
					t.Errorf("%s: exit %d\n%s%s", line, code, out, errOut)
				}
				if redirect = strings.TrimSpace(redirect); redirect != "" {
					if !strings.HasPrefix(out, "### adgate diff") {
						t.Errorf("%s: the comment body does not start with the summary heading:\n%s", line, out)
					}
				}
				if strings.Contains(line, "--format github") && strings.HasPrefix(args[0], "diff") && !strings.Contains(out, "::notice file=partners/adcash.yaml,line=13") {
					t.Errorf("%s: no annotation on the changed spec line:\n%s", line, out)
				}
				ran++
			}
		}
	}
	if ran < 4 {
		t.Errorf("ran %d adgate commands from the workflow, want validate, test and two diffs", ran)
	}
	if _, err := os.Stat(filepath.Join(dir, "test-results", "adgate.xml")); err != nil {
		t.Errorf("the test step wrote no JUnit report: %v", err)
	}
}

// TestPreCommitHook runs the hook's entry on the files its patterns
// select in the catalog: every spec, no fixture.
func TestPreCommitHook(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID, Entry, Files, Exclude, Language string
	}
	if err := yaml.Unmarshal(b, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 || hooks[0].ID != "adgate-validate" || hooks[0].Language != "golang" {
		t.Fatalf("hooks = %+v", hooks)
	}
	h := hooks[0]
	files, exclude := regexp.MustCompile(h.Files), regexp.MustCompile(h.Exclude)
	ents, err := os.ReadDir(filepath.Join("..", "..", "partners"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyCatalog(t, filepath.Join(dir, "partners"))
	var picked []string
	for _, e := range ents {
		p := "partners/" + e.Name()
		if files.MatchString(p) && !exclude.MatchString(p) {
			picked = append(picked, p)
		}
	}
	if len(picked) != 66 {
		t.Errorf("the hook selects %d files, want the 66 specs", len(picked))
	}
	entry := strings.Fields(h.Entry)
	if entry[0] != "adgate" {
		t.Fatalf("entry %q does not run adgate", h.Entry)
	}
	code, out, errOut := runChildIn(t, dir, "", append(entry[1:], picked...)...)
	if code != 0 {
		t.Errorf("%s: exit %d\n%s%s", h.Entry, code, out, errOut)
	}
}
