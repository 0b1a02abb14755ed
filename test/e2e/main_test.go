//go:build e2e

// The end-to-end suite: a real kube-apiserver and etcd, real cert-manager issuing and
// injecting the chart's certificate, the chart installed with the Helm SDK, the real
// privateguard binary registered through the chart's own webhook configurations, and
// real kubectl where what the user sees matters. Run it with `make e2e` (part of
// `make test`).
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/privateguard/privateguard/test/framework"
)

const (
	release          = "privateguard"
	releaseNamespace = "privateguard"
	ecr              = "111122223333.dkr.ecr.us-west-2.amazonaws.com"
)

// suite is what TestMain started, shared by the scenarios.
var suite struct {
	repo string
	*framework.Stack
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	repo, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	suite.repo = repo
	policy, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	suite.Stack, err = framework.StartStack(ctx, framework.StackOptions{
		Repo: repo, Policy: policy, Release: release, Namespace: releaseNamespace,
		Namespaces: []string{"e2e-rewrite", "e2e-norewrite", "e2e-irsa", "legacy-billing",
			"e2e-preexisting", "e2e-excluded", "e2e-reload", "e2e-rotation", "e2e-down",
			"e2e-badcert", "e2e-upgrade", "e2e-irsa-burst", "e2e-exceptions", "e2e-alb"},
		// A pod whose public image predates the policy: created before the webhooks exist.
		BeforeWebhooks: func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Pods("e2e-preexisting").Create(ctx, barePod("legacy", "ghcr.io/legacy/app:1"), metav1.CreateOptions{})
			return err
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- webhook log (last 8 KiB)\n%s\n", tail(suite.Webhook.Logs(), 8<<10))
		fmt.Fprintf(os.Stderr, "--- cert-manager log (last 8 KiB)\n%s\n", tail(suite.CertManager.Logs(), 8<<10))
	}
	suite.Stop()
	return code
}

// clientset is a client whose warnings the test can read.
func clientset(t *testing.T) (*kubernetes.Clientset, *framework.Warnings) {
	t.Helper()
	w := &framework.Warnings{}
	cfg := rest.CopyConfig(suite.ControlPlane.Config)
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

// kubectl runs bin/kubectl against the suite's API server, failing the test only if it
// cannot run.
func kubectl(t *testing.T, stdin string, args ...string) framework.KubectlResult {
	t.Helper()
	var in []byte
	if stdin != "" {
		in = []byte(stdin)
	}
	res, err := suite.Kubectl.Run(ctx(t), in, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("$ kubectl %s\n%s", strings.Join(args, " "), res.Output)
	return res
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
