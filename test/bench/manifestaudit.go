package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// manifestAuditCost writes o.manifestPods pods (the background audit's mix: three in four
// on a public registry) to one YAML stream and runs `privateguard audit -o json` on it,
// once from the file and once from stdin, and reports each run's wall time and peak RSS.
func manifestAuditCost(o options, work string) (string, error) {
	path := filepath.Join(work, "pods.yaml")
	if err := writePods(path, o.manifestPods); err != nil {
		return "", err
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### `audit -f` on manifests\n\n%d pods in one %.0f MB YAML stream, three in four on a public registry; `privateguard audit --config %s -o json`, output discarded.\n\n",
		o.manifestPods, float64(info.Size())/1e6, o.config)
	b.WriteString("| input | wall time | peak RSS | exit code |\n|---|---:|---:|---:|\n")
	for _, input := range []string{"-f pods.yaml", "-f - < pods.yaml"} {
		cmd := exec.Command(filepath.Join(o.binDir, "privateguard"), "audit", "--config", o.config, "-o", "json", "-f", path)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if strings.HasPrefix(input, "-f -") {
			f, err := os.Open(path)
			if err != nil {
				return "", err
			}
			defer f.Close()
			cmd.Stdin = f
			cmd.Args[len(cmd.Args)-1] = "-"
		}
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		code := cmd.ProcessState.ExitCode()
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && code == 1) { // 1: something would be denied
			return "", fmt.Errorf("privateguard audit %s: %w", input, err)
		}
		peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d |\n", input, took.Round(10*time.Millisecond), mib(int(peak)), code)
	}
	return b.String(), nil
}

// writePods writes n pods across auditNamespaces namespaces to path as a YAML stream.
func writePods(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		image := fmt.Sprintf("ghcr.io/acme/app-%d:1.%d", i%50, i%7)
		if i%4 == 0 {
			image = "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1"
		}
		fmt.Fprintf(w, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-%06d\n  namespace: audit-%02d\n  labels:\n    app: app-%d\nspec:\n  containers:\n  - name: app\n    image: %s\n",
			i, i%auditNamespaces, i%50, image)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
