package helm_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestValueVariations renders representative installs and asserts what each value changes.
func TestValueVariations(t *testing.T) {
	tests := []struct {
		name    string
		release release
		values  string
		check   func(t *testing.T, r *renderedChart)
	}{
		{
			name:    "without cert-manager the user's TLS secret and CA bundle are used",
			release: defaultRelease,
			values:  withRegion(userTLSValues),
			check: func(t *testing.T, r *renderedChart) {
				if got := append(r.ofKind("Certificate"), r.ofKind("Issuer")...); len(got) != 0 {
					t.Errorf("cert-manager objects rendered without cert-manager: %v", got)
				}
				m, v := webhookConfigurations(t, r)
				for _, meta := range []metav1.ObjectMeta{m.ObjectMeta, v.ObjectMeta} {
					if _, ok := meta.Annotations["cert-manager.io/inject-ca-from"]; ok {
						t.Errorf("%s still asks cert-manager to inject a CA", meta.Name)
					}
				}
				want, _ := base64.StdEncoding.DecodeString(testCABundle)
				mutating, validating := commonWebhooks(t, r)
				for _, w := range []webhook{mutating, validating} {
					if string(w.ClientConfig.CABundle) != string(want) {
						t.Errorf("%s caBundle = %q, want the user's CA", w.Name, w.ClientConfig.CABundle)
					}
				}
				tls := volume(t, deployment(t, r).Spec.Template.Spec, "tls")
				if tls.Secret == nil || tls.Secret.SecretName != "privateguard-user-tls" {
					t.Errorf("tls volume = %+v, want the user's secret", tls.VolumeSource)
				}
			},
		},
		{
			name:    "audit mode reaches the policy file and the NOTES",
			release: defaultRelease,
			values:  withRegion("  mode: audit\n"),
			check: func(t *testing.T, r *renderedChart) {
				p := renderedPolicyOf(t, r, "privateguard-policy")
				if p.Mode != "audit" {
					t.Errorf("policy mode = %q, want audit", p.Mode)
				}
				if !strings.Contains(r.notes, "Warning:") || strings.Contains(r.notes, "denied the request") {
					t.Errorf("NOTES do not describe the audit-mode answer:\n%s", r.notes)
				}
			},
		},
		{
			name:    "mode off stays the string off in policy.yaml, not YAML's false",
			release: defaultRelease,
			values:  withRegion(`  mode: "off"` + "\n"),
			check: func(t *testing.T, r *renderedChart) {
				if p := renderedPolicyOf(t, r, "privateguard-policy"); p.Mode != "off" {
					t.Errorf("policy mode = %q, want off", p.Mode)
				}
				if !strings.Contains(r.notes, "default mode is off") {
					t.Errorf("NOTES do not say that nothing is enforced:\n%s", r.notes)
				}
			},
		},
		{
			name:    "extra excluded namespaces are added to the fixed ones",
			release: defaultRelease,
			values: withRegion(`
webhook:
  excludeNamespaces: [cert-manager, monitoring, kube-system]
`),
			check: func(t *testing.T, r *renderedChart) {
				want := []string{"kube-system", "kube-node-lease", "privateguard", "cert-manager", "monitoring"}
				mutating, validating := commonWebhooks(t, r)
				for _, w := range []webhook{mutating, validating} {
					if diff := cmp.Diff(want, excludedNamespaces(t, w)); diff != "" {
						t.Errorf("%s excluded namespaces (-want +got):\n%s", w.Name, diff)
					}
				}
			},
		},
		{
			name:    "failure policies and the timeout can be overridden",
			release: defaultRelease,
			values: withRegion(`
webhook:
  failurePolicy:
    validating: Ignore
    mutating: Fail
  timeoutSeconds: 5
`),
			check: func(t *testing.T, r *renderedChart) {
				mutating, validating := commonWebhooks(t, r)
				if p := validating.FailurePolicy; p == nil || *p != admissionregistrationv1.Ignore {
					t.Errorf("validating failurePolicy = %v, want Ignore", p)
				}
				if p := mutating.FailurePolicy; p == nil || *p != admissionregistrationv1.Fail {
					t.Errorf("mutating failurePolicy = %v, want Fail", p)
				}
				for _, w := range []webhook{mutating, validating} {
					if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 5 {
						t.Errorf("%s timeoutSeconds = %v, want 5", w.Name, w.TimeoutSeconds)
					}
				}
			},
		},
		{
			name:    "another release name and namespace flow into every reference",
			release: release{name: "guard", namespace: "security"},
			values:  withRegion(""),
			check: func(t *testing.T, r *renderedChart) {
				m, v := webhookConfigurations(t, r)
				if m.Name != "guard-privateguard" || v.Name != "guard-privateguard" {
					t.Errorf("webhook configurations %q and %q, want guard-privateguard", m.Name, v.Name)
				}
				if got := m.Annotations["cert-manager.io/inject-ca-from"]; got != "security/guard-privateguard-serving" || !r.has("Certificate", "guard-privateguard-serving") {
					t.Errorf("inject-ca-from = %q", got)
				}
				var serving certificate
				r.decode(t, "Certificate", "guard-privateguard-serving", &serving)
				if !slices.Contains(serving.Spec.DNSNames, "guard-privateguard.security.svc") {
					t.Errorf("serving dnsNames %v lack guard-privateguard.security.svc", serving.Spec.DNSNames)
				}
				mutating, _ := commonWebhooks(t, r)
				if s := mutating.ClientConfig.Service; s.Name != "guard-privateguard" || s.Namespace != "security" {
					t.Errorf("clientConfig.service = %+v", s)
				}
				if got := excludedNamespaces(t, mutating); !slices.Contains(got, "security") {
					t.Errorf("release namespace not excluded: %v", got)
				}
				var binding rbacv1.ClusterRoleBinding
				r.decode(t, "ClusterRoleBinding", "guard-privateguard", &binding)
				if binding.Subjects[0].Namespace != "security" {
					t.Errorf("binding subject %+v, want namespace security", binding.Subjects[0])
				}
				if !strings.Contains(r.notes, "kubectl delete validatingwebhookconfiguration guard-privateguard") {
					t.Errorf("NOTES name the wrong webhook configuration:\n%s", r.notes)
				}
			},
		},
		{
			name:    "service-account lookups off: no RBAC and no token",
			release: defaultRelease,
			values: withRegion(`
server:
  serviceAccounts: false
`),
			check: func(t *testing.T, r *renderedChart) {
				if r.has("ClusterRole", "privateguard") || r.has("ClusterRoleBinding", "privateguard") {
					t.Errorf("RBAC rendered although the server makes no Kubernetes connection")
				}
				pod := deployment(t, r).Spec.Template.Spec
				if v, _ := flagValue(pod.Containers[0].Args, "service-accounts"); v != "false" {
					t.Errorf("--service-accounts=%s, want false", v)
				}
				if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
					t.Errorf("service account token still mounted")
				}
			},
		},
		{
			name:    "ServiceMonitor scrapes the metrics port",
			release: defaultRelease,
			values: withRegion(`
metrics:
  serviceMonitor:
    enabled: true
    labels:
      release: prometheus
`),
			check: func(t *testing.T, r *renderedChart) {
				var sm serviceMonitor
				r.decode(t, "ServiceMonitor", "privateguard", &sm)
				if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Labels["release"] != "prometheus" {
					t.Errorf("ServiceMonitor %s labels %v", sm.APIVersion, sm.Metadata.Labels)
				}
				var svc corev1.Service
				r.decode(t, "Service", "privateguard", &svc)
				if len(sm.Spec.Selector.MatchLabels) == 0 {
					t.Errorf("ServiceMonitor selects every Service")
				}
				for k, v := range sm.Spec.Selector.MatchLabels {
					if svc.Labels[k] != v {
						t.Errorf("ServiceMonitor selects %s=%s, the Service is labelled %v", k, v, svc.Labels)
					}
				}
				if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
					t.Errorf("endpoints = %+v, want port metrics path /metrics", sm.Spec.Endpoints)
				}
				if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{"privateguard"}) {
					t.Errorf("namespaceSelector = %v", sm.Spec.NamespaceSelector.MatchNames)
				}
			},
		},
		{
			name:    "priority class, image digest, replicas and minAvailable",
			release: defaultRelease,
			values: withRegion(`
priorityClassName: system-cluster-critical
replicaCount: 5
image:
  repository: 111122223333.dkr.ecr.us-west-2.amazonaws.com/privateguard
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
podDisruptionBudget:
  minAvailable: 3
`),
			check: func(t *testing.T, r *renderedChart) {
				d := deployment(t, r)
				if d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" {
					t.Errorf("priorityClassName = %q", d.Spec.Template.Spec.PriorityClassName)
				}
				if *d.Spec.Replicas != 5 {
					t.Errorf("replicas = %d, want 5", *d.Spec.Replicas)
				}
				want := "111122223333.dkr.ecr.us-west-2.amazonaws.com/privateguard@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
				if got := d.Spec.Template.Spec.Containers[0].Image; got != want {
					t.Errorf("image = %q, want %q", got, want)
				}
				var pdb policyv1.PodDisruptionBudget
				r.decode(t, "PodDisruptionBudget", "privateguard", &pdb)
				if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 3 || pdb.Spec.MaxUnavailable != nil {
					t.Errorf("PodDisruptionBudget = %+v, want only minAvailable 3", pdb.Spec)
				}
			},
		},
		{
			name:    "the PodDisruptionBudget and topology spread can be turned off",
			release: defaultRelease,
			values: withRegion(`
podDisruptionBudget:
  enabled: false
topologySpread:
  zone:
    enabled: false
  host:
    enabled: false
`),
			check: func(t *testing.T, r *renderedChart) {
				if len(r.ofKind("PodDisruptionBudget")) != 0 {
					t.Errorf("PodDisruptionBudget rendered although disabled")
				}
				if tsc := deployment(t, r).Spec.Template.Spec.TopologySpreadConstraints; len(tsc) != 0 {
					t.Errorf("topology spread %+v rendered although disabled", tsc)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustRender(t, tt.release, tt.values))
		})
	}
}

// serviceMonitor mirrors the fields of monitoring.coreos.com/v1 ServiceMonitor that the chart sets.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Scheme        string `json:"scheme"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}
