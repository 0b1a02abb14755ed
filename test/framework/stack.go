package framework

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Bounded waits of StartStack.
const (
	// CertificatesTimeout bounds the wait for the chart's Certificates to be Ready;
	// cert-manager issues them in about a second.
	CertificatesTimeout = 60 * time.Second
	// CABundleTimeout bounds the wait for the CA injector.
	CABundleTimeout = 30 * time.Second
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
	// Namespaces are created before the chart is installed.
	Namespaces []string
	// BeforeWebhooks runs after the namespaces exist and before the chart is installed:
	// what it creates predates the policy.
	BeforeWebhooks func(ctx context.Context, cs kubernetes.Interface) error
	// WebhookLog receives the server's output; CertManagerLog cert-manager's. Either may
	// be nil.
	WebhookLog, CertManagerLog io.Writer
}

// Stack is a control plane with cert-manager running, the chart installed by the Helm SDK,
// its certificate issued by cert-manager and the webhook serving it.
type Stack struct {
	WorkDir      string
	ControlPlane *ControlPlane
	CertManager  *CertManager
	Helm         *HelmRelease
	// Release is the installed (or last upgraded) release.
	Release *release.Release
	// Objects are the release's objects as applied (after post-rendering).
	Objects []*unstructured.Unstructured
	Webhook *Webhook
	// TLS keeps the webhook's --cert-dir in step with the serving certificate's Secret.
	TLS *SecretVolume
	// CABundle is the CA that cert-manager issued and injected into both webhook
	// configurations; it verifies the webhook's serving certificate.
	CABundle []byte
	// Certificates are the chart's Certificates as they became Ready.
	Certificates []CertificateStatus
	// IssuedIn is how long cert-manager took from the install to both webhook
	// configurations carrying the CA.
	IssuedIn time.Duration
	// PolicyYAML is the policy file as the chart rendered it into its ConfigMap; the
	// webhook runs with it.
	PolicyYAML []byte
	// WebhookConfigurations is the name of both webhook configurations.
	WebhookConfigurations string
	// Kubectl runs bin/kubectl against the API server.
	Kubectl Kubectl

	opts StackOptions
	cs   kubernetes.Interface
	dc   dynamic.Interface
}

// StartStack starts kube-apiserver, etcd and cert-manager; installs the chart with the
// Helm SDK (certManager.enabled=true, webhooks pointed at the local webhook by a
// post-renderer); waits until cert-manager has issued the chart's Certificates and
// injected the CA into both webhook configurations; mounts the serving certificate's
// Secret and the policy ConfigMap into the webhook's directories as a kubelet would;
// starts `privateguard serve`; and waits until the API server calls it. On error it stops
// what it started.
func StartStack(ctx context.Context, o StackOptions) (s *Stack, err error) {
	s = &Stack{opts: o}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.WorkDir, err = os.MkdirTemp("", "privateguard-stack-"); err != nil {
		return nil, err
	}
	bin := filepath.Join(o.Repo, "bin")
	for _, name := range []string{"privateguard", "kube-apiserver", "etcd", "cert-manager", "kubectl"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("%w (run `make build e2e-bins`)", err)
		}
	}
	if s.ControlPlane, err = StartControlPlane(bin, s.WorkDir); err != nil {
		return nil, err
	}
	s.Kubectl = Kubectl{Binary: filepath.Join(bin, "kubectl"), Kubeconfig: s.ControlPlane.Kubeconfig}
	if s.CertManager, err = StartCertManager(filepath.Join(bin, "cert-manager"), s.ControlPlane.Kubeconfig, o.CertManagerLog); err != nil {
		return nil, err
	}
	if s.cs, err = kubernetes.NewForConfig(s.ControlPlane.Config); err != nil {
		return nil, err
	}
	if s.dc, err = dynamic.NewForConfig(s.ControlPlane.Config); err != nil {
		return nil, err
	}
	for _, ns := range append([]string{o.Namespace}, o.Namespaces...) {
		if _, err := s.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	if o.BeforeWebhooks != nil {
		if err := o.BeforeWebhooks(ctx, s.cs); err != nil {
			return nil, err
		}
	}

	// The webhook's port is chosen first: the post-renderer writes it into the webhook
	// configurations.
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	if s.Helm, err = NewHelmRelease(s.ControlPlane.Kubeconfig, filepath.Join(o.Repo, "deploy/helm/privateguard"), o.Release, o.Namespace); err != nil {
		return nil, err
	}
	s.Helm.PostRenderer = &LocalWebhookPostRenderer{URL: fmt.Sprintf("https://127.0.0.1:%d", ports[0])}
	values, err := ChartValues(o.Policy)
	if err != nil {
		return nil, err
	}
	installed := time.Now()
	if err := s.setRelease(s.Helm.Install(ctx, values)); err != nil {
		return nil, err
	}
	if err := s.waitForTLS(ctx); err != nil {
		return nil, err
	}
	s.IssuedIn = time.Since(installed)
	if s.PolicyYAML, err = s.policyFromConfigMap(ctx); err != nil {
		return nil, err
	}
	configPath := filepath.Join(s.WorkDir, "config", "policy.yaml")
	if err := os.MkdirAll(filepath.Dir(configPath), 0o700); err != nil {
		return nil, err
	}
	if err := WritePolicy(configPath, s.PolicyYAML); err != nil {
		return nil, err
	}
	s.Webhook, err = StartWebhook(WebhookOptions{
		Binary: filepath.Join(bin, "privateguard"), ConfigPath: configPath, CertDir: s.TLS.Dir,
		Port: ports[0], Kubeconfig: s.ControlPlane.Kubeconfig, Log: o.WebhookLog,
	})
	if err != nil {
		return nil, err
	}
	return s, waitForWebhooks(ctx, s.cs)
}

// ChartValues are the chart values of the suite and the demo: the policy file as the
// `policy` value, and cert-manager issuing the certificate (the chart's default, said
// explicitly).
func ChartValues(policy []byte) (map[string]any, error) {
	var policyValues map[string]any
	if err := yaml.Unmarshal(policy, &policyValues); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return map[string]any{
		"policy":      policyValues,
		"certManager": map[string]any{"enabled": true},
	}, nil
}

// setRelease records an installed or upgraded release and its objects.
func (s *Stack) setRelease(rel *release.Release, err error) error {
	if err != nil {
		return err
	}
	objs, err := DecodeManifest([]byte(rel.Manifest))
	if err != nil {
		return fmt.Errorf("release manifest: %w", err)
	}
	s.Release, s.Objects = rel, objs
	for _, obj := range objs {
		if obj.GetKind() == "ValidatingWebhookConfiguration" {
			s.WebhookConfigurations = obj.GetName()
		}
	}
	if s.WebhookConfigurations == "" {
		return fmt.Errorf("release %s has no ValidatingWebhookConfiguration", rel.Name)
	}
	return nil
}

// waitForTLS waits until cert-manager has issued every Certificate of the release and
// injected the CA into both webhook configurations, then mounts the serving Secret.
func (s *Stack) waitForTLS(ctx context.Context) error {
	certs, err := WaitForCertificates(ctx, s.dc, s.opts.Namespace, CertificatesTimeout)
	if err != nil {
		if s.CertManager.Exited() {
			err = fmt.Errorf("%w\ncert-manager exited:\n%s", err, tail(s.CertManager.Logs(), 4<<10))
		}
		return err
	}
	s.Certificates = certs
	secret := s.ServingSecretName()
	if secret == "" {
		return fmt.Errorf("release %s has no serving Certificate (one that is not a CA)", s.opts.Release)
	}
	tls, err := s.cs.CoreV1().Secrets(s.opts.Namespace).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the serving certificate's secret: %w", err)
	}
	s.CABundle = tls.Data["ca.crt"]
	if len(s.CABundle) == 0 {
		return fmt.Errorf("secret %s/%s has no ca.crt", s.opts.Namespace, secret)
	}
	if err := WaitForCABundle(ctx, s.cs, s.WebhookConfigurations, s.CABundle, CABundleTimeout); err != nil {
		return err
	}
	s.TLS, err = MountSecret(ctx, s.cs, s.opts.Namespace, secret, filepath.Join(s.WorkDir, "certs"))
	return err
}

// ServingSecretName is the Secret of the release's serving Certificate.
func (s *Stack) ServingSecretName() string {
	if c := s.ServingCertificate(); c != nil {
		name, _, _ := unstructured.NestedString(c.Object, "spec", "secretName")
		return name
	}
	return ""
}

// ServingCertificate is the release's Certificate that is not a CA.
func (s *Stack) ServingCertificate() *unstructured.Unstructured {
	for _, obj := range s.Objects {
		if obj.GetKind() != "Certificate" {
			continue
		}
		if isCA, _, _ := unstructured.NestedBool(obj.Object, "spec", "isCA"); !isCA {
			return obj
		}
	}
	return nil
}

// policyFromConfigMap reads policy.yaml from the release's ConfigMap in the API server,
// the file a kubelet would mount for the webhook.
func (s *Stack) policyFromConfigMap(ctx context.Context) ([]byte, error) {
	for _, obj := range s.Objects {
		if obj.GetKind() != "ConfigMap" {
			continue
		}
		cm, err := s.cs.CoreV1().ConfigMaps(s.opts.Namespace).Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if p := cm.Data["policy.yaml"]; p != "" {
			return []byte(p), nil
		}
	}
	return nil, fmt.Errorf("release %s has no ConfigMap with policy.yaml", s.opts.Release)
}

// Upgrade is `helm upgrade` of the release with a new policy; the ConfigMap's new
// policy.yaml is then written to the webhook's config file, as a kubelet updates a
// mounted ConfigMap, and the running webhook reloads it.
func (s *Stack) Upgrade(ctx context.Context, policy []byte) error {
	values, err := ChartValues(policy)
	if err != nil {
		return err
	}
	if err := s.setRelease(s.Helm.Upgrade(ctx, values)); err != nil {
		return err
	}
	if s.PolicyYAML, err = s.policyFromConfigMap(ctx); err != nil {
		return err
	}
	return WritePolicy(s.Webhook.ConfigPath, s.PolicyYAML)
}

// Uninstall is `helm uninstall` of the release. The webhook process keeps running; the API
// server no longer calls it.
func (s *Stack) Uninstall() error {
	if s.TLS != nil {
		s.TLS.Stop()
	}
	return s.Helm.Uninstall()
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
	var last error
	for {
		_, err := cs.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "[image-registry]") {
			return nil // denied by the validating webhook: it answers
		}
		if err != nil && ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the webhooks never took effect: an image outside every allowed registry is still admitted in namespace default (last error: %v)", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the webhook, cert-manager and the control plane and removes the work
// directory.
func (s *Stack) Stop() {
	if s.Webhook != nil {
		s.Webhook.Stop()
	}
	if s.TLS != nil {
		s.TLS.Stop()
	}
	if s.CertManager != nil {
		s.CertManager.Stop()
	}
	if s.ControlPlane != nil {
		s.ControlPlane.Stop()
	}
	if s.WorkDir != "" {
		os.RemoveAll(s.WorkDir)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Dynamic is a dynamic client of the API server, for cert-manager's objects.
func (s *Stack) Dynamic() dynamic.Interface { return s.dc }

// Clientset is a client of the API server.
func (s *Stack) Clientset() kubernetes.Interface { return s.cs }
