// Package specdiff compares what two versions of a set of partner specs
// send for the same events: per partner and postback, the changes in
// method, URL (per query parameter), headers and body, and the postbacks
// that start or stop being sent. It is the engine behind `adgate diff`.
//
// Both versions are rendered by package render, so a difference in the
// report is a difference the partner will see, not a textual one in YAML.
package specdiff

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/engine/diag"
	"github.com/adgate/adgate/engine/internal/yamlx"
	"github.com/adgate/adgate/engine/render"
	"github.com/adgate/adgate/engine/spec"
)

// File is one spec file's name and bytes.
type File struct {
	// Path names the file in diagnostics and in the report; its base name
	// must be <id>.yaml or <id>.yml, as for any spec.
	Path string
	Data []byte
}

// Version is one loaded version of a set of partner specs.
type Version struct {
	// Label names the version in reports: a directory or REV:DIR.
	Label string
	specs map[string]*loaded
}

// loaded is one partner of a Version.
type loaded struct {
	path    string
	data    []byte
	partner *spec.Partner
	cp      *render.Partner
	sel     *spec.Selection
	root    *yaml.Node // for the positions of report entries
}

// IDs returns the partner ids of the version.
func (v *Version) IDs() []string {
	ids := make([]string, 0, len(v.specs))
	for id := range v.specs {
		ids = append(ids, id)
	}
	return ids
}

// Load checks and compiles files as one version. A file with an error
// diagnostic makes the version unusable: a diff against a spec that does
// not load would report its every postback as stopped. The diagnostics
// (warnings too) are returned; err is a diag.ListError when any is an
// error.
func Load(ctx context.Context, l *spec.Loader, label string, files []File) (*Version, diag.List, error) {
	v := &Version{Label: label, specs: map[string]*loaded{}}
	var all diag.List
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, all, err
		}
		p, ds := l.Check(f.Path, f.Data)
		all = append(all, ds...)
		if p == nil {
			continue
		}
		if prev, dup := v.specs[p.ID]; dup {
			all = append(all, diag.Diagnostic{File: f.Path, Severity: diag.Error, Rule: spec.RuleDuplicateID,
				Message: fmt.Sprintf("partner id %q is already declared in %s", p.ID, prev.path), Hint: "give each partner its own id"})
			continue
		}
		cp, err := render.Compile(p, l.Catalog())
		if err != nil {
			return nil, all, fmt.Errorf("%s: %w", f.Path, err)
		}
		doc, _ := yamlx.Parse(f.Path, f.Data, yamlx.Options{})
		sel, _ := p.Selection()
		v.specs[p.ID] = &loaded{path: f.Path, data: f.Data, partner: p, cp: cp, sel: sel, root: doc.Root}
	}
	all.Sort()
	if err := all.Err(); err != nil {
		return nil, all, err
	}
	return v, all, nil
}

// ReadDir reads the spec files directly in dir (see spec.SpecFiles).
func ReadDir(dir string) ([]File, error) {
	paths, err := spec.SpecFiles(dir)
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		b, err := spec.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: p, Data: b})
	}
	return files, nil
}

// ReadGit reads the spec files directly in dir as they are at git
// revision rev, from the repository dir is in, without checking anything
// out. The files are named REV:DIR/NAME.
func ReadGit(ctx context.Context, rev, dir string) ([]File, error) {
	if strings.HasPrefix(rev, "-") {
		return nil, fmt.Errorf("revision %q: a revision does not start with '-'", rev)
	}
	// ls-tree names entries relative to the working directory, so the
	// listing of "." in dir is the files directly in dir.
	out, err := git(ctx, dir, "ls-tree", "-z", "--name-only", rev+"^{tree}", "--", ".")
	if err != nil {
		return nil, err
	}
	var files []File
	for _, name := range strings.Split(string(out), "\x00") {
		if name == "" || strings.Contains(name, "/") || !spec.IsSpecFile(name) {
			continue
		}
		b, err := git(ctx, dir, "cat-file", "blob", rev+":./"+name)
		if err != nil {
			return nil, err
		}
		// REV:DIR/NAME keeps NAME the base name, which the id check reads.
		path := rev + ":" + filepath.ToSlash(filepath.Clean(dir)) + "/" + name
		if len(b) > spec.MaxFileSize {
			return nil, fmt.Errorf("%s is larger than %d bytes", path, spec.MaxFileSize)
		}
		files = append(files, File{Path: path, Data: b})
	}
	return files, nil
}

// git runs a git command in dir and returns its standard output; the
// error carries git's own message.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s (in %s): %s", strings.Join(args, " "), dir, msg)
	}
	return stdout.Bytes(), nil
}
