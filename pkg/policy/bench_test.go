package policy

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// benchPod is an IRSA pod with n containers of envs variables each: one Docker Hub image
// to rewrite, the others in the allowed registry, as a typical mutated pod is.
func benchPod(n, envs int) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}
	for i := 0; i < n; i++ {
		c := corev1.Container{Name: fmt.Sprintf("c%d", i), Image: fmt.Sprintf("%s/team/app-%d:1.%d.0", testECR, i, i)}
		if i == 0 {
			c.Image = "nginx:1.27"
		}
		for j := 0; j < envs; j++ {
			c.Env = append(c.Env, corev1.EnvVar{Name: fmt.Sprintf("VAR_%d", j), Value: "value"})
		}
		pod.Spec.Containers = append(pod.Spec.Containers, c)
	}
	return pod
}

func benchmarkPod(b *testing.B, n, envs int) {
	p := testPolicy(b, nil)
	pod := benchPod(n, envs)
	facts := Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes}
	b.Run("mutate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.MutatePod(pod, nil, facts)
		}
	})
	b.Run("validate", func(b *testing.B) {
		after := mutated(p, pod, facts)
		b.ReportAllocs()
		for b.Loop() {
			p.ValidatePod(after, nil, facts)
		}
	})
	b.Run("mutate+validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.EvaluatePod(pod, nil, facts)
		}
	})
}

// BenchmarkTypicalPod: 3 containers × 20 env vars.
func BenchmarkTypicalPod(b *testing.B) { benchmarkPod(b, 3, 20) }

// BenchmarkLargePod: 50 containers × 100 env vars.
func BenchmarkLargePod(b *testing.B) { benchmarkPod(b, 50, 100) }

// BenchmarkWorkloadTemplate: a Deployment's template of a typical pod.
func BenchmarkWorkloadTemplate(b *testing.B) {
	p := testPolicy(b, nil)
	tmpl := &corev1.PodTemplateSpec{Spec: benchPod(3, 20).Spec}
	path := field.NewPath("spec", "template")
	facts := Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes}
	b.ReportAllocs()
	for b.Loop() {
		p.EvaluatePodTemplate(tmpl, nil, path, facts)
	}
}

// BenchmarkIngress: an ALB Ingress with TLS and a certificate ARN.
func BenchmarkIngress(b *testing.B) {
	p := testPolicy(b, nil)
	class := "alb"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Annotations: map[string]string{
			ALBCertificateAnnotation: "arn:aws:acm:us-west-2:111122223333:certificate/1", ALBListenPortsAnnotation: `[{"HTTPS": 443}]`,
		}},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}}}},
	}
	b.ReportAllocs()
	for b.Loop() {
		p.ValidateIngress(ing, Facts{})
	}
}
