//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/privateguard/privateguard/test/framework"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func deployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			},
		},
	}
}

// wantDenied asserts that err is the webhook's denial (403) and carries every want.
func wantDenied(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("admitted, want a denial containing %q", want)
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("denial is not a 403 Forbidden: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("denial does not say %q:\n%v", w, err)
		}
	}
}

// Scenario 1: a docker.io pod is admitted rewritten to the pull-through cache; a
// Deployment with the same template is created unmutated.
func TestRewriteOn(t *testing.T) {
	cs, _ := clientset(t)
	pod, err := cs.CoreV1().Pods("e2e-rewrite").Create(ctx(t), barePod("web", "nginx:1.27"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	if got, want := pod.Spec.Containers[0].Image, ecr+"/docker-hub/library/nginx:1.27"; got != want {
		t.Errorf("pod image = %q, want %q", got, want)
	}
	dep, err := cs.AppsV1().Deployments("e2e-rewrite").Create(ctx(t), deployment("web", "nginx:1.27"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != "nginx:1.27" {
		t.Errorf("the Deployment's template was mutated to %q; templates must stay as applied", got)
	}
}

// Scenario 2: with image-rewrite off, the pod is denied with the spec's message, and so is
// the Deployment.
func TestRewriteOff(t *testing.T) {
	cs, _ := clientset(t)
	_, err := cs.CoreV1().Pods("e2e-norewrite").Create(ctx(t), barePod("web", "nginx:1.27"), metav1.CreateOptions{})
	wantDenied(t, err, `image "nginx:1.27" (spec.containers[0].image) is not in an allowed private registry (allowed: `+ecr+`); mirror it into ECR or add a rewrite rule [image-registry]`)
	_, err = cs.AppsV1().Deployments("e2e-norewrite").Create(ctx(t), deployment("web", "nginx:1.27"), metav1.CreateOptions{})
	wantDenied(t, err, `(spec.template.spec.containers[0].image) is not in an allowed private registry`, "[image-registry]")
}

// Scenario 3: a Marketplace image is denied although a rewrite rule matches its host.
func TestMarketplaceDenied(t *testing.T) {
	cs, _ := clientset(t)
	_, err := cs.CoreV1().Pods("e2e-rewrite").Create(ctx(t), barePod("metered", "709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/agent:2.1"), metav1.CreateOptions{})
	wantDenied(t, err, "is an AWS Marketplace image", "[marketplace-image]")
}

// Scenario 4: a service account annotated for IRSA, created right before its pod: every
// container and init container gets AWS_STS_REGIONAL_ENDPOINTS=regional; an explicit
// legacy is denied.
func TestIRSA(t *testing.T) {
	cs, _ := clientset(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "billing", Annotations: map[string]string{
		"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/billing",
	}}}
	if _, err := cs.CoreV1().ServiceAccounts("e2e-irsa").Create(ctx(t), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := barePod("billing", ecr+"/billing:1", ecr+"/proxy:1")
	pod.Spec.ServiceAccountName = "billing"
	pod.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: ecr + "/migrate:1"}}
	got, err := cs.CoreV1().Pods("e2e-irsa").Create(ctx(t), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create IRSA pod: %v", err)
	}
	all := append(append([]corev1.Container{}, got.Spec.InitContainers...), got.Spec.Containers...)
	for _, c := range all {
		if v := envValue(c, "AWS_STS_REGIONAL_ENDPOINTS"); v != "regional" {
			t.Errorf("container %s: AWS_STS_REGIONAL_ENDPOINTS = %q, want regional (env %v)", c.Name, v, c.Env)
		}
		if v := envValue(c, "AWS_REGION"); v != "us-west-2" {
			t.Errorf("container %s: AWS_REGION = %q, want us-west-2", c.Name, v)
		}
	}

	legacy := barePod("legacy", ecr+"/billing:1")
	legacy.Spec.ServiceAccountName = "billing"
	legacy.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "AWS_STS_REGIONAL_ENDPOINTS", Value: "legacy"}}
	_, err = cs.CoreV1().Pods("e2e-irsa").Create(ctx(t), legacy, metav1.CreateOptions{})
	wantDenied(t, err, `sets AWS_STS_REGIONAL_ENDPOINTS="legacy"`, "[sts-regional-endpoint]")
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// Scenario 5: in audit mode the same violations are admitted, the warnings reach the
// client, and nothing is mutated.
func TestAuditMode(t *testing.T) {
	cs, w := clientset(t)
	pod, err := cs.CoreV1().Pods("legacy-billing").Create(ctx(t), barePod("web", "nginx:1.27", "ghcr.io/acme/app:1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("audit mode must admit: %v", err)
	}
	if pod.Spec.Containers[0].Image != "nginx:1.27" {
		t.Errorf("audit mode mutated the image to %q", pod.Spec.Containers[0].Image)
	}
	joined := strings.Join(w.List(), "\n")
	for _, want := range []string{
		`image "nginx:1.27" (spec.containers[0].image)`, "[image-rewrite]",
		`image "ghcr.io/acme/app:1" (spec.containers[1].image) is not in an allowed private registry`, "[image-registry]",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings do not say %q:\n%s", want, joined)
		}
	}
}

// Scenario 6: an UPDATE of a bare pod's image to a public one is denied; a label update
// of a pod whose public image predates the policy is allowed.
func TestUpdates(t *testing.T) {
	cs, _ := clientset(t)
	pods := cs.CoreV1().Pods("e2e-preexisting")
	label := []byte(`{"metadata":{"labels":{"tier":"legacy"}}}`)
	if _, err := pods.Patch(ctx(t), "legacy", types.MergePatchType, label, metav1.PatchOptions{}); err != nil {
		t.Errorf("a label update of a pod that predates the policy must be allowed: %v", err)
	}
	image := []byte(`{"spec":{"containers":[{"name":"c0","image":"ghcr.io/legacy/app:2"}]}}`)
	_, err := pods.Patch(ctx(t), "legacy", types.StrategicMergePatchType, image, metav1.PatchOptions{})
	wantDenied(t, err, `image "ghcr.io/legacy/app:2" (spec.containers[0].image) is not in an allowed private registry`)

	bare, err := cs.CoreV1().Pods("e2e-rewrite").Create(ctx(t), barePod("bare", ecr+"/app:1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().Pods("e2e-rewrite").Patch(ctx(t), bare.Name, types.StrategicMergePatchType,
		[]byte(`{"spec":{"containers":[{"name":"c0","image":"quay.io/app:2"}]}}`), metav1.PatchOptions{})
	wantDenied(t, err, `image "quay.io/app:2" (spec.containers[0].image)`, "[image-registry]")
}

// Scenario 7: an ephemeral container with a public image, added through the
// pods/ephemeralcontainers subresource (kubectl debug), is denied.
func TestEphemeralContainer(t *testing.T) {
	cs, _ := clientset(t)
	pods := cs.CoreV1().Pods("e2e-rewrite")
	pod, err := pods.Create(ctx(t), barePod("debugged", ecr+"/app:1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: "ghcr.io/nicolaka/netshoot:v0.13", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}}}
	_, err = pods.UpdateEphemeralContainers(ctx(t), pod.Name, pod, metav1.UpdateOptions{})
	wantDenied(t, err, `image "ghcr.io/nicolaka/netshoot:v0.13" (spec.ephemeralContainers[0].image)`, "[image-registry]")
}

// Scenario 8: an excluded namespace is left alone; a namespace override applies (see
// TestRewriteOff for e2e-norewrite and TestAuditMode for legacy-*).
func TestExcludedNamespace(t *testing.T) {
	cs, w := clientset(t)
	pod, err := cs.CoreV1().Pods("e2e-excluded").Create(ctx(t), barePod("web", "nginx:1.27", "ghcr.io/x:1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("an excluded namespace must admit anything: %v", err)
	}
	if pod.Spec.Containers[0].Image != "nginx:1.27" || len(w.List()) != 0 {
		t.Errorf("an excluded namespace must be left alone: image %q, warnings %q", pod.Spec.Containers[0].Image, w.List())
	}
}

// Scenario 9: the policy file changes on disk, enforce → audit, and takes effect without a
// restart; a broken file is then kept out.
func TestPolicyReload(t *testing.T) {
	cs, _ := clientset(t)
	public := barePod("web", "ghcr.io/x:1")
	create := func() error {
		_, err := cs.CoreV1().Pods("e2e-reload").Create(ctx(t), public, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	wantDenied(t, create(), "[image-registry]")
	t.Cleanup(func() {
		framework.WritePolicy(suite.Webhook.ConfigPath, suite.PolicyYAML)
		eventually(t, "the enforcing policy to come back", func() bool { return create() != nil })
	})

	audit := strings.Replace(string(suite.PolicyYAML), "mode: enforce", "mode: audit", 1)
	if audit == string(suite.PolicyYAML) {
		t.Fatal("the rendered policy has no `mode: enforce` line to change")
	}
	if err := framework.WritePolicy(suite.Webhook.ConfigPath, []byte(audit)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the audit policy to take effect", func() bool { return create() == nil })

	if err := framework.WritePolicy(suite.Webhook.ConfigPath, []byte("region: [broken\n")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broken policy to be counted", func() bool {
		m, err := suite.Webhook.Metrics(ctx(t))
		return err == nil && strings.Contains(m, `privateguard_config_reloads_total{result="error"}`)
	})
	if err := create(); err != nil {
		t.Errorf("a broken policy file must leave the last good (audit) policy in force: %v", err)
	}
}

// Scenario 10: the serving certificate is rotated while a bounded stream of pod
// creations runs: zero failed admissions, and the new certificate is served.
func TestCertificateRotation(t *testing.T) {
	cs, _ := clientset(t)
	before, err := suite.Webhook.ServingCertSerial(suite.CA.PEM)
	if err != nil {
		t.Fatal(err)
	}
	var sent, failed atomic.Int32
	var firstErr atomic.Value
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(60 * time.Second)
		for i := 0; i < 400 && time.Now().Before(deadline); i++ {
			select {
			case <-stop:
				return
			default:
			}
			pod, err := cs.CoreV1().Pods("e2e-rotation").Create(context.Background(), barePod("p", "nginx:1.27"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			sent.Add(1)
			if err != nil || pod.Spec.Containers[0].Image != ecr+"/docker-hub/library/nginx:1.27" {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	serial, err := suite.CA.WriteServingCert(suite.Webhook.CertDir)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the webhook to serve the new certificate", func() bool {
		got, err := suite.Webhook.ServingCertSerial(suite.CA.PEM)
		return err == nil && got == serial.String()
	})
	time.Sleep(500 * time.Millisecond) // admissions over the new certificate
	close(stop)
	<-done
	if failed.Load() != 0 {
		t.Errorf("%d of %d admissions failed during rotation; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if before == serial.String() {
		t.Error("rotation did not change the certificate")
	}
	t.Logf("%d admissions during the rotation, none failed", sent.Load())
}

// Scenario 12: the whole rendered chart applied to the API server, and its webhook
// configurations carry what the API server needs.
func TestChartApplies(t *testing.T) {
	if suite.ApplyErr != nil {
		t.Fatalf("the rendered chart does not apply: %v", suite.ApplyErr)
	}
	cs, _ := clientset(t)
	if _, err := cs.AppsV1().Deployments(releaseNamespace).Get(ctx(t), release, metav1.GetOptions{}); err != nil {
		t.Errorf("the chart's Deployment: %v", err)
	}
	v, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx(t), release, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's ValidatingWebhookConfiguration: %v", err)
	}
	for _, wh := range v.Webhooks {
		if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Fail {
			t.Errorf("validating webhook %s: failurePolicy %v, want Fail", wh.Name, wh.FailurePolicy)
		}
		if !excludes(wh.NamespaceSelector, releaseNamespace, "kube-system", "kube-node-lease") {
			t.Errorf("validating webhook %s: namespaceSelector %v must exclude the release namespace, kube-system and kube-node-lease", wh.Name, wh.NamespaceSelector)
		}
	}
	if v.Annotations["cert-manager.io/inject-ca-from"] == "" {
		t.Error("the validating webhook configuration lacks cert-manager.io/inject-ca-from")
	}
	m, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx(t), release, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's MutatingWebhookConfiguration: %v", err)
	}
	for _, wh := range m.Webhooks {
		if wh.ReinvocationPolicy == nil || *wh.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("mutating webhook %s: reinvocationPolicy %v, want IfNeeded", wh.Name, wh.ReinvocationPolicy)
		}
	}
}

func excludes(sel *metav1.LabelSelector, namespaces ...string) bool {
	if sel == nil {
		return false
	}
	for _, ns := range namespaces {
		found := false
		for _, e := range sel.MatchExpressions {
			if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn {
				for _, v := range e.Values {
					found = found || v == ns
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Scenario 13: `privateguard audit --cluster` against this API server reports the
// workloads above.
func TestAuditCluster(t *testing.T) {
	configPath := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(configPath, suite.PolicyYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx(t), filepath.Join(suite.repo, "bin", "privateguard"), "audit",
		"--config", configPath, "--cluster", "--kubeconfig", suite.ControlPlane.Kubeconfig, "-o", "json")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("audit --cluster: %v\n%s", err, out)
	}
	if cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1: the pre-existing public-image pod would be denied", cmd.ProcessState.ExitCode())
	}
	var report struct {
		Results []struct {
			Kind, Namespace, Name string
			Allowed               bool
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("audit --cluster -o json: %v\n%s", err, out)
	}
	found := map[string]bool{}
	for _, r := range report.Results {
		found[r.Kind+" "+r.Namespace+"/"+r.Name] = r.Allowed
	}
	for key, allowed := range map[string]bool{
		"Pod e2e-preexisting/legacy": false,
		"Deployment e2e-rewrite/web": true,
		"Pod e2e-irsa/billing":       true,
	} {
		got, ok := found[key]
		if !ok {
			t.Errorf("audit --cluster does not report %s; it reports %v", key, found)
		} else if got != allowed {
			t.Errorf("audit --cluster: %s allowed = %v, want %v", key, got, allowed)
		}
	}
}

// Scenario 11 (last: it stops the webhook): with failurePolicy Fail a stopped webhook
// rejects pods in a normal namespace, while kube-system still admits.
func TestWebhookDown(t *testing.T) {
	if err := suite.Webhook.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := suite.Webhook.Start(); err != nil {
			t.Errorf("restart the webhook: %v", err)
		}
	})
	cs, _ := clientset(t)
	_, err := cs.CoreV1().Pods("e2e-down").Create(ctx(t), barePod("web", ecr+"/app:1"), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("with the webhook down a pod must be rejected (failurePolicy Fail), got %v", err)
	}
	if _, err := cs.CoreV1().Pods("kube-system").Create(ctx(t), barePod("critical", "ghcr.io/x:1"), metav1.CreateOptions{}); err != nil {
		t.Errorf("kube-system must still admit with the webhook down: %v", err)
	}
}

// eventually polls cond every 100ms for at most 30 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30s waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
