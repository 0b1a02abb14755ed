package policy

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestALBCertificateDiscovery(t *testing.T) {
	alb, internal, nginx := "alb", "alb-internal", "nginx"
	tls := []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}}}
	httpsPorts := map[string]string{ALBListenPortsAnnotation: `[{"HTTP": 80}, {"HTTPS": 443}]`}
	const listenPorts = "alb-certificate-discovery enforce metadata.annotations[alb.ingress.kubernetes.io/listen-ports]"
	albClassFacts := &IngressClassFacts{Name: "alb-internal", Controller: ALBController}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for key, val := range m {
			out[key] = val
		}
		return out
	}
	tests := []struct {
		name        string
		class       *string
		facts       *IngressClassFacts
		annotations map[string]string
		tls         []networkingv1.IngressTLS
		mode        Mode
		want        []string
	}{
		{"an HTTPS listener without a certificate is denied", &alb, nil, httpsPorts, nil, ModeEnforce, []string{listenPorts}},
		{"spec.tls alone opens no HTTPS listener: the controller listens on HTTP:80 and discovers nothing", &alb, nil, nil, tls, ModeEnforce, nil},
		{"HTTP only is fine", &alb, nil, map[string]string{ALBListenPortsAnnotation: `[{"HTTP": 80}]`}, tls, ModeEnforce, nil},
		{"a certificate ARN satisfies the rule", &alb, nil, with(httpsPorts, ALBCertificateAnnotation, "arn:aws:acm:us-west-2:111122223333:certificate/abc"), tls, ModeEnforce, nil},
		{"a blank certificate ARN does not", &alb, nil, with(httpsPorts, ALBCertificateAnnotation, " , "), tls, ModeEnforce, []string{listenPorts}},
		{"the legacy class annotation counts, and decides before ingressClassName", &nginx, nil, with(httpsPorts, IngressClassAnnotation, "alb"), nil, ModeEnforce, []string{listenPorts}},
		{"another legacy class annotation is not judged, whatever the class", &alb, albClassFacts, with(httpsPorts, IngressClassAnnotation, "nginx"), nil, ModeEnforce, nil},
		{"another class is not judged", &nginx, nil, httpsPorts, nil, ModeEnforce, nil},
		{"a class of another name with the ALB controller is ALB", &internal, albClassFacts, httpsPorts, nil, ModeEnforce, []string{listenPorts}},
		{"the default class (looked up) with the ALB controller is ALB", nil, &IngressClassFacts{Name: "default-alb", Controller: ALBController}, httpsPorts, nil, ModeEnforce, []string{listenPorts}},
		{"a class named alb of another controller is not ALB when classes are looked up", &alb, &IngressClassFacts{Name: "alb", Controller: "k8s.io/ingress-nginx"}, httpsPorts, nil, ModeEnforce, nil},
		{"IngressClassParams certificateArn satisfies the rule", &internal, &IngressClassFacts{Name: "alb-internal", Controller: ALBController, CertificateARNs: []string{"arn:aws:acm:us-west-2:111122223333:certificate/abc"}}, httpsPorts, nil, ModeEnforce, nil},
		{"IngressClassParams that cannot be read are reported", &internal, &IngressClassFacts{Name: "alb-internal", Controller: ALBController, ParamsProblem: "IngressClassParams alb-params not found"}, httpsPorts, nil, ModeEnforce, []string{listenPorts}},
		{"listen-ports that are not JSON are reported", &alb, nil, map[string]string{ALBListenPortsAnnotation: `[{HTTPS: 443}]`}, nil, ModeEnforce, []string{listenPorts}},
		{"listen-ports with an unknown protocol are reported", &alb, nil, map[string]string{ALBListenPortsAnnotation: `[{"https": 443}]`}, nil, ModeEnforce, []string{listenPorts}},
		{"audit reports and allows", &alb, nil, httpsPorts, nil, ModeAudit, []string{"alb-certificate-discovery audit metadata.annotations[alb.ingress.kubernetes.io/listen-ports]"}},
		{"off says nothing", &alb, nil, httpsPorts, tls, ModeOff, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := &networkingv1.Ingress{
				ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Annotations: tt.annotations},
				Spec:       networkingv1.IngressSpec{IngressClassName: tt.class, TLS: tt.tls},
			}
			d := testPolicy(t, withMode(RuleALBCertificateDiscovery, tt.mode)).ValidateIngress(ing, Facts{Namespace: "default", IngressClass: tt.facts})
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
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "kube-system", Annotations: httpsPorts}, Spec: networkingv1.IngressSpec{IngressClassName: &alb, TLS: tls}}
		p := testPolicy(t, func(f *File) { f.Exclude.Namespaces = []string{"kube-system"} })
		assertSummary(t, p.ValidateIngress(ing, Facts{Namespace: ing.Namespace}))
	})
}
