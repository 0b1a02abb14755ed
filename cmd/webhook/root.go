package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Exit codes of every command.
const (
	// exitOK: success; for audit, nothing would be denied.
	exitOK = 0
	// exitFailed: the command did its work and found a failure: audit found something
	// that would be denied (or, with --fail-on warn, warned about), lint found warnings
	// under --strict, serve stopped with an error.
	exitFailed = 1
	// exitError: bad usage, a bad policy or bad input.
	exitError = 2
)

// app is the privateguard command line with its inputs and outputs. Tests set the
// streams, and NewClient to audit a fake cluster.
type app struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// NewClient connects to the cluster of audit --cluster. kubeconfig is the
	// --kubeconfig flag, possibly empty. Default: newClusterReader.
	NewClient func(kubeconfig string) (client.Reader, error)
}

// exitCode ends a command with a code once the command has said why (or, for exit 1,
// once its report is written): run prints nothing more.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// usageError is a mistake on the command line: printed with a pointer to -h, exit 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// run runs the command line args (those after the program name) and returns the exit
// code: 0 success, 1 failure, 2 bad usage, policy or input.
func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	// Anything else comes from cobra or pflag (an unknown command or flag, a missing
	// argument) or is a usageError of a command: bad usage.
	if cmd == nil {
		cmd = root
	}
	fmt.Fprintf(a.Stderr, "error: %v\nRun '%s -h' for usage.\n", err, cmd.CommandPath())
	return exitError
}

// rootCommand is the `privateguard` command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "privateguard",
		Short: "Keep an Amazon EKS private cluster working and private",
		Long: `privateguard keeps an Amazon EKS private cluster working and private: an admission webhook
that enforces at deploy time what AWS's guide "Deploy private clusters with limited internet
access" requires, and the same engine on the command line for CI and dry runs.`,
		Version: version,
		// With no command: the usage, and bad usage.
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.Stderr)
			_ = cmd.Usage()
			return exitCode(exitError)
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		CompletionOptions: cobra.CompletionOptions{
			// completion is our own command, with the three shells we test.
			DisableDefaultCmd: true,
		},
	}
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetVersionTemplate("privateguard {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err.Error()) })
	root.AddCommand(
		a.serveCommand(),
		a.auditCommand(),
		a.lintCommand(),
		a.explainCommand(),
		a.requirementsCommand(),
		completionCommand(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintln(cmd.OutOrStdout(), "privateguard", version)
			},
		},
	)
	return root
}

// noArgs rejects positional arguments, naming the first one and what to do instead.
func noArgs(hint string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError(fmt.Sprintf("unexpected argument %q (%s)", args[0], hint))
		}
		return nil
	}
}
