package helm_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/privateguard/privateguard/pkg/backgroundaudit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// backgroundAuditObjects are the objects the chart renders for the background audit.
var backgroundAuditObjects = []string{
	"ClusterRole/privateguard-background-audit",
	"ClusterRoleBinding/privateguard-background-audit",
	"Role/privateguard-background-audit",
	"RoleBinding/privateguard-background-audit",
	"CustomResourceDefinition/reports.openreports.io",
}

func TestBackgroundAuditIsOnByDefaultEveryHour(t *testing.T) {
	args := deployment(t, mustRender(t, defaultRelease, withRegion(""))).Spec.Template.Spec.Containers[0].Args
	if v, _ := flagValue(args, "background-audit-interval"); v != "1h" {
		t.Errorf("--background-audit-interval=%q, want 1h", v)
	}
	if v, _ := flagValue(args, "background-audit-namespace"); v != "privateguard" {
		t.Errorf("--background-audit-namespace=%q, want the release namespace, where its Role lets it hold the Lease", v)
	}
	args = deployment(t, mustRender(t, defaultRelease, withRegion("backgroundAudit: {interval: 30m}\n"))).Spec.Template.Spec.Containers[0].Args
	if v, _ := flagValue(args, "background-audit-interval"); v != "30m" {
		t.Errorf("with interval 30m: --background-audit-interval=%q", v)
	}
}

func TestBackgroundAuditOffRendersNothingOfIt(t *testing.T) {
	for name, snippet := range map[string]string{
		"backgroundAudit.enabled=false": "backgroundAudit: {enabled: false}\n",
		// No Kubernetes connection at all: the audit cannot run.
		"server.serviceAccounts=false": "server: {serviceAccounts: false}\n",
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, defaultRelease, withRegion(snippet))
			for _, key := range backgroundAuditObjects {
				if kind, name, _ := strings.Cut(key, "/"); r.has(kind, name) {
					t.Errorf("renders %s", key)
				}
			}
			args := deployment(t, r).Spec.Template.Spec.Containers[0].Args
			for _, flag := range []string{"background-audit-interval", "background-audit-namespace"} {
				if _, ok := flagValue(args, flag); ok {
					t.Errorf("passes --%s", flag)
				}
			}
		})
	}
}

// TestBackgroundAuditRBACIsExactlyWhatItUses: list of every kind of the engine's table
// (pkg/policy.Kinds, which the audit ranges over), get, list, create and update of
// Reports, and its own Lease in the release namespace.
func TestBackgroundAuditRBACIsExactlyWhatItUses(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	var role rbacv1.ClusterRole
	r.decode(t, "ClusterRole", "privateguard-background-audit", &role)

	byGroup := map[string][]string{}
	var groups []string
	for _, k := range policy.Kinds {
		if _, seen := byGroup[k.GVK.Group]; !seen {
			groups = append(groups, k.GVK.Group)
		}
		byGroup[k.GVK.Group] = append(byGroup[k.GVK.Group], k.Resource)
	}
	var want []rbacv1.PolicyRule
	for _, g := range groups {
		resources := slices.Sorted(slices.Values(byGroup[g]))
		want = append(want, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: resources, Verbs: []string{"list"}})
	}
	want = append(want, rbacv1.PolicyRule{APIGroups: []string{"openreports.io"}, Resources: []string{"reports"}, Verbs: []string{"get", "list", "create", "update"}})
	byAPIGroup := func(a, b rbacv1.PolicyRule) int { return strings.Compare(a.APIGroups[0], b.APIGroups[0]) }
	slices.SortFunc(want, byAPIGroup)
	got := slices.Clone(role.Rules)
	slices.SortFunc(got, byAPIGroup)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ClusterRole privateguard-background-audit rules (-want +got):\n%s", diff)
	}

	var lease rbacv1.Role
	r.decode(t, "Role", "privateguard-background-audit", &lease)
	wantLease := []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{backgroundaudit.DefaultLeaseName}, Verbs: []string{"get", "update"}},
	}
	if diff := cmp.Diff(wantLease, lease.Rules); diff != "" {
		t.Errorf("Role privateguard-background-audit rules (-want +got):\n%s", diff)
	}
	if lease.Namespace != "privateguard" {
		t.Errorf("the Lease's Role is in %q, want the release namespace", lease.Namespace)
	}

	var cb rbacv1.ClusterRoleBinding
	var rb rbacv1.RoleBinding
	r.decode(t, "ClusterRoleBinding", "privateguard-background-audit", &cb)
	r.decode(t, "RoleBinding", "privateguard-background-audit", &rb)
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "privateguard", Namespace: "privateguard"}}
	for name, got := range map[string][]rbacv1.Subject{"ClusterRoleBinding": cb.Subjects, "RoleBinding": rb.Subjects} {
		if diff := cmp.Diff(wantSubjects, got); diff != "" {
			t.Errorf("%s subjects (-want +got):\n%s", name, diff)
		}
	}
	if cb.RoleRef.Name != role.Name || rb.RoleRef.Name != lease.Name || rb.RoleRef.Kind != "Role" {
		t.Errorf("bindings refer to %+v and %+v", cb.RoleRef, rb.RoleRef)
	}
}

// TestReportCRDIsTheOneOfTheGoModule: the chart's CRD is the reports-api module's
// config/crd file, byte for byte, so the Go types the audit writes and the schema the
// API server checks them against are of one version.
func TestReportCRDIsTheOneOfTheGoModule(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/openreports/reports-api").Output()
	if err != nil {
		t.Fatalf("go list the reports-api module: %v", err)
	}
	upstream, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "openreports.io_reports.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := os.ReadFile(filepath.Join(chartDir, "files", "openreports.io_reports.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(upstream) != string(embedded) {
		t.Error("files/openreports.io_reports.yaml differs from the module's config/crd/openreports.io_reports.yaml: copy it again")
	}

	r := mustRender(t, defaultRelease, withRegion(""))
	var crd apiextensionsv1.CustomResourceDefinition
	r.decode(t, "CustomResourceDefinition", "reports.openreports.io", &crd)
	var want apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(upstream, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Spec, crd.Spec); diff != "" {
		t.Errorf("rendered CRD spec (-module +chart):\n%s", diff)
	}
	served := false
	for _, v := range crd.Spec.Versions {
		served = served || (v.Name == "v1alpha1" && v.Served)
	}
	if !served {
		t.Error("the CRD does not serve openreports.io/v1alpha1, which the audit writes")
	}

	t.Run("reports.installCRDs=false leaves it to another tool", func(t *testing.T) {
		r := mustRender(t, defaultRelease, withRegion("reports: {installCRDs: false}\n"))
		if r.has("CustomResourceDefinition", "reports.openreports.io") {
			t.Error("the CRD is rendered")
		}
		if !r.has("ClusterRole", "privateguard-background-audit") {
			t.Error("the audit's RBAC is gone with the CRD")
		}
	})
}

func TestSchemaRejectsIntervalsThePrometheusRuleCannotRead(t *testing.T) {
	for _, interval := range []string{"1h30m", "0h", "60", "1d"} {
		_, err := renderChart(defaultRelease, values(t, withRegion("backgroundAudit: {interval: \""+interval+"\"}\n")))
		if err == nil || !strings.Contains(err.Error(), "/backgroundAudit/interval") {
			t.Errorf("interval %q: %v, want a schema error", interval, err)
		}
	}
}
