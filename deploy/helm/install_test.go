package helm_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDefaultInstallRendersExactlyTheseObjects pins the object list of
// `helm install privateguard deploy/helm/privateguard -n privateguard --set policy.region=...`.
func TestDefaultInstallRendersExactlyTheseObjects(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	want := []string{
		"Certificate/privateguard-ca",
		"Certificate/privateguard-serving",
		"ClusterRole/privateguard",
		"ClusterRole/privateguard-background-audit",
		"ClusterRoleBinding/privateguard",
		"ClusterRoleBinding/privateguard-background-audit",
		"ConfigMap/privateguard-policy",
		"CustomResourceDefinition/reports.openreports.io",
		"Deployment/privateguard",
		"Issuer/privateguard-ca",
		"Issuer/privateguard-selfsigned",
		"MutatingWebhookConfiguration/privateguard",
		"PodDisruptionBudget/privateguard",
		"Role/privateguard-background-audit",
		"RoleBinding/privateguard-background-audit",
		"Service/privateguard",
		"ServiceAccount/privateguard",
		"ValidatingWebhookConfiguration/privateguard",
	}
	if diff := cmp.Diff(want, r.keys()); diff != "" {
		t.Errorf("rendered objects (-want +got):\n%s", diff)
	}
}

// TestUninstallLeavesNoWebhookConfigurationBehind: every object is a plain release
// resource, so `helm uninstall` deletes it; nothing is a hook (hooks are not deleted with
// the release) and nothing is kept by resource policy.
func TestUninstallLeavesNoWebhookConfigurationBehind(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	if len(r.hooks) != 0 {
		t.Errorf("chart renders hooks %v; hook resources outlive `helm uninstall`", r.hooks)
	}
	for _, key := range r.keys() {
		kind, name, _ := strings.Cut(key, "/")
		obj := r.metadata(t, kind, name)
		for annotation := range obj.Annotations {
			if strings.HasPrefix(annotation, "helm.sh/hook") || annotation == "helm.sh/resource-policy" {
				t.Errorf("%s carries %s: it would not be removed with the release", key, annotation)
			}
		}
	}
	m, v := webhookConfigurations(t, r)
	for _, meta := range []metav1.ObjectMeta{m.ObjectMeta, v.ObjectMeta} {
		if meta.Labels["app.kubernetes.io/managed-by"] != "Helm" || meta.Labels["app.kubernetes.io/instance"] != "privateguard" {
			t.Errorf("webhook configuration %s is not labelled as part of the release: %v", meta.Name, meta.Labels)
		}
	}
}
