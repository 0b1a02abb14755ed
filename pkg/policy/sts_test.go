package policy

import (
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestServiceAccountName(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.PodSpec
		want string
	}{
		{"serviceAccountName is the name", corev1.PodSpec{ServiceAccountName: "api", DeprecatedServiceAccount: "old"}, "api"},
		{"the deprecated serviceAccount counts when serviceAccountName is empty, as the API server copies it", corev1.PodSpec{DeprecatedServiceAccount: "old"}, "old"},
		{"a pod that names none runs as default", corev1.PodSpec{}, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ServiceAccountName(&tt.spec); got != tt.want {
				t.Errorf("ServiceAccountName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServiceAccountFacts(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		irsa, opt   bool
	}{
		{"a role ARN makes it IRSA", map[string]string{IRSARoleAnnotation: "arn:aws:iam::111122223333:role/api"}, true, false},
		{"an empty role ARN does not, as for the Pod Identity Webhook", map[string]string{IRSARoleAnnotation: ""}, false, false},
		{"no annotation is not IRSA", nil, false, false},
		{"sts-regional-endpoints false opts out", map[string]string{IRSARoleAnnotation: "arn", STSRegionalEndpointsAnnotation: "false"}, true, true},
		{"sts-regional-endpoints true does not", map[string]string{IRSARoleAnnotation: "arn", STSRegionalEndpointsAnnotation: "true"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			irsa, opt := ServiceAccountFacts(tt.annotations)
			if irsa != tt.irsa || opt != tt.opt {
				t.Errorf("ServiceAccountFacts = (irsa %v, opt-out %v), want (%v, %v)", irsa, opt, tt.irsa, tt.opt)
			}
		})
	}
}

func TestSkipContainersParsesAsThePodIdentityWebhook(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"comma-separated names", "a,b", []string{"a", "b"}},
		{"names are not trimmed", "a, b", []string{" b", "a"}},
		{"a quoted name is read as CSV", `"a,b",c`, []string{"a,b", "c"}},
		{"a value CSV cannot read skips nothing", `a"b`, nil},
		{"an empty value skips nothing", "", nil},
		{"only the first line counts", "a\nb", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(skipContainers(tt.value)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("skipContainers(%q) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}
