// Package testfiles writes the files tests read: trees of manifests, and files replaced
// in place as a running server watches them. It is imported by tests only.
package testfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Write writes files under the working directory, making directories. A name
// "link -> target" makes a symbolic link.
func Write(t testing.TB, files map[string]string) {
	t.Helper()
	for name, content := range files {
		target := ""
		if link, to, ok := strings.Cut(name, " -> "); ok {
			name, target = link, to
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target != "" {
			err = os.Symlink(target, name)
		} else {
			err = os.WriteFile(name, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Replace writes data to path through a temporary file and one rename, as a tool that
// updates a file in place does: a reader sees the old content or the new, never part.
func Replace(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
