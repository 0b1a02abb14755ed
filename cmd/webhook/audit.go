package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// auditOptions are the flags of `privateguard audit`.
type auditOptions struct {
	// Config is the policy file (--config). Required.
	Config string
	// Files are the manifests (-f, repeatable): files, directories or "-" for stdin.
	Files []string
	// Cluster audits the live cluster instead of manifests (--cluster).
	Cluster bool
	// Kubeconfig is the kubeconfig of --cluster (--kubeconfig). Default: $KUBECONFIG,
	// ~/.kube/config, else the in-cluster configuration.
	Kubeconfig string
	// Namespace (-n): with --cluster, the only namespace listed (default all); with -f,
	// the namespace of objects that name none (default "default").
	Namespace string
	// Output is the format of the report (-o): text, json, junit or sarif. Default text.
	Output string
	// FailOn is what makes the audit exit 1 (--fail-on): deny (default), or warn, which
	// also fails on findings of rules in audit mode and on warnings.
	FailOn string
}

// Output formats of audit's -o.
const (
	outputText  = "text"
	outputJSON  = "json"
	outputJUnit = "junit"
	outputSARIF = "sarif"
)

var outputFormats = []string{outputText, outputJSON, outputJUnit, outputSARIF}

// Values of --fail-on.
const (
	failOnDeny = "deny"
	failOnWarn = "warn"
)

const auditLong = `Judge manifests or a live cluster against a privateguard policy, read-only: what admission
would deny, warn about and change, before the webhook enforces anything.

Output formats (-o): text, a readable table; json, one object; junit, JUnit XML (a test
suite per file, a test case per object); sarif, SARIF 2.1.0 for code scanning.

Exit codes: 0 nothing would be denied, 1 something would be denied, 2 bad usage, policy or input.
With --fail-on warn, findings of rules in audit mode and warnings exit 1 too.`

const auditExample = `  privateguard audit --config policy.yaml -f manifests/
  helm template my-release ./chart | privateguard audit --config policy.yaml -f -
  privateguard audit --config policy.yaml --cluster -o json
  privateguard audit --config policy.yaml -f manifests/ -o sarif --fail-on warn > privateguard.sarif`

// auditCommand is `privateguard audit`: it connects to a cluster only with --cluster,
// through the kubeconfig.
func (a *app) auditCommand() *cobra.Command {
	opts := &auditOptions{}
	cmd := &cobra.Command{
		Use: `audit --config FILE -f PATH [-f PATH ...] [-n NAMESPACE] [-o text|json|junit|sarif] [--fail-on deny|warn]
  privateguard audit --config FILE --cluster [--kubeconfig FILE] [-n NAMESPACE] [-o text|json|junit|sarif] [--fail-on deny|warn]`,
		Short:   "Judge manifests or a cluster, read-only",
		Long:    auditLong,
		Example: auditExample,
		Args:    noArgs("manifests are given with -f"),
		// The two usage lines name their flags.
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			return a.runAudit(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.bindInputFlags(f, "audit")
	f.StringVarP(&opts.Output, "output", "o", outputText, "output `format`: text, json, junit or sarif")
	f.StringVar(&opts.FailOn, "fail-on", failOnDeny, "exit 1 from this `level` on: deny (something would be denied) or warn (also findings of rules in audit mode, and warnings)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{failOnDeny, failOnWarn}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("config", "yaml", "yml", "json")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// validate checks that the flags make one audit.
// bindInputFlags defines the flags that say what is read, shared by the commands that
// read manifests or a cluster (audit, requirements); verb says what the command does
// with them.
func (o *auditOptions) bindInputFlags(f *pflag.FlagSet, verb string) {
	f.StringVar(&o.Config, "config", "", "the policy `file` (required)")
	f.StringArrayVarP(&o.Files, "filename", "f", nil, "a manifest `path`: a file, a directory (its *.yaml, *.yml and *.json files, recursively) or - for stdin; repeatable")
	f.BoolVar(&o.Cluster, "cluster", false, verb+" the live cluster (read-only: lists pods, workloads, ingresses, IngressClasses and service accounts)")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "the kubeconfig `file` of --cluster (default $KUBECONFIG, ~/.kube/config, else in-cluster)")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "with --cluster, "+verb+" only this `namespace` (default all); with -f, the namespace of objects that name none (default \"default\")")
}

func (o *auditOptions) validate() error {
	for _, f := range o.Files {
		if f == "" {
			return usageError("-f: empty path")
		}
	}
	switch {
	case !slices.Contains(outputFormats, o.Output):
		return usageError(fmt.Sprintf("-o must be one of %s, not %q", strings.Join(outputFormats, ", "), o.Output))
	case o.FailOn != failOnDeny && o.FailOn != failOnWarn:
		return usageError(fmt.Sprintf("--fail-on must be deny or warn, not %q", o.FailOn))
	case o.Config == "":
		return usageError("--config is required: the policy file to audit against")
	case o.Cluster && len(o.Files) > 0:
		return usageError("give either -f or --cluster, not both")
	case !o.Cluster && len(o.Files) == 0:
		return usageError("give -f PATH (manifests) or --cluster")
	case !o.Cluster && o.Kubeconfig != "":
		return usageError("--kubeconfig needs --cluster")
	}
	return nil
}

// runAudit judges, writes the report and ends with the audit's exit code.
func (a *app) runAudit(ctx context.Context, opts *auditOptions) error {
	report, err := a.audit(ctx, opts)
	if err != nil {
		printError(a.Stderr, err)
		return exitCode(exitError)
	}
	failOnWarn := opts.FailOn == failOnWarn
	switch opts.Output {
	case outputJSON:
		err = report.WriteJSON(a.Stdout)
	case outputJUnit:
		err = report.WriteJUnit(a.Stdout, failOnWarn)
	case outputSARIF:
		err = report.WriteSARIF(a.Stdout, version)
	default:
		err = writeText(a.Stdout, report, useColour(a.Stdout))
	}
	if err != nil {
		fmt.Fprintf(a.Stderr, "error: write report: %v\n", err)
		return exitCode(exitError)
	}
	if report.Summary.Denied > 0 || failOnWarn && report.Summary.Warned > 0 {
		return exitCode(exitFailed)
	}
	return nil
}

// audit loads the policy, reads the objects and judges them.
func (a *app) audit(ctx context.Context, opts *auditOptions) (*audit.Report, error) {
	p, err := policy.Load(opts.Config)
	if err != nil {
		return nil, err
	}
	if opts.Cluster {
		resources, err := a.listCluster(ctx, opts)
		if err != nil {
			return nil, err
		}
		return audit.Judge(p, resources, ""), nil
	}
	return a.auditManifests(p, opts)
}

// listCluster lists what --cluster reads (-n limits it to a namespace), read-only.
func (a *app) listCluster(ctx context.Context, opts *auditOptions) ([]audit.Resource, error) {
	newClient := a.NewClient
	if newClient == nil {
		newClient = newClusterReader
	}
	reader, err := newClient(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	lister := audit.ClusterLister{Client: reader, Namespace: opts.Namespace}
	return lister.List(ctx)
}

// auditManifests judges manifests in two passes, so that only results are kept, never
// the objects (an audit of 100,000 pods would otherwise hold them all): the first gathers
// the facts (ServiceAccounts, IngressClasses) wherever they are in the input, the second
// decodes and judges the other objects one at a time. Stdin can be read only once, so it
// is first copied to a temporary file (removed on return) that both passes read.
func (a *app) auditManifests(p *policy.Policy, opts *auditOptions) (*audit.Report, error) {
	var stdin io.ReadSeeker
	if slices.Contains(opts.Files, "-") && a.Stdin != nil {
		spool, done, err := spool(a.Stdin)
		if err != nil {
			return nil, &audit.InputError{Source: audit.StdinSource, Err: err}
		}
		defer done()
		stdin = spool
	}
	read := func(kinds func(schema.GroupVersionKind) bool, fn func(audit.Resource)) error {
		r := audit.ManifestReader{Kinds: kinds}
		if stdin != nil {
			if _, err := stdin.Seek(0, io.SeekStart); err != nil {
				return &audit.InputError{Source: audit.StdinSource, Err: err}
			}
			r.Stdin = stdin
		}
		return r.Walk(opts.Files, fn)
	}
	var facts []audit.Resource
	if err := read(audit.IsFact, func(r audit.Resource) { facts = append(facts, r) }); err != nil {
		return nil, err
	}
	judgement := audit.NewJudgement(p, facts, opts.Namespace, time.Now())
	report := &audit.Report{Results: []audit.Result{}}
	notFact := func(gvk schema.GroupVersionKind) bool { return !audit.IsFact(gvk) }
	if err := read(notFact, func(r audit.Resource) { judgement.Add(report, r) }); err != nil {
		return nil, err
	}
	return report, nil
}

// spool copies r to a temporary file and returns it, and the function that closes and
// removes it. Where no temporary file can be made (a read-only file system), it keeps r
// in memory instead: the input's bytes, still far fewer than its decoded objects.
func spool(r io.Reader) (io.ReadSeeker, func(), error) {
	f, err := os.CreateTemp("", "privateguard-audit-stdin-")
	if err != nil {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, nil, err
		}
		return bytes.NewReader(data), func() {}, nil
	}
	done := func() {
		f.Close()
		os.Remove(f.Name())
	}
	if _, err := io.Copy(f, r); err != nil {
		done()
		return nil, nil, err
	}
	return f, done, nil
}

// newClusterReader connects with kubeconfig, or when it is empty with kubectl's loading
// rules ($KUBECONFIG, ~/.kube/config), else the in-cluster configuration. The client
// only reads: the audit lists, nothing more.
func newClusterReader(kubeconfig string) (client.Reader, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "privateguard-audit"
	reader, err := audit.NewClusterReader(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return reader, nil
}

// printError writes err to w, one line per joined error.
func printError(w io.Writer, err error) {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			printError(w, e)
		}
		return
	}
	fmt.Fprintf(w, "error: %v\n", err)
}
