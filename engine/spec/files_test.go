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
		id     string
	}{
		{"a.yaml", true, "a"},
		{"dir/a.yml", true, "a"},
		{"a.test.yaml", false, "a.test"},
		{"a.test.yml", false, "a.test"},
		{"a.json", false, "a.json"},
		{"a.yaml.bak", false, "a.yaml.bak"},
	}
	for _, tt := range tests {
		if got := IsSpecFile(tt.name); got != tt.isSpec {
			t.Errorf("IsSpecFile(%q) = %v", tt.name, got)
		}
		if got := SpecID(tt.name); got != tt.id {
			t.Errorf("SpecID(%q) = %q, want %q", tt.name, got, tt.id)
		}
	}
}

func TestSpecFilesAndFindFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.yml", "a.yaml", "a.test.yaml", "both.yaml", "both.yml", "notes.md"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := SpecFiles(dir)
	want := []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yml"), filepath.Join(dir, "both.yaml"), filepath.Join(dir, "both.yml")}
	if err != nil || !slices.Equal(files, want) {
		t.Errorf("SpecFiles = %q, %v; want %q", files, err, want)
	}
	if files, err := SpecFiles(t.TempDir()); err != nil || len(files) != 0 {
		t.Errorf("SpecFiles of an empty directory = %q, %v", files, err)
	}
	if _, err := SpecFiles(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Errorf("SpecFiles of a missing directory: %v", err)
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
