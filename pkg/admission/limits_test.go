package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// bigPodRequest is a CREATE of a pod with n containers whose images come from registry.
func bigPodRequest(t testing.TB, namespace, registry string, n int) admission.Request {
	t.Helper()
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: namespace},
	}
	for i := range n {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("c%d", i), Image: fmt.Sprintf("%s/acme/app%d:1.0", registry, i),
		})
	}
	raw, err := json.Marshal(&pod)
	if err != nil {
		t.Fatal(err)
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: types.UID("big-" + namespace), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: namespace, Name: "big", Operation: admissionv1.Create,
		Object: runtime.RawExtension{Raw: raw},
	}}
}

func TestAPodWithAThousandContainers(t *testing.T) {
	p := staticPolicy{loadTestPolicy(t)}
	validator := &Validator{Sources{Policies: p}}
	mutator := &Mutator{Sources{Policies: p}}

	t.Run("enforced: denied with twenty violations listed and the rest counted", func(t *testing.T) {
		resp := validator.Handle(context.Background(), bigPodRequest(t, "team-a", "ghcr.io", 1000))
		if resp.Allowed || resp.Result.Code != 403 {
			t.Fatalf("allowed=%v code=%d, want denied with 403", resp.Allowed, resp.Result.Code)
		}
		lines := strings.Split(resp.Result.Message, "\n")
		if len(lines) != maxListed+1 || lines[maxListed] != "and 980 more violations" {
			t.Errorf("message has %d lines ending %q, want %d and %q", len(lines), lines[len(lines)-1], maxListed+1, "and 980 more violations")
		}
	})
	t.Run("audit: allowed with twenty warnings and a count of the rest", func(t *testing.T) {
		resp := validator.Handle(context.Background(), bigPodRequest(t, "legacy-app", "ghcr.io", 1000))
		if !resp.Allowed {
			t.Fatalf("denied: %s", resp.Result.Message)
		}
		if len(resp.Warnings) != maxListed+1 || resp.Warnings[maxListed] != "980 more audit findings not listed" {
			t.Errorf("%d warnings ending %q", len(resp.Warnings), resp.Warnings[len(resp.Warnings)-1])
		}
		if len(resp.AuditAnnotations) != maxListed+1 {
			t.Errorf("%d audit annotations, want %d", len(resp.AuditAnnotations), maxListed+1)
		}
	})
	t.Run("mutate: every image is rewritten, one operation each", func(t *testing.T) {
		req := bigPodRequest(t, "team-a", "docker.io", 1000)
		resp := mutator.Handle(context.Background(), req)
		if len(resp.Patches) != 1000 {
			t.Fatalf("%d patch operations, want 1000", len(resp.Patches))
		}
		got := applyPatch(t, string(req.Object.Raw), resp.Patches)
		if img := got.Spec.Containers[999].Image; img != "111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/acme/app999:1.0" {
			t.Errorf("last container's image = %s", img)
		}
	})
}

func BenchmarkHandlers(b *testing.B) {
	p := staticPolicy{loadTestPolicy(b)}
	sas := testServiceAccounts()
	handlers := []struct {
		name    string
		h       admission.Handler
		fixture string
	}{
		{"mutate a pod", &Mutator{Sources{Policies: p, ServiceAccounts: sas}}, "pod-create-enforce"},
		{"validate a pod", &Validator{Sources{Policies: p, ServiceAccounts: sas}}, "pod-create-enforce"},
		{"validate a deployment", &Validator{Sources{Policies: p, ServiceAccounts: sas}}, "deployment-create-enforce"},
	}
	fixtures := loadFixtures(b)
	for _, bench := range handlers {
		var req admission.Request
		for _, fx := range fixtures {
			if fx.name == bench.fixture {
				req = fx.req
			}
		}
		b.Run(bench.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bench.h.Handle(context.Background(), req)
			}
		})
	}
}
