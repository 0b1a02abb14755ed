package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/requirements"
)

// requirementsOptions are the flags of `privateguard requirements`: audit's inputs, and
// its own output formats.
type requirementsOptions struct {
	auditOptions
}

// Output formats of requirements' -o.
const outputTerraform = "terraform"

var requirementsFormats = []string{outputText, outputJSON, outputTerraform}

const requirementsLong = `Say what the AWS side of the private cluster must provide for a policy and the workloads,
read-only: the ECR pull-through cache rules the policy's rewrite rules assume (upstream
registry URL, repository prefix, which upstreams need a Secrets Manager credential), and
the VPC endpoints the workloads need, each with the objects that need it.

The inputs are audit's: manifests (-f) or the live cluster (--cluster). Add-ons are known
by their image repositories; the AWS calls an application makes through its own SDK are
not seen.

Output formats (-o): text; json, one object; terraform, resources and variables for the
AWS provider.

Exit codes: 0 done, 2 bad usage, policy or input (a rewrite rule whose upstream ECR cannot
cache, too).`

const requirementsExample = `  privateguard requirements --config policy.yaml -f manifests/
  privateguard requirements --config policy.yaml --cluster -o terraform > endpoints.tf
  helm template my-release ./chart | privateguard requirements --config policy.yaml -f - -o json`

// requirementsCommand is `privateguard requirements`.
func (a *app) requirementsCommand() *cobra.Command {
	opts := &requirementsOptions{}
	cmd := &cobra.Command{
		Use: `requirements --config FILE -f PATH [-f PATH ...] [-n NAMESPACE] [-o text|json|terraform]
  privateguard requirements --config FILE --cluster [--kubeconfig FILE] [-n NAMESPACE] [-o text|json|terraform]`,
		Short:                 "Say which ECR pull-through cache rules and VPC endpoints the cluster needs",
		Long:                  requirementsLong,
		Example:               requirementsExample,
		Args:                  noArgs("manifests are given with -f"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			return a.runRequirements(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.bindInputFlags(f, "read")
	f.StringVarP(&opts.Output, "output", "o", outputText, "output `format`: text, json or terraform")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(requirementsFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("config", "yaml", "yml", "json")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// validate checks the flags as audit's, with requirements' output formats.
func (o *requirementsOptions) validate() error {
	if !slices.Contains(requirementsFormats, o.Output) {
		return usageError(fmt.Sprintf("-o must be one of %s, not %q", strings.Join(requirementsFormats, ", "), o.Output))
	}
	inputs := o.auditOptions
	inputs.Output, inputs.FailOn = outputText, failOnDeny
	return inputs.validate()
}

// runRequirements works the requirements out and writes them.
func (a *app) runRequirements(ctx context.Context, opts *requirementsOptions) error {
	req, err := a.requirements(ctx, opts)
	if err != nil {
		printError(a.Stderr, err)
		return exitCode(exitError)
	}
	switch opts.Output {
	case outputJSON:
		err = req.WriteJSON(a.Stdout)
	case outputTerraform:
		err = req.WriteTerraform(a.Stdout)
	default:
		err = req.WriteText(a.Stdout)
	}
	if err != nil {
		fmt.Fprintf(a.Stderr, "error: write requirements: %v\n", err)
		return exitCode(exitError)
	}
	return nil
}

// requirements loads the policy and its cache rules, and reads the objects as audit does.
func (a *app) requirements(ctx context.Context, opts *requirementsOptions) (*requirements.Requirements, error) {
	data, err := os.ReadFile(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	p, rules, err := policy.PullThroughCacheRules(opts.Config, data)
	if err != nil {
		return nil, err
	}
	var resources []audit.Resource
	if opts.Cluster {
		if resources, err = a.listCluster(ctx, &opts.auditOptions); err != nil {
			return nil, err
		}
		return requirements.Compute(p, opts.Config, rules, resources, ""), nil
	}
	reader := audit.ManifestReader{Stdin: a.Stdin}
	if resources, err = reader.Read(opts.Files); err != nil {
		return nil, err
	}
	return requirements.Compute(p, opts.Config, rules, resources, opts.Namespace), nil
}
