package main

import (
	"fmt"
	"os"
	"strings"
)

// engineTable turns `go test -bench -benchmem` output into a markdown table.
func engineTable(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("### Engine and handlers (`go test -bench . -benchmem ./pkg/policy/ ./pkg/admission/`)\n\n| benchmark | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|\n")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, f[2], f[4], f[6])
	}
	return b.String() + "\n", nil
}
