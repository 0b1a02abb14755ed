//go:build e2e

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

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

// podYAML is a pod as a user writes it for `kubectl apply -f`.
func podYAML(t *testing.T, namespace, name string, images ...string) string {
	t.Helper()
	pod := barePod(name, images...)
	pod.APIVersion, pod.Kind, pod.Namespace = "v1", "Pod", namespace
	out, err := yaml.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Scenario 1: a docker.io pod applied with kubectl is stored rewritten to the
// pull-through cache, as `kubectl get -o yaml` shows; a Deployment with the same template
// is created unmutated.
func TestRewriteOn(t *testing.T) {
	res := kubectl(t, podYAML(t, "e2e-rewrite", "web", "nginx:1.27"), "apply", "-f", "-")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "pod/web created") {
		t.Fatalf("kubectl apply: exit %d, want `pod/web created`:\n%s", res.ExitCode, res.Output)
	}
	got := kubectl(t, "", "get", "pod", "web", "-n", "e2e-rewrite", "-o", "yaml")
	if want := "image: " + ecr + "/docker-hub/library/nginx:1.27"; !strings.Contains(got.Stdout, want) {
		t.Errorf("kubectl get pod -o yaml does not show %q:\n%s", want, got.Stdout)
	}
	cs, _ := clientset(t)
	dep, err := cs.AppsV1().Deployments("e2e-rewrite").Create(ctx(t), deployment("web", "nginx:1.27"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != "nginx:1.27" {
		t.Errorf("the Deployment's template was mutated to %q; templates must stay as applied", got)
	}
}

// Scenario 2: with image-rewrite off, `kubectl apply` of the pod fails with kubectl's
// Forbidden line and the spec's message, and the Deployment is denied too.
func TestRewriteOff(t *testing.T) {
	res := kubectl(t, podYAML(t, "e2e-norewrite", "web", "nginx:1.27"), "apply", "-f", "-")
	if res.ExitCode == 0 {
		t.Fatalf("kubectl apply succeeded, want a denial:\n%s", res.Output)
	}
	want := `Error from server (Forbidden): error when creating "STDIN": admission webhook "validate.privateguard.io" denied the request: ` +
		`image "nginx:1.27" (spec.containers[0].image) is not in an allowed private registry (allowed: ` + ecr + `); mirror it into ECR or add a rewrite rule [image-registry]`
	if !strings.Contains(res.Stderr, want) {
		t.Errorf("kubectl does not show\n%s\nit shows:\n%s", want, res.Stderr)
	}
	cs, _ := clientset(t)
	_, err := cs.AppsV1().Deployments("e2e-norewrite").Create(ctx(t), deployment("web", "nginx:1.27"), metav1.CreateOptions{})
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

// Scenario 5: in audit mode the same violations are admitted, kubectl prints the warnings
// on stderr, and nothing is mutated.
func TestAuditMode(t *testing.T) {
	res := kubectl(t, podYAML(t, "legacy-billing", "web", "nginx:1.27", "ghcr.io/acme/app:1"), "apply", "-f", "-")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "pod/web created") {
		t.Fatalf("audit mode must admit: exit %d\n%s", res.ExitCode, res.Output)
	}
	warnings := strings.Join(res.Warnings(), "\n")
	for _, want := range []string{
		`image "nginx:1.27" (spec.containers[0].image)`, "[image-rewrite]",
		`image "ghcr.io/acme/app:1" (spec.containers[1].image) is not in an allowed private registry`, "[image-registry]",
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("kubectl's warnings do not say %q:\n%s", want, res.Stderr)
		}
	}
	got := kubectl(t, "", "get", "pod", "web", "-n", "legacy-billing", "-o", "jsonpath={.spec.containers[0].image}")
	if got.Stdout != "nginx:1.27" {
		t.Errorf("audit mode mutated the image to %q", got.Stdout)
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

// Scenario 10: cert-manager renews the serving certificate (as `cmctl renew` asks it to)
// while a bounded stream of pod creations runs: the Secret changes, the webhook serves the
// new certificate without a restart, and no admission fails.
func TestCertificateRenewal(t *testing.T) {
	cs, _ := clientset(t)
	crt := suite.ServingCertificate()
	before, err := suite.Webhook.ServingCertSerial(suite.CABundle)
	if err != nil {
		t.Fatal(err)
	}
	pid := suite.Webhook.Pid()
	var sent, failed atomic.Int32
	var firstErr atomic.Value
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			default:
			}
			pod, err := cs.CoreV1().Pods("e2e-rotation").Create(context.Background(), barePod("p", "nginx:1.27"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			sent.Add(1)
			if err != nil || pod.Spec.Containers[0].Image != ecr+"/docker-hub/library/nginx:1.27" {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprint(err))
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	if err := framework.RenewCertificate(ctx(t), suite.Dynamic(), crt.GetNamespace(), crt.GetName()); err != nil {
		t.Fatalf("renew %s: %v", crt.GetName(), err)
	}
	var after string
	eventually(t, "the webhook to serve the renewed certificate", func() bool {
		after, err = suite.Webhook.ServingCertSerial(suite.CABundle)
		return err == nil && after != before
	})
	time.Sleep(500 * time.Millisecond) // admissions over the new certificate
	close(stop)
	<-done
	if failed.Load() != 0 {
		t.Errorf("%d of %d admissions failed during the renewal; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if suite.Webhook.Pid() != pid {
		t.Error("the webhook was restarted")
	}
	if _, err := framework.WaitForCertificates(ctx(t), suite.Dynamic(), releaseNamespace, 30*time.Second); err != nil {
		t.Error(err)
	}
	t.Logf("serial %s → %s; %d admissions during the renewal, none failed", before, after, sent.Load())
}

// Scenario 12: the chart installed with the Helm SDK: cert-manager issued its CA and
// serving Certificates, injected the CA into both webhook configurations, and the
// configurations carry what the API server needs.
func TestChartInstalled(t *testing.T) {
	if suite.Release == nil || suite.Release.Info.Status != "deployed" {
		t.Fatalf("release %s is not deployed: %+v", release, suite.Release)
	}
	if len(suite.Certificates) != 2 {
		t.Errorf("want the CA and the serving Certificate Ready, got %v", suite.Certificates)
	}
	t.Logf("from helm install to the CA in both webhook configurations: %s", suite.IssuedIn)
	cs, _ := clientset(t)
	if _, err := cs.AppsV1().Deployments(releaseNamespace).Get(ctx(t), release, metav1.GetOptions{}); err != nil {
		t.Errorf("the chart's Deployment: %v", err)
	}
	v, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx(t), release, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's ValidatingWebhookConfiguration: %v", err)
	}
	if len(v.Webhooks) != 2 {
		t.Fatalf("validating webhooks %d, want the main entry and kube-system's", len(v.Webhooks))
	}
	for i, wh := range v.Webhooks {
		wantPolicy := admissionregistrationv1.Fail
		if i == 1 { // kube-system's own entry fails open
			wantPolicy = admissionregistrationv1.Ignore
			if sel := wh.NamespaceSelector; sel == nil || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Operator != metav1.LabelSelectorOpIn ||
				strings.Join(sel.MatchExpressions[0].Values, ",") != "kube-system" {
				t.Errorf("validating webhook %s: namespaceSelector %v, want kube-system alone", wh.Name, sel)
			}
		} else if !excludes(wh.NamespaceSelector, releaseNamespace, "kube-system", "kube-node-lease") {
			t.Errorf("validating webhook %s: namespaceSelector %v must exclude the release namespace, kube-system (it has its own entry) and kube-node-lease", wh.Name, wh.NamespaceSelector)
		}
		if wh.FailurePolicy == nil || *wh.FailurePolicy != wantPolicy {
			t.Errorf("validating webhook %s: failurePolicy %v, want %s", wh.Name, wh.FailurePolicy, wantPolicy)
		}
		if string(wh.ClientConfig.CABundle) != string(suite.CABundle) {
			t.Errorf("validating webhook %s: caBundle is not the CA cert-manager issued", wh.Name)
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
		if string(wh.ClientConfig.CABundle) != string(suite.CABundle) {
			t.Errorf("mutating webhook %s: caBundle is not the CA cert-manager issued", wh.Name)
		}
	}
	// The webhook serves what cert-manager wrote into the Secret, verified by that CA.
	var served, want string
	eventually(t, "the webhook to serve the certificate in the Secret", func() bool {
		secret, err := cs.CoreV1().Secrets(releaseNamespace).Get(ctx(t), suite.ServingSecretName(), metav1.GetOptions{})
		if err != nil {
			return false
		}
		want = serialOf(t, secret.Data["tls.crt"])
		served, err = suite.Webhook.ServingCertSerial(suite.CABundle)
		return err == nil && served == want
	})
}

func serialOf(t *testing.T, certPEM []byte) string {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("tls.crt is not PEM")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.String()
}

// Scenario 12b: a Certificate that can never be issued (its Issuer does not exist) makes
// the wait fail within its bound, naming the Certificate and its Ready condition.
func TestCertificateNeverReady(t *testing.T) {
	orphan := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": "orphan", "namespace": "e2e-badcert"},
		"spec": map[string]any{
			"secretName": "orphan-tls", "dnsNames": []any{"orphan.e2e-badcert.svc"},
			"issuerRef": map[string]any{"name": "no-such-issuer", "kind": "Issuer", "group": "cert-manager.io"},
		},
	}}
	if _, err := suite.Dynamic().Resource(framework.CertificateGVR).Namespace("e2e-badcert").Create(ctx(t), orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// cert-manager sets Ready=False within about a second; the bound leaves room on a
	// busy machine.
	_, err := framework.WaitForCertificates(ctx(t), suite.Dynamic(), "e2e-badcert", 8*time.Second)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the wait took %s, want about its 8s bound", took)
	}
	if err == nil {
		t.Fatal("a Certificate whose Issuer does not exist was reported Ready")
	}
	for _, want := range []string{"Certificate e2e-badcert/orphan", "Issuer/no-such-issuer", "Ready=false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	t.Log(err)
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

// Scenario 14 (after TestWebhookDown, last: it uninstalls the release): `helm upgrade`
// with a changed policy is picked up by the running webhook, as kubectl shows; `helm
// uninstall` then leaves nothing of the release behind, and the API server no longer
// calls the webhook.
func TestReleaseUpgradeAndUninstall(t *testing.T) {
	pod := podYAML(t, "e2e-upgrade", "app", "ghcr.io/acme/app:1")
	res := kubectl(t, pod, "apply", "--dry-run=server", "-f", "-")
	if !strings.Contains(res.Stderr, "Error from server (Forbidden)") || !strings.Contains(res.Stderr, "[image-registry]") {
		t.Fatalf("before the upgrade the pod must be denied:\n%s", res.Output)
	}

	// The upgrade puts e2e-upgrade in audit mode.
	var policy map[string]any
	if err := yaml.Unmarshal(suite.PolicyYAML, &policy); err != nil {
		t.Fatal(err)
	}
	overrides, _ := policy["overrides"].([]any)
	policy["overrides"] = append([]any{map[string]any{"namespaces": []any{"e2e-upgrade"}, "mode": "audit"}}, overrides...)
	upgraded, err := yaml.Marshal(policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := suite.Upgrade(ctx(t), upgraded); err != nil {
		t.Fatal(err)
	}
	if suite.Release.Version != 2 {
		t.Errorf("release version %d after the upgrade, want 2", suite.Release.Version)
	}
	eventually(t, "the upgraded policy to be picked up", func() bool {
		res = kubectl(t, pod, "apply", "--dry-run=server", "-f", "-")
		return res.ExitCode == 0
	})
	if w := strings.Join(res.Warnings(), "\n"); !strings.Contains(w, "[image-registry]") {
		t.Errorf("after the upgrade kubectl must warn instead of deny:\n%s", res.Output)
	}
	// The upgrade re-applied the webhook configurations; the injected CA survives it.
	if err := framework.WaitForCABundle(ctx(t), suite.Clientset(), suite.WebhookConfigurations, suite.CABundle, 10*time.Second); err != nil {
		t.Error(err)
	}

	objects := suite.Objects
	certs, err := suite.Dynamic().Resource(framework.CertificateGVR).Namespace(releaseNamespace).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := suite.Uninstall(); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(suite.ControlPlane.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objects {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(obj.GroupVersionKind())
		err := c.Get(ctx(t), client.ObjectKeyFromObject(obj), got)
		// The API server deletes a CRD once it has deleted its objects (the Reports the
		// background audit wrote): give it a moment.
		for deadline := time.Now().Add(30 * time.Second); err == nil && obj.GetKind() == "CustomResourceDefinition" &&
			got.GetDeletionTimestamp() != nil && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			err = c.Get(ctx(t), client.ObjectKeyFromObject(obj), got)
		}
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s %s/%s remains after uninstall (err %v)", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	// What cert-manager made for the release's Certificates (their requests and Secrets)
	// is owned by them: the garbage collector deletes it with them. There is no collector
	// in this control plane, so it must be owned by a deleted Certificate, and nothing
	// else may remain.
	deleted := map[types.UID]string{}
	for _, crt := range certs.Items {
		deleted[crt.GetUID()] = crt.GetName()
	}
	collectable := func(kind string, o metav1.Object) {
		for _, ref := range o.GetOwnerReferences() {
			if ref.Kind == "Certificate" && deleted[ref.UID] != "" {
				t.Logf("%s %s/%s is left to the garbage collector: owned by the deleted Certificate %s", kind, o.GetNamespace(), o.GetName(), deleted[ref.UID])
				return
			}
		}
		t.Errorf("%s %s/%s remains after uninstall, owned by no deleted Certificate (owners %v)", kind, o.GetNamespace(), o.GetName(), o.GetOwnerReferences())
	}
	for _, gvr := range []schema.GroupVersionResource{framework.CertificateGVR, framework.IssuerGVR, framework.CertificateRequestGVR} {
		list, err := suite.Dynamic().Resource(gvr).Namespace(releaseNamespace).List(ctx(t), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			collectable(o.GetKind(), &o)
		}
	}
	cs, _ := clientset(t)
	secrets, err := cs.CoreV1().Secrets(releaseNamespace).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		collectable("Secret", &s)
	}
	// Nothing calls the webhook any more: what it denied is admitted.
	res = kubectl(t, podYAML(t, "e2e-upgrade", "after", "ghcr.io/acme/app:1"), "apply", "--dry-run=server", "-f", "-")
	if res.ExitCode != 0 || len(res.Warnings()) != 0 {
		t.Errorf("after uninstall the API server must not call the webhook:\n%s", res.Output)
	}
}
