package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// Exit codes of `privateguard audit`.
const (
	// exitAllowed: nothing would be denied.
	exitAllowed = 0
	// exitDenied: something would be denied.
	exitDenied = 1
	// exitError: bad usage, a bad policy or bad input.
	exitError = 2
)

// runAudit runs `privateguard audit` with args (those after `audit`) and returns its exit
// code: it connects to a cluster only with --cluster, through the kubeconfig.
func runAudit(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := auditCommand{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	return c.Run(ctx, args)
}

// auditCommand is `privateguard audit` with its inputs and outputs; runAudit is
// auditCommand with the defaults. Tests set NewClient to audit a fake cluster.
type auditCommand struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// NewClient connects to the cluster of --cluster. kubeconfig is the --kubeconfig
	// flag, possibly empty. Default: newClusterReader.
	NewClient func(kubeconfig string) (client.Reader, error)
}

// auditOptions are the command's flags.
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
	// Output is text or json (-o). Default text.
	Output string
}

// Output formats of audit's -o.
const (
	outputText = "text"
	outputJSON = "json"
)

// usageError is a mistake on audit's command line: printed with a pointer to -h.
type usageError string

func (e usageError) Error() string { return string(e) }

// Run runs the command with args, those after `audit`, and returns its exit code.
func (c *auditCommand) Run(ctx context.Context, args []string) int {
	opts, err := c.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return exitAllowed
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(c.Stderr, "error: %v\nRun 'privateguard audit -h' for usage.\n", ue)
		}
		// Otherwise the flag package has printed the error and the usage.
		return exitError
	}
	report, err := c.audit(ctx, opts)
	if err != nil {
		printError(c.Stderr, err)
		return exitError
	}
	if opts.Output == outputJSON {
		err = report.WriteJSON(c.Stdout)
	} else {
		err = writeText(c.Stdout, report, useColour(c.Stdout))
	}
	if err != nil {
		fmt.Fprintf(c.Stderr, "error: write report: %v\n", err)
		return exitError
	}
	if report.Summary.Denied > 0 {
		return exitDenied
	}
	return exitAllowed
}

const auditUsage = `Judge manifests or a live cluster against a privateguard policy, read-only: what admission
would deny, warn about and change, before the webhook enforces anything.

Usage:
  privateguard audit --config policy.yaml -f PATH [-f PATH ...] [-n NAMESPACE] [-o text|json]
  privateguard audit --config policy.yaml --cluster [--kubeconfig FILE] [-n NAMESPACE] [-o text|json]

Examples:
  privateguard audit --config policy.yaml -f manifests/
  helm template my-release ./chart | privateguard audit --config policy.yaml -f -
  privateguard audit --config policy.yaml --cluster -o json

Exit codes: 0 nothing would be denied, 1 something would be denied, 2 bad usage, policy or input.

Flags:
`

// parse reads the flags and checks that they make one audit.
func (c *auditCommand) parse(args []string) (*auditOptions, error) {
	opts := &auditOptions{}
	fs := flag.NewFlagSet("privateguard audit", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), auditUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.Config, "config", "", "the policy `file` (required)")
	fs.Func("f", "a manifest `path`: a file, a directory (its *.yaml, *.yml and *.json files, recursively) or - for stdin; repeatable", func(s string) error {
		if s == "" {
			return errors.New("empty path")
		}
		opts.Files = append(opts.Files, s)
		return nil
	})
	fs.BoolVar(&opts.Cluster, "cluster", false, "audit the live cluster (read-only: lists pods, workloads, ingresses and service accounts)")
	fs.StringVar(&opts.Kubeconfig, "kubeconfig", "", "the kubeconfig `file` of --cluster (default $KUBECONFIG, ~/.kube/config, else in-cluster)")
	fs.StringVar(&opts.Namespace, "n", "", "with --cluster, audit only this `namespace` (default all); with -f, the namespace of objects that name none (default \"default\")")
	fs.StringVar(&opts.Output, "o", outputText, "output `format`: text or json")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, usageError(fmt.Sprintf("unexpected argument %q (manifests are given with -f)", fs.Arg(0)))
	case opts.Output != outputText && opts.Output != outputJSON:
		return nil, usageError(fmt.Sprintf("-o must be text or json, not %q", opts.Output))
	case opts.Config == "":
		return nil, usageError("--config is required: the policy file to audit against")
	case opts.Cluster && len(opts.Files) > 0:
		return nil, usageError("give either -f or --cluster, not both")
	case !opts.Cluster && len(opts.Files) == 0:
		return nil, usageError("give -f PATH (manifests) or --cluster")
	case !opts.Cluster && opts.Kubeconfig != "":
		return nil, usageError("--kubeconfig needs --cluster")
	}
	return opts, nil
}

// audit loads the policy, reads the objects and judges them.
func (c *auditCommand) audit(ctx context.Context, opts *auditOptions) (*audit.Report, error) {
	p, err := policy.Load(opts.Config)
	if err != nil {
		return nil, err
	}
	var resources []audit.Resource
	if opts.Cluster {
		newClient := c.NewClient
		if newClient == nil {
			newClient = newClusterReader
		}
		reader, err := newClient(opts.Kubeconfig)
		if err != nil {
			return nil, err
		}
		lister := audit.ClusterLister{Client: reader, Namespace: opts.Namespace}
		if resources, err = lister.List(ctx); err != nil {
			return nil, err
		}
		return audit.Judge(p, resources, ""), nil
	}
	reader := audit.ManifestReader{Stdin: c.Stdin}
	if resources, err = reader.Read(opts.Files); err != nil {
		return nil, err
	}
	return audit.Judge(p, resources, opts.Namespace), nil
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
