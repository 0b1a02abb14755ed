package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// explainOptions are the flags of `privateguard explain`.
type explainOptions struct {
	// Config is the policy file (--config). Required.
	Config string
	// Namespace is the namespace whose modes apply (-n). Default "default".
	Namespace string
}

// imageRules are the rules explain reports: those that judge or move an image. The
// add-on flag rules and sts-regional-endpoint depend on a container's args and a pod's
// service account, which an image alone does not have.
var imageRules = map[policy.RuleID]bool{
	policy.RuleImageRegistry:    true,
	policy.RuleImageRegion:      true,
	policy.RuleImageRewrite:     true,
	policy.RuleMarketplaceImage: true,
}

// explainCommand is `privateguard explain`: what the policy does with each image, read
// from the engine's decision for a pod of that one image.
func (a *app) explainCommand() *cobra.Command {
	opts := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain --config FILE [-n NAMESPACE] IMAGE...",
		Short: "Say what the policy does with images, and why",
		Long: `Say what the policy does with each image: its normalized form, what it is rewritten to
and by which rewrite rule (or EKS add-on move), the rule that decides it and in which mode,
the verdict (allowed, rewritten or denied), and any warning admission would give (a pinned
digest a pull-through cache cannot fill, a move across partitions).

Each image is judged as the only container of a pod in the namespace of -n, with the modes
of that namespace. Only the image rules are reported: the add-on flag rules and
sts-regional-endpoint depend on a pod's args and service account (see audit).

Exit codes: 0 every image is allowed (possibly rewritten), 1 an image would be denied,
2 bad usage or a bad policy.`,
		Example: `  privateguard explain --config policy.yaml nginx:1.27 ghcr.io/org/app:v2
  privateguard explain --config policy.yaml -n legacy-billing busybox`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("give at least one IMAGE")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if opts.Config == "" {
				return usageError("--config is required: the policy file")
			}
			p, err := policy.Load(opts.Config)
			if err != nil {
				printError(a.Stderr, err)
				return exitCode(exitError)
			}
			denied, err := explain(a.Stdout, p, opts.Namespace, args)
			if err != nil {
				fmt.Fprintf(a.Stderr, "error: write: %v\n", err)
				return exitCode(exitError)
			}
			if denied {
				return exitCode(exitFailed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", "", "the policy `file` (required)")
	cmd.Flags().StringVarP(&opts.Namespace, "namespace", "n", audit.DefaultNamespace, "judge the images in this `namespace`, with its modes")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml", "json")
	return cmd
}

// explain writes the explanation of each image and reports whether one would be denied.
func explain(w io.Writer, p *policy.Policy, namespace string, images []string) (denied bool, err error) {
	bw := bufio.NewWriter(w)
	for i, img := range images {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		if explainImage(bw, p, namespace, img) {
			denied = true
		}
	}
	return denied, bw.Flush()
}

// explainImage writes what p does with img in namespace, and reports whether admission
// would deny it.
func explainImage(w io.Writer, p *policy.Policy, namespace, img string) (denied bool) {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "explain"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}},
	}
	d := p.EvaluatePod(pod, nil, policy.Facts{Namespace: namespace})
	x := p.ExplainImage(img)

	fmt.Fprintf(w, "%s\n", img)
	if x.ParseError != nil {
		fmt.Fprintf(w, "  normalized: (does not parse: %v)\n", x.ParseError)
	} else {
		fmt.Fprintf(w, "  normalized: %s\n", x.Normalized)
		fmt.Fprintf(w, "  registry:   %s\n", registryClass(p, x))
	}

	var rewritten string
	for _, c := range d.Changes {
		if c.Kind != policy.SetImage || !imageRules[c.Rule] {
			continue
		}
		why := "the move of EKS add-on images to the add-on registry of " + p.Region() + " (rewrite.eksAddonsToRegion)"
		if !x.AddonMove {
			why = "rewrite rule " + x.RewriteFrom + " → " + x.RewriteTo
		}
		if c.Mode == policy.ModeEnforce {
			rewritten = c.To
			fmt.Fprintf(w, "  rewrite:    %s, by %s [%s, mode %s]\n", c.To, why, c.Rule, c.Mode)
		} else {
			fmt.Fprintf(w, "  rewrite:    would be %s, by %s, but %s is in mode %s: the image is left as it is\n", c.To, why, c.Rule, c.Mode)
		}
	}

	var decider *policy.Violation
	for i := range d.Violations {
		v := &d.Violations[i]
		if !imageRules[v.Rule] {
			continue
		}
		fmt.Fprintf(w, "  violation:  %s\n", v.Message)
		if decider == nil || v.Mode == policy.ModeEnforce && decider.Mode != policy.ModeEnforce {
			decider = v
		}
	}
	for _, wn := range d.Warnings {
		if imageRules[wn.Rule] {
			fmt.Fprintf(w, "  warning:    %s\n", wn.Message)
		}
	}

	switch {
	case decider != nil && decider.Mode == policy.ModeEnforce:
		fmt.Fprintf(w, "  verdict:    denied by %s in mode %s\n", decider.Rule, decider.Mode)
		return true
	case decider != nil:
		fmt.Fprintf(w, "  verdict:    allowed with a warning: %s is in mode %s (it would deny in mode enforce)\n", decider.Rule, decider.Mode)
	case rewritten != "":
		fmt.Fprintf(w, "  verdict:    rewritten to %s, then allowed\n", rewritten)
	default:
		fmt.Fprintf(w, "  verdict:    allowed\n")
	}
	return false
}

// registryClass says where the image's registry stands in the policy.
func registryClass(p *policy.Policy, x policy.ImageExplanation) string {
	switch {
	case x.Excluded:
		return "excluded by exclude.images: every image rule allows it"
	case x.Marketplace:
		return "an AWS Marketplace registry (registries.marketplace): never rewritten"
	case x.Allowed && x.AddonImage:
		return "the EKS add-on registry of " + p.Region() + " (registries.allowEKSAddons)"
	case x.Allowed:
		return "allowed (registries.allowed)"
	case x.AddonImage:
		return "an EKS add-on registry of another region"
	case x.RewriteFrom != "":
		return "not allowed; mirrored by a rewrite rule"
	default:
		return "not allowed"
	}
}
