package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Kubectl runs bin/kubectl (built by `make e2e-bins` from the same Kubernetes release as
// kube-apiserver) against the test API server, so a test or the demo sees exactly what a
// user sees: warnings on stderr, `Error from server (Forbidden): ...`, the stored object.
type Kubectl struct {
	// Binary is bin/kubectl; Kubeconfig reaches the API server.
	Binary, Kubeconfig string
}

// KubectlResult is one kubectl run.
type KubectlResult struct {
	// Args are kubectl's arguments, without --kubeconfig.
	Args           []string
	Stdout, Stderr string
	// Output is stdout and stderr interleaved in about the order they were written (two
	// pipes: see Terminal for the exact order).
	Output string
	// ExitCode is kubectl's exit status (0 on success).
	ExitCode int
}

// Warnings are the `Warning: ` lines kubectl printed on stderr, without the prefix.
func (r KubectlResult) Warnings() []string {
	var out []string
	for _, line := range strings.Split(r.Stderr, "\n") {
		if w, ok := strings.CutPrefix(line, "Warning: "); ok {
			out = append(out, w)
		}
	}
	return out
}

// Errors are the `Error from server ...` lines kubectl printed on stderr.
func (r KubectlResult) Errors() []string {
	var out []string
	for _, line := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(line, "Error from server") || strings.HasPrefix(line, "error: ") {
			out = append(out, line)
		}
	}
	return out
}

// Run runs kubectl with args and stdin (may be nil). An error is returned only when
// kubectl could not run; a command kubectl ran and failed has a non-zero ExitCode.
func (k Kubectl) Run(ctx context.Context, stdin []byte, args ...string) (KubectlResult, error) {
	if _, err := os.Stat(k.Binary); err != nil {
		return KubectlResult{}, fmt.Errorf("kubectl binary missing: %w (run `make e2e-bins`)", err)
	}
	cmd := exec.CommandContext(ctx, k.Binary, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	both := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, both), io.MultiWriter(&stderr, both)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Env = kubectlEnv()
	err := cmd.Run()
	res := KubectlResult{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Output: both.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return res, nil
}

// Show writes the command and its output as a terminal would show them.
func (r KubectlResult) Show(w io.Writer) {
	fmt.Fprintf(w, "$ kubectl %s\n", strings.Join(r.Args, " "))
	io.WriteString(w, r.Output)
}

// Terminal runs kubectl with stdout and stderr on one pipe, written to w as a terminal
// shows them, after a `$ kubectl ...` line. It returns that output and kubectl's exit
// status.
func (k Kubectl) Terminal(ctx context.Context, w io.Writer, args ...string) (string, int, error) {
	if _, err := os.Stat(k.Binary); err != nil {
		return "", 0, fmt.Errorf("kubectl binary missing: %w (run `make e2e-bins`)", err)
	}
	fmt.Fprintf(w, "$ kubectl %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, k.Binary, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out // one writer: exec gives kubectl one pipe for both
	cmd.Env = kubectlEnv()
	err := cmd.Run()
	io.WriteString(w, out.String())
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode(), nil
	}
	return out.String(), 0, err
}

// kubectlEnv keeps the user's kubectl cache and kuberc out of the run.
func kubectlEnv() []string {
	return append(os.Environ(), "KUBECACHEDIR="+os.TempDir()+"/privateguard-kubectl-cache", "KUBECTL_KUBERC=false")
}
