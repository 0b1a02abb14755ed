// Package testfiles writes the file trees tests read manifests from. It is imported by
// tests only.
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
