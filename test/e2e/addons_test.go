//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/privateguard/privateguard/test/framework"
)

// Scenario 15: the add-ons the AWS guide names run in kube-system, which the chart covers
// through its own webhook entries: a Cluster Autoscaler and an AWS Load Balancer
// Controller, as their charts render them, are stored with the missing flags appended,
// as `kubectl get -o yaml` shows; their Deployments are admitted as applied; a Cluster
// Autoscaler started through sh -c without the flag is refused with kubectl's own error.
func TestAddonsInKubeSystem(t *testing.T) {
	const manifests = `apiVersion: apps/v1
kind: Deployment
metadata: {name: cluster-autoscaler, namespace: kube-system}
spec:
  selector: {matchLabels: {app: cluster-autoscaler}}
  template:
    metadata: {labels: {app: cluster-autoscaler}}
    spec:
      containers:
      - name: aws-cluster-autoscaler
        image: ` + ecr + `/kubernetes/autoscaling/cluster-autoscaler:v1.32.1
        command: [./cluster-autoscaler, --cloud-provider=aws, --namespace=kube-system, "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod"]
---
apiVersion: v1
kind: Pod
metadata: {name: cluster-autoscaler-7c9f6d5b8-x2k8d, namespace: kube-system, labels: {app: cluster-autoscaler}}
spec:
  containers:
  - name: aws-cluster-autoscaler
    image: ` + ecr + `/kubernetes/autoscaling/cluster-autoscaler:v1.32.1
    command: [./cluster-autoscaler, --cloud-provider=aws, --namespace=kube-system, "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod"]
---
apiVersion: v1
kind: Pod
metadata: {name: aws-load-balancer-controller-5d8c7b9f4-q7w2e, namespace: kube-system}
spec:
  containers:
  - name: aws-load-balancer-controller
    image: ` + ecr + `/eks/aws-load-balancer-controller:v2.11.0
    args: [--cluster-name=prod, --ingress-class=alb, --enable-waf=false]
`
	res := kubectl(t, manifests, "apply", "-f", "-")
	if res.ExitCode != 0 {
		t.Fatalf("kubectl apply of the add-ons in kube-system: exit %d:\n%s", res.ExitCode, res.Output)
	}
	ca := kubectl(t, "", "get", "pod", "cluster-autoscaler-7c9f6d5b8-x2k8d", "-n", "kube-system", "-o", "yaml")
	if !strings.Contains(ca.Stdout, "--aws-use-static-instance-list=true") {
		t.Errorf("the Cluster Autoscaler pod in kube-system was not given --aws-use-static-instance-list=true:\n%s", ca.Stdout)
	}
	lbc := kubectl(t, "", "get", "pod", "aws-load-balancer-controller-5d8c7b9f4-q7w2e", "-n", "kube-system", "-o", "jsonpath={.spec.containers[0].args}")
	for _, flag := range []string{"--enable-shield=false", "--enable-wafv2=false"} {
		if !strings.Contains(lbc.Stdout, flag) {
			t.Errorf("the Load Balancer Controller pod was not given %s: args %s", flag, lbc.Stdout)
		}
	}
	dep := kubectl(t, "", "get", "deployment", "cluster-autoscaler", "-n", "kube-system", "-o", "yaml")
	if strings.Contains(dep.Stdout, "aws-use-static-instance-list") {
		t.Errorf("the Deployment's template was changed; templates stay as applied:\n%s", dep.Stdout)
	}

	shell := `apiVersion: v1
kind: Pod
metadata: {name: cluster-autoscaler-shell, namespace: kube-system}
spec:
  containers:
  - name: aws-cluster-autoscaler
    image: ` + ecr + `/kubernetes/autoscaling/cluster-autoscaler:v1.32.1
    command: [/bin/sh, -c, "exec ./cluster-autoscaler --cloud-provider=aws --v=4"]
`
	res = kubectl(t, shell, "apply", "-f", "-")
	errs := strings.Join(res.Errors(), "\n")
	if res.ExitCode == 0 || !strings.Contains(errs, "Error from server (Forbidden)") || !strings.Contains(errs, "from a shell script") ||
		!strings.Contains(errs, "[cluster-autoscaler-static-instance-list]") {
		t.Errorf("a Cluster Autoscaler behind sh -c without the flag: exit %d, want kubectl's Forbidden naming the shell script:\n%s", res.ExitCode, res.Output)
	}
}

// Scenario 16: 500 pods with 500 distinct IRSA service accounts, each created just before
// its pod, all at once: every pod carries AWS_STS_REGIONAL_ENDPOINTS=regional, whether
// its lookup found the service account, merged with another or ran out of time.
func TestIRSABurstOfNewServiceAccounts(t *testing.T) {
	const n, parallel = 500, 50
	cs, _ := clientset(t)
	var (
		mu       sync.Mutex
		failures []string
		missing  int
	)
	start := time.Now()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("app-%03d", i)
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
				"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/" + name,
			}}}
			if _, err := cs.CoreV1().ServiceAccounts("e2e-irsa-burst").Create(ctx(t), sa, metav1.CreateOptions{}); err != nil {
				mu.Lock()
				failures = append(failures, "service account "+name+": "+err.Error())
				mu.Unlock()
				return
			}
			pod := barePod(name, ecr+"/app:1")
			pod.Spec.ServiceAccountName = name
			got, err := cs.CoreV1().Pods("e2e-irsa-burst").Create(ctx(t), pod, metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failures = append(failures, "pod "+name+": "+err.Error())
			case envValue(got.Spec.Containers[0], "AWS_STS_REGIONAL_ENDPOINTS") != "regional":
				missing++
			}
		}()
	}
	wg.Wait()
	t.Logf("%d IRSA pods with new service accounts in %s: %d failed, %d without AWS_STS_REGIONAL_ENDPOINTS",
		n, time.Since(start).Round(time.Millisecond), len(failures), missing)
	if len(failures) > 0 {
		t.Errorf("%d creations failed, the first: %s", len(failures), failures[0])
	}
	if missing > 0 {
		t.Errorf("%d of %d IRSA pods were admitted without AWS_STS_REGIONAL_ENDPOINTS=regional", missing, n)
	}
}

// Scenario 17: an exception lets a Deployment in; a reload that moves its expiry date
// into the past denies it again, with the rule's own message.
func TestExceptionAndItsExpiry(t *testing.T) {
	cs, _ := clientset(t)
	dep := deployment("report-renderer", "vendor.example.com/reports/renderer:4.2")
	create := func() error {
		_, err := cs.AppsV1().Deployments("e2e-exceptions").Create(ctx(t), dep, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	wantDenied(t, create(), "[image-registry]")
	t.Cleanup(func() {
		framework.WritePolicy(suite.Webhook.ConfigPath, suite.PolicyYAML)
		eventually(t, "the policy without exceptions to come back", func() bool { return create() != nil })
	})
	withException := func(expires string) []byte {
		return []byte(string(suite.PolicyYAML) + `
exceptions:
  - name: vendor-reports
    namespaces: [e2e-exceptions]
    kinds: [Deployment]
    names: ["report-*"]
    rules: [image-registry]
    reason: "vendor image, mirrored under INC-1234"
    expires: "` + expires + `"
`)
	}
	future := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	if err := framework.WritePolicy(suite.Webhook.ConfigPath, withException(future)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the exception to let the Deployment in", func() bool { return create() == nil })
	m, err := suite.Webhook.Metrics(ctx(t))
	if err != nil || !strings.Contains(m, `privateguard_exempted_total{exception="vendor-reports",rule="image-registry"}`) {
		t.Errorf("the exemption is not counted in privateguard_exempted_total (err %v)", err)
	}

	past := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	if err := framework.WritePolicy(suite.Webhook.ConfigPath, withException(past)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the expired exception to deny again", func() bool { return create() != nil })
	wantDenied(t, create(), "is not in an allowed private registry", "[image-registry]")
}

// Scenario 18: an IngressClass of another name whose controller is the AWS Load Balancer
// Controller's makes its Ingresses ALB Ingresses: an HTTPS listener without a certificate
// is refused; the same Ingress naming a class of another controller is admitted.
func TestALBByController(t *testing.T) {
	classes := `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: alb-internal}
spec: {controller: ingress.k8s.aws/alb}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx-internal}
spec: {controller: k8s.io/ingress-nginx}
`
	if res := kubectl(t, classes, "apply", "-f", "-"); res.ExitCode != 0 {
		t.Fatalf("kubectl apply of the IngressClasses: %s", res.Output)
	}
	ingress := func(name, class string) string {
		return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ` + name + `
  namespace: e2e-alb
  annotations:
    alb.ingress.kubernetes.io/listen-ports: '[{"HTTP": 80}, {"HTTPS": 443}]'
spec:
  ingressClassName: ` + class + `
  defaultBackend: {service: {name: shop, port: {number: 80}}}
`
	}
	// The webhook's informer may not have seen the new classes yet: until it does, the
	// lookup reads them directly.
	res := kubectl(t, ingress("shop", "alb-internal"), "apply", "-f", "-")
	if errs := strings.Join(res.Errors(), "\n"); res.ExitCode == 0 || !strings.Contains(errs, "[alb-certificate-discovery]") {
		t.Errorf("an Ingress of class alb-internal (controller ingress.k8s.aws/alb) opening HTTPS without a certificate: exit %d, want it refused:\n%s", res.ExitCode, res.Output)
	}
	if res := kubectl(t, ingress("other", "nginx-internal"), "apply", "-f", "-"); res.ExitCode != 0 {
		t.Errorf("an Ingress of another controller's class was refused:\n%s", res.Output)
	}
}
