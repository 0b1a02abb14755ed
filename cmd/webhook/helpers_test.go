package main

import (
	"os"
	"testing"

	"github.com/privateguard/privateguard/internal/testfiles"
)

// packageDir is the package's directory, absolute: some tests change directory.
var packageDir = func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return dir
}()

// writeFiles writes files under the working directory (testfiles.Write).
func writeFiles(t *testing.T, files map[string]string) { testfiles.Write(t, files) }
