package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// packageDir is the package's directory, absolute: some tests change directory.
var packageDir = func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return dir
}()

// writeFiles writes files under the working directory, making directories. A name
// "link -> target" makes a symbolic link.
func writeFiles(t *testing.T, files map[string]string) {
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
