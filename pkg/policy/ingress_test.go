package policy

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestALBCertificateDiscovery(t *testing.T) {
	alb := "alb"
	nginx := "nginx"
	tls := []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}}}
	tests := []struct {
		name        string
		class       *string
		annotations map[string]string
		tls         []networkingv1.IngressTLS
		mode        Mode
		want        []string
	}{
		{"an ALB Ingress with TLS and no certificate ARN is denied", &alb, nil, tls, ModeEnforce, []string{"alb-certificate-discovery enforce spec.tls"}},
		{"the class annotation counts too", nil, map[string]string{IngressClassAnnotation: "alb"}, tls, ModeEnforce, []string{"alb-certificate-discovery enforce spec.tls"}},
		{"HTTPS in listen-ports counts as TLS", &alb, map[string]string{ALBListenPortsAnnotation: `[{"HTTP": 80}, {"HTTPS": 443}]`}, nil, ModeEnforce,
			[]string{"alb-certificate-discovery enforce metadata.annotations[alb.ingress.kubernetes.io/listen-ports]"}},
		{"HTTP only is fine", &alb, map[string]string{ALBListenPortsAnnotation: `[{"HTTP": 80}]`}, nil, ModeEnforce, nil},
		{"a certificate ARN satisfies the rule", &alb, map[string]string{ALBCertificateAnnotation: "arn:aws:acm:us-west-2:111122223333:certificate/abc"}, tls, ModeEnforce, nil},
		{"another class is not judged", &nginx, nil, tls, ModeEnforce, nil},
		{"audit reports and allows", &alb, nil, tls, ModeAudit, []string{"alb-certificate-discovery audit spec.tls"}},
		{"off says nothing", &alb, nil, tls, ModeOff, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := &networkingv1.Ingress{
				ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Annotations: tt.annotations},
				Spec:       networkingv1.IngressSpec{IngressClassName: tt.class, TLS: tt.tls},
			}
			d := testPolicy(t, withMode(RuleALBCertificateDiscovery, tt.mode)).ValidateIngress(ing, Facts{})
			assertSummary(t, d, tt.want...)
			if d.Allowed() != (tt.mode != ModeEnforce || tt.want == nil) {
				t.Errorf("Allowed() = %v", d.Allowed())
			}
			if len(d.Violations) == 1 && !strings.HasPrefix(d.Violations[0].Message, `ALB Ingress "shop" (`) {
				t.Errorf("message = %q", d.Violations[0].Message)
			}
		})
	}
	t.Run("an excluded namespace is not judged", func(t *testing.T) {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "kube-system"}, Spec: networkingv1.IngressSpec{IngressClassName: &alb, TLS: tls}}
		p := testPolicy(t, func(f *File) { f.Exclude.Namespaces = []string{"kube-system"} })
		assertSummary(t, p.ValidateIngress(ing, Facts{Namespace: ing.Namespace}))
	})
}
