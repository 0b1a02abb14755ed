package helm_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/privateguard/privateguard/pkg/policy"
)

// renderedPolicy is the policy file as pkg/policy reads it.
type renderedPolicy = policy.File

// loadRenderedPolicy loads the policy.yaml the chart puts into its ConfigMap with the
// loader the server runs on its --config file, so the chart is checked by the very code
// that reads the file in the pod, and returns the file's fields for the assertions.
func loadRenderedPolicy(data []byte) (*renderedPolicy, error) {
	if _, err := policy.Parse(data); err != nil {
		return nil, fmt.Errorf("policy.yaml: %w", err)
	}
	var f renderedPolicy
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("policy.yaml: %w", err)
	}
	return &f, nil
}

// renderedPolicyOf returns the policy file in the ConfigMap name, loaded.
func renderedPolicyOf(t *testing.T, r *renderedChart, name string) *renderedPolicy {
	t.Helper()
	var cm corev1.ConfigMap
	r.decode(t, "ConfigMap", name, &cm)
	data, ok := cm.Data["policy.yaml"]
	if !ok || len(cm.Data) != 1 || len(cm.BinaryData) != 0 {
		t.Fatalf("ConfigMap %s holds keys %v, want exactly policy.yaml", name, keysOf(cm.Data))
	}
	p, err := loadRenderedPolicy([]byte(data))
	if err != nil {
		t.Fatalf("the rendered policy does not load: %v\n%s", err, data)
	}
	return p
}

func keysOf(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestPolicyConfigMapHoldsALoadablePolicyFile(t *testing.T) {
	t.Run("defaults: enforce, EKS add-ons allowed and regionalized, no namespace excluded (kube-system is covered)", func(t *testing.T) {
		r := mustRender(t, defaultRelease, withRegion(""))
		p := renderedPolicyOf(t, r, "privateguard-policy")
		if p.Region != testRegion || p.Mode != "enforce" {
			t.Errorf("region %q mode %q, want %s enforce", p.Region, p.Mode, testRegion)
		}
		for name, b := range map[string]*bool{
			"registries.allowEKSAddons": p.Registries.AllowEKSAddons,
			"rewrite.eksAddonsToRegion": p.Rewrite.EKSAddonsToRegion,
			"irsa.injectRegion":         p.IRSA.InjectRegion,
		} {
			if b == nil || !*b {
				t.Errorf("%s is not true", name)
			}
		}
		if p.Registries.Marketplace != nil {
			t.Errorf("registries.marketplace = %v; absent, the server's built-in list applies", p.Registries.Marketplace)
		}
		if len(p.Exclude.Namespaces) != 0 {
			t.Errorf("exclude.namespaces = %v, want none: the add-on rules must reach kube-system", p.Exclude.Namespaces)
		}
	})

	t.Run("a full policy in values arrives unchanged", func(t *testing.T) {
		const policy = `
apiVersion: privateguard.io/v1alpha1
kind: Policy
region: eu-central-1
mode: audit
registries:
  allowed:
    - 111122223333.dkr.ecr.eu-central-1.amazonaws.com
  allowEKSAddons: false
  marketplace:
    - 709825985650.dkr.ecr.us-east-1.amazonaws.com
rewrite:
  rules:
    - from: docker.io
      to: 111122223333.dkr.ecr.eu-central-1.amazonaws.com/docker-hub
    - from: registry.k8s.io
      to: 111122223333.dkr.ecr.eu-central-1.amazonaws.com/kubernetes
  eksAddonsToRegion: true
irsa:
  injectRegion: false
rules:
  alb-certificate-discovery: {mode: audit}
  cluster-autoscaler-static-instance-list: {mode: enforce, fix: true}
  lb-controller-waf-shield: {fix: false}
exclude:
  namespaces: [kube-system, "sandbox-*"]
  images: ["111122223333.dkr.ecr.eu-central-1.amazonaws.com/legacy/*"]
overrides:
  - namespaces: ["legacy-*"]
    mode: audit
  - namespaces: [batch]
    mode: "off"
    rules: [image-region]
`
		var values bytes.Buffer
		values.WriteString("policy:\n")
		for _, line := range bytes.Split([]byte(policy), []byte("\n")) {
			values.WriteString("  ")
			values.Write(line)
			values.WriteString("\n")
		}
		r := mustRender(t, defaultRelease, values.String())
		got := renderedPolicyOf(t, r, "privateguard-policy")
		want, err := loadRenderedPolicy([]byte(policy))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rendered policy differs from values (-want +got):\n%s", diff)
		}
	})

	t.Run("the loader refuses what the server refuses", func(t *testing.T) {
		for name, doc := range map[string]string{
			"missing region": "apiVersion: privateguard.io/v1alpha1\nkind: Policy\n",
			"unknown field":  "apiVersion: privateguard.io/v1alpha1\nkind: Policy\nregion: us-west-2\nregistry: {}\n",
			"wrong kind":     "apiVersion: privateguard.io/v1alpha1\nkind: Config\nregion: us-west-2\n",
		} {
			if _, err := loadRenderedPolicy([]byte(doc)); err == nil {
				t.Errorf("%s: loaded without error", name)
			}
		}
	})
}
