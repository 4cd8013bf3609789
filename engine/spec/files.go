package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FindFile returns the spec file of partner id in dir: dir/id.yaml, else
// dir/id.yml (the names IsSpecFile accepts).
func FindFile(dir, id string) (string, error) {
	for _, ext := range []string{".yaml", ".yml"} {
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

// ReadFile reads a spec file as the loader does: at most MaxFileSize
// bytes, a larger file being an error.
func ReadFile(path string) ([]byte, error) { return readBounded(path) }
