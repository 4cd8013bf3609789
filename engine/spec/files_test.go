package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSpecFileNames(t *testing.T) {
	tests := []struct {
		name   string
		isSpec bool
		trim   string
	}{
		{"a.yaml", true, "a"},
		{"dir/a.yml", true, "dir/a"},
		{"a.test.yaml", false, "a.test"},
		{"a.test.yml", false, "a.test"},
		{"a.json", false, "a.json"},
		{"yaml", false, "yaml"},
		{"a.yaml.bak", false, "a.yaml.bak"},
	}
	for _, tt := range tests {
		if got := IsSpecFile(tt.name); got != tt.isSpec {
			t.Errorf("IsSpecFile(%q) = %v", tt.name, got)
		}
		if got := TrimExt(tt.name); got != tt.trim {
			t.Errorf("TrimExt(%q) = %q, want %q", tt.name, got, tt.trim)
		}
	}
}

func TestDirFilesAndFindFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.yml", "a.yaml", "a.test.yaml", "both.yaml", "both.yml", "notes.md"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := DirFiles(dir)
	want := []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yml"), filepath.Join(dir, "both.yaml"), filepath.Join(dir, "both.yml")}
	if err != nil || !slices.Equal(files, want) {
		t.Errorf("DirFiles = %q, %v; want %q", files, err, want)
	}
	if _, err := DirFiles(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Errorf("DirFiles of a missing directory: %v", err)
	}

	for id, want := range map[string]string{"a": "a.yaml", "b": "b.yml", "both": "both.yaml"} {
		if got, err := FindFile(dir, id); err != nil || got != filepath.Join(dir, want) {
			t.Errorf("FindFile(%q) = %q, %v; want %s", id, got, err, want)
		}
	}
	_, err = FindFile(dir, "nope")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `no spec for partner "nope" in `+dir+" (nope.yaml or nope.yml)") {
		t.Errorf("FindFile of a missing partner: %v", err)
	}
}
