package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/privateguard/privateguard/pkg/policy"
)

// lintOptions are the flags of `privateguard lint`.
type lintOptions struct {
	// Config is the policy file (--config). Required.
	Config string
	// Strict exits 1 on warnings (--strict). Default false: warnings alone exit 0.
	Strict bool
}

// lintCommand is `privateguard lint`: every error of a policy file at once, then the
// warnings of policy.Lint.
func (a *app) lintCommand() *cobra.Command {
	opts := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint --config FILE [--strict]",
		Short: "Check a policy file: every error at once, and warnings",
		Long: `Check a policy file: every error at once (each naming its field), then warnings about
parts that load but have no effect or will not do what they seem to: a region the EKS
add-on registry table does not know, a rewrite rule that never applies, an override that
an earlier one shadows, an exclude.images glob that lets public images through unrewritten.

Exit codes: 0 no error (and, with --strict, no warning), 1 warnings under --strict,
2 errors or bad usage.`,
		Example: `  privateguard lint --config policy.yaml
  privateguard lint --config policy.yaml --strict`,
		Args: noArgs("the policy file is given with --config"),
		RunE: func(*cobra.Command, []string) error {
			if opts.Config == "" {
				return usageError("--config is required: the policy file to check")
			}
			return a.runLint(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", "", "the policy `file` (required)")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "exit 1 when there are warnings")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml", "json")
	return cmd
}

func (a *app) runLint(opts *lintOptions) error {
	data, err := os.ReadFile(opts.Config)
	if err != nil {
		fmt.Fprintf(a.Stderr, "error: read policy: %v\n", err)
		return exitCode(exitError)
	}
	warnings, err := policy.Lint(opts.Config, data, time.Now())
	if err != nil {
		fmt.Fprintf(a.Stderr, "error: %v\n", err)
		return exitCode(exitError)
	}
	for _, w := range warnings {
		fmt.Fprintf(a.Stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(a.Stdout, "%s: valid, %d %s\n", opts.Config, len(warnings), plural(len(warnings), "warning", "warnings"))
	if opts.Strict && len(warnings) > 0 {
		return exitCode(exitFailed)
	}
	return nil
}
