// Command privateguard is the privateguard binary: `serve` runs the admission webhook,
// `audit` judges manifests or a cluster with the same engine, `version` prints the
// version. main is wiring only: each subcommand parses its flags in its own file
// (serve.go, audit.go) and hands the work to its package (pkg/server, pkg/audit).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

const usage = `privateguard keeps an Amazon EKS private cluster working and private.

Usage:
  privateguard serve --config FILE [flags]   run the admission webhook server
  privateguard audit --config FILE ...       judge manifests or a cluster, read-only
  privateguard version                       print the version

Run "privateguard <command> -h" for a command's flags.
`

func main() {
	// SIGTERM (the kubelet stopping the pod) and SIGINT cancel ctx: serve then lets
	// in-flight requests finish.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code: 0 success, 1 failure, 2 bad
// usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "privateguard", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "privateguard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
