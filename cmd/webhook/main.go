// Command privateguard is the privateguard binary: `serve` runs the admission webhook,
// `audit` judges manifests or a cluster with the same engine, `lint` checks a policy
// file, `explain` says what the policy does with an image, `completion` prints a shell
// completion script, `version` prints the version. main is wiring only: the command tree
// is in root.go, each subcommand in its own file, and the work in its package
// (pkg/server, pkg/audit, pkg/policy).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// SIGTERM (the kubelet stopping the pod) and SIGINT cancel ctx: serve then lets
	// in-flight requests finish.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	a := app{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
