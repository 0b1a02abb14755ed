package framework

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// StackOptions says what StartStack starts.
type StackOptions struct {
	// Repo is the repository root: bin/ holds the binaries, deploy/helm/privateguard the
	// chart.
	Repo string
	// Policy is the policy file, given to the chart as its `policy` value.
	Policy []byte
	// Release and Namespace name the Helm release.
	Release, Namespace string
	// Namespaces are created before the webhooks are registered.
	Namespaces []string
	// BeforeWebhooks runs after the namespaces exist and before the chart is applied:
	// what it creates predates the policy.
	BeforeWebhooks func(ctx context.Context, cs kubernetes.Interface) error
	// WebhookLog receives the server's output; may be nil.
	WebhookLog io.Writer
}

// Stack is a control plane with the chart applied and the webhook serving it.
type Stack struct {
	WorkDir      string
	ControlPlane *ControlPlane
	CA           *CA
	Webhook      *Webhook
	// Objects are the chart's rendered objects, as applied (before redirection).
	Objects []*unstructured.Unstructured
	// PolicyYAML is the policy file as the chart rendered it into its ConfigMap; the
	// webhook runs with it.
	PolicyYAML []byte
	// ApplyErr is the error of applying the chart, if any.
	ApplyErr error
}

// StartStack starts kube-apiserver and etcd, renders the chart with the Helm SDK, starts
// `privateguard serve` with the rendered policy, applies every chart object with the
// webhook configurations pointed at the local webhook, and waits until the API server
// calls them. On error it stops what it started.
func StartStack(ctx context.Context, o StackOptions) (s *Stack, err error) {
	s = &Stack{}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.WorkDir, err = os.MkdirTemp("", "privateguard-stack-"); err != nil {
		return nil, err
	}
	bin := filepath.Join(o.Repo, "bin")
	for _, name := range []string{"privateguard", "kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("%w (run `make build e2e-bins`)", err)
		}
	}
	if s.ControlPlane, err = StartControlPlane(bin, s.WorkDir); err != nil {
		return nil, err
	}

	var policyValues map[string]any
	if err := yaml.Unmarshal(o.Policy, &policyValues); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	s.Objects, err = RenderChart(filepath.Join(o.Repo, "deploy/helm/privateguard"), o.Release, o.Namespace, map[string]any{"policy": policyValues})
	if err != nil {
		return nil, err
	}
	for _, obj := range s.Objects {
		if obj.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedString(obj.Object, "data", "policy.yaml")
			s.PolicyYAML = []byte(data)
		}
	}
	if len(s.PolicyYAML) == 0 {
		return nil, fmt.Errorf("the rendered chart has no ConfigMap with policy.yaml")
	}
	configPath := filepath.Join(s.WorkDir, "config", "policy.yaml")
	if err := os.MkdirAll(filepath.Dir(configPath), 0o700); err != nil {
		return nil, err
	}
	if err := WritePolicy(configPath, s.PolicyYAML); err != nil {
		return nil, err
	}

	if s.CA, err = NewCA(); err != nil {
		return nil, err
	}
	certDir := filepath.Join(s.WorkDir, "certs")
	if _, err := s.CA.WriteServingCert(certDir); err != nil {
		return nil, err
	}
	s.Webhook, err = StartWebhook(WebhookOptions{
		Binary: filepath.Join(bin, "privateguard"), ConfigPath: configPath, CertDir: certDir,
		Kubeconfig: s.ControlPlane.Kubeconfig, Log: o.WebhookLog,
	})
	if err != nil {
		return nil, err
	}

	cs, err := kubernetes.NewForConfig(s.ControlPlane.Config)
	if err != nil {
		return nil, err
	}
	for _, ns := range append([]string{o.Namespace}, o.Namespaces...) {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	if o.BeforeWebhooks != nil {
		if err := o.BeforeWebhooks(ctx, cs); err != nil {
			return nil, err
		}
	}
	c, err := client.New(s.ControlPlane.Config, client.Options{})
	if err != nil {
		return nil, err
	}
	s.ApplyErr = Apply(ctx, c, s.Objects, ApplyOptions{WebhookURL: "https://" + s.Webhook.Addr(), CABundle: s.CA.PEM})
	if s.ApplyErr != nil {
		return nil, s.ApplyErr
	}
	return s, waitForWebhooks(ctx, cs)
}

// waitForWebhooks waits (at most 30 seconds) until the API server calls the webhooks: a
// dry-run pod in the default namespace with an image outside every registry is denied by
// image-registry (so the policy must enforce it there).
func waitForWebhooks(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privateguard-probe", Annotations: map[string]string{"privateguard.io/probe": "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "privateguard.invalid/probe:1"}}},
	}
	for {
		_, err := cs.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "[image-registry]") {
			return nil // denied by the validating webhook: it answers
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the webhooks never took effect: an image outside every allowed registry is still admitted in namespace default")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the webhook and the control plane and removes the work directory.
func (s *Stack) Stop() {
	if s.Webhook != nil {
		s.Webhook.Stop()
	}
	if s.ControlPlane != nil {
		s.ControlPlane.Stop()
	}
	if s.WorkDir != "" {
		os.RemoveAll(s.WorkDir)
	}
}
