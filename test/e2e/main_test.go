//go:build e2e

// The end-to-end suite: a real kube-apiserver and etcd, the chart applied to them, and
// the real privateguard binary registered through the chart's own webhook
// configurations. Run it with `make e2e` (part of `make test`).
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/privateguard/privateguard/test/e2e/framework"
)

const (
	release          = "privateguard"
	releaseNamespace = "privateguard"
	ecr              = "111122223333.dkr.ecr.us-west-2.amazonaws.com"
)

// suite is what TestMain started, shared by the scenarios.
var suite struct {
	repo       string
	workDir    string
	cp         *framework.ControlPlane
	ca         *framework.CA
	webhook    *framework.Webhook
	objects    []*unstructured.Unstructured
	policyYAML []byte // the policy as the chart rendered it
	applyErr   error
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		tearDown()
		return 1
	}
	code := m.Run()
	if code != 0 && suite.webhook != nil {
		fmt.Fprintf(os.Stderr, "--- webhook log (last 8 KiB)\n%s\n", tail(suite.webhook.Logs(), 8<<10))
	}
	tearDown()
	return code
}

func setUp() error {
	var err error
	suite.repo, err = filepath.Abs("../..")
	if err != nil {
		return err
	}
	bin := filepath.Join(suite.repo, "bin")
	if suite.workDir, err = os.MkdirTemp("", "privateguard-e2e-"); err != nil {
		return err
	}
	if suite.cp, err = framework.StartControlPlane(bin, suite.workDir); err != nil {
		return err
	}

	var values map[string]any
	policy, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		return err
	}
	var policyValues map[string]any
	if err := yaml.Unmarshal(policy, &policyValues); err != nil {
		return err
	}
	values = map[string]any{"policy": policyValues}
	suite.objects, err = framework.RenderChart(filepath.Join(suite.repo, "deploy/helm/privateguard"), release, releaseNamespace, values)
	if err != nil {
		return err
	}
	// The webhook runs with the policy file exactly as the chart renders it.
	for _, obj := range suite.objects {
		if obj.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedString(obj.Object, "data", "policy.yaml")
			suite.policyYAML = []byte(data)
		}
	}
	if len(suite.policyYAML) == 0 {
		return fmt.Errorf("the rendered chart has no ConfigMap with policy.yaml")
	}
	configPath := filepath.Join(suite.workDir, "config", "policy.yaml")
	if err := os.MkdirAll(filepath.Dir(configPath), 0o700); err != nil {
		return err
	}
	if err := framework.WritePolicy(configPath, suite.policyYAML); err != nil {
		return err
	}

	if suite.ca, err = framework.NewCA(); err != nil {
		return err
	}
	certDir := filepath.Join(suite.workDir, "certs")
	if _, err := suite.ca.WriteServingCert(certDir); err != nil {
		return err
	}
	suite.webhook, err = framework.StartWebhook(framework.WebhookOptions{
		Binary:     filepath.Join(bin, "privateguard"),
		ConfigPath: configPath,
		CertDir:    certDir,
		Kubeconfig: suite.cp.Kubeconfig,
	})
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(suite.cp.Config)
	for _, ns := range []string{releaseNamespace, "e2e-rewrite", "e2e-norewrite", "e2e-irsa", "legacy-billing",
		"e2e-preexisting", "e2e-excluded", "e2e-reload", "e2e-rotation", "e2e-down"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	// A pod whose public image predates the policy: created before the webhooks exist.
	if _, err := cs.CoreV1().Pods("e2e-preexisting").Create(ctx, barePod("legacy", "ghcr.io/legacy/app:1"), metav1.CreateOptions{}); err != nil {
		return err
	}

	c, err := client.New(suite.cp.Config, client.Options{})
	if err != nil {
		return err
	}
	// Scenario 12 asserts this went well; the others need the webhooks registered.
	suite.applyErr = framework.Apply(ctx, c, suite.objects, framework.ApplyOptions{
		WebhookURL: "https://" + suite.webhook.Addr(), CABundle: suite.ca.PEM,
	})
	if suite.applyErr != nil {
		return suite.applyErr
	}
	return waitForWebhooks(ctx, cs)
}

// waitForWebhooks waits until the API server calls the webhooks: a public image is denied.
func waitForWebhooks(ctx context.Context, cs kubernetes.Interface) error {
	for {
		_, err := cs.CoreV1().Pods("e2e-norewrite").Create(ctx, barePod("probe", "ghcr.io/probe:1"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the webhooks never took effect: a public image is still admitted")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tearDown() {
	if suite.webhook != nil {
		suite.webhook.Stop()
	}
	if suite.cp != nil {
		suite.cp.Stop()
	}
	if suite.workDir != "" {
		os.RemoveAll(suite.workDir)
	}
}

// warnings collects the admission warnings the API server returns to a client.
type warnings struct{ list []string }

func (w *warnings) HandleWarningHeader(code int, agent string, text string) {
	w.list = append(w.list, text)
}

// clientset is a client whose warnings the test can read.
func clientset(t *testing.T) (*kubernetes.Clientset, *warnings) {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(suite.cp.Config)
	cfg.WarningHandler = w
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, w
}

func barePod(name string, images ...string) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for i, image := range images {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: image})
	}
	return pod
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
