package helm_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

// TestRBACOnlyReadsServiceAccounts checks admission's RBAC; the background audit's,
// apart, is in backgroundaudit_test.go.
func TestRBACOnlyReadsServiceAccounts(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion("backgroundAudit:\n  enabled: false\n"))
	var role rbacv1.ClusterRole
	r.decode(t, "ClusterRole", "privateguard", &role)
	read := []string{"get", "list", "watch"}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: read},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingressclasses"}, Verbs: read},
		{APIGroups: []string{"elbv2.k8s.aws"}, Resources: []string{"ingressclassparams"}, Verbs: read},
	}
	if diff := cmp.Diff(want, role.Rules); diff != "" {
		t.Errorf("ClusterRole rules (-want +got):\n%s", diff)
	}
	if len(r.ofKind("Role")) != 0 || len(r.ofKind("RoleBinding")) != 0 {
		t.Errorf("chart renders extra namespaced RBAC: %v %v", r.ofKind("Role"), r.ofKind("RoleBinding"))
	}

	var binding rbacv1.ClusterRoleBinding
	r.decode(t, "ClusterRoleBinding", "privateguard", &binding)
	if binding.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "privateguard"}) {
		t.Errorf("roleRef = %+v, want ClusterRole privateguard", binding.RoleRef)
	}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "privateguard", Namespace: "privateguard"}}
	if diff := cmp.Diff(wantSubjects, binding.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}
