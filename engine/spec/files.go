package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// specExts are the file name endings of partner specs, in the order
// FindFile tries them.
var specExts = []string{".yaml", ".yml"}

// IsSpecFile reports whether a file name is a partner spec (*.yaml or
// *.yml), not a fixture (*.test.yaml, *.test.yml).
func IsSpecFile(name string) bool {
	base := filepath.Base(name)
	for _, ext := range specExts {
		if strings.HasSuffix(base, ".test"+ext) {
			return false
		}
	}
	for _, ext := range specExts {
		if strings.HasSuffix(base, ext) {
			return true
		}
	}
	return false
}

// TrimExt drops a spec file name's .yaml or .yml.
func TrimExt(name string) string {
	for _, ext := range specExts {
		if s, ok := strings.CutSuffix(name, ext); ok {
			return s
		}
	}
	return name
}

// DirFiles lists the partner specs directly in dir, in name order. Errors
// name dir as given.
func DirFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	var files []string
	for _, e := range ents {
		if !e.IsDir() && IsSpecFile(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// FindFile returns the spec file of partner id in dir: dir/id.yaml, else
// dir/id.yml.
func FindFile(dir, id string) (string, error) {
	for _, ext := range specExts {
		p := filepath.Join(dir, id+ext)
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("spec: %w", err)
		}
	}
	return "", fmt.Errorf("no spec for partner %q in %s (%s.yaml or %s.yml): %w", id, dir, id, id, fs.ErrNotExist)
}
