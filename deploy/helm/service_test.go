package helm_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestServiceSendsTheAPIServerToTheWebhookPort(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	var svc corev1.Service
	r.decode(t, "Service", "privateguard", &svc)
	c := deployment(t, r).Spec.Template.Spec.Containers[0]
	ports := map[string]corev1.ServicePort{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p
	}
	if p := ports["https"]; p.Port != 443 || p.TargetPort != intstr.FromString("webhook") {
		t.Errorf("https port = %+v, want 443 to the container port named webhook", p)
	}
	if p := ports["metrics"]; p.TargetPort != intstr.FromString("metrics") || p.Port != containerPort(t, c, "metrics") {
		t.Errorf("metrics port = %+v, want the container's metrics port", p)
	}
	if svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service type %s, want ClusterIP", svc.Spec.Type)
	}
}
