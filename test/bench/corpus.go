package main

import (
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

const ecr = "111122223333.dkr.ecr.us-west-2.amazonaws.com"

// corpusEntry is one AdmissionReview body of the load corpus.
type corpusEntry struct {
	name  string
	body  []byte
	large bool
}

// corpus is a mix of what a cluster sends, cycled in this order: typical pods already in
// ECR (allowed, nothing to change), Docker Hub pods (rewritten; denied by /validate as they
// are), IRSA pods (env injected), pods with a public image no rule rewrites (denied), and
// one large pod in twenty requests.
func corpus() ([]corpusEntry, error) {
	var out []corpusEntry
	add := func(name string, pod *corev1.Pod) error {
		body, err := review(pod)
		if err != nil {
			return err
		}
		out = append(out, corpusEntry{name: name, body: body, large: len(pod.Spec.Containers) > 10})
		return nil
	}
	typical := func(images ...string) *corev1.Pod { return pod(images, 20, false) }
	entries := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"typical, allowed", typical(ecr+"/shop/web:1.4.2", ecr+"/shop/envoy:1.31", ecr+"/shop/log:2")},
		{"typical, Docker Hub image", typical("nginx:1.27", ecr+"/shop/envoy:1.31", ecr+"/shop/log:2")},
		{"IRSA", pod([]string{ecr + "/billing/api:3", ecr + "/shop/envoy:1.31", ecr + "/shop/log:2"}, 20, true)},
		{"typical, public image", typical("ghcr.io/acme/app:1", ecr+"/shop/envoy:1.31", ecr+"/shop/log:2")},
		{"large (50 containers x 100 env)", pod(repeat(ecr+"/batch/worker:7", 50), 100, true)},
	}
	weights := []int{7, 4, 4, 4, 1}
	for i, e := range entries {
		for range weights[i] {
			if err := add(e.name, e.pod); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func pod(images []string, envs int, irsa bool) *corev1.Pod {
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: "shop", Labels: map[string]string{"app": "web"}},
	}
	for i, image := range images {
		c := corev1.Container{Name: fmt.Sprintf("c%d", i), Image: image}
		for j := 0; j < envs; j++ {
			c.Env = append(c.Env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", j), Value: "some-value"})
		}
		if irsa {
			// With --service-accounts=false the pod itself says it is IRSA.
			c.Env = append(c.Env,
				corev1.EnvVar{Name: "AWS_ROLE_ARN", Value: "arn:aws:iam::111122223333:role/billing"},
				corev1.EnvVar{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"})
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
	return p
}

func review(pod *corev1.Pod) ([]byte, error) {
	raw, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("5b0c7a4e-2f3d-4a61-9b7e-0c3a1f6d2e11"),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: "shop",
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	return json.Marshal(r)
}
