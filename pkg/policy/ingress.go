package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Annotations of the AWS Load Balancer Controller that alb-certificate-discovery reads.
const (
	IngressClassAnnotation   = "kubernetes.io/ingress.class"
	ALBListenPortsAnnotation = "alb.ingress.kubernetes.io/listen-ports"
	ALBCertificateAnnotation = "alb.ingress.kubernetes.io/certificate-arn"
	albClass                 = "alb"
)

// ValidateIngress judges an Ingress for alb-certificate-discovery: an ALB Ingress that
// serves HTTPS must name its certificate, because the controller discovers certificates
// from hosts through ACM, which a private cluster cannot reach.
func (p *Policy) ValidateIngress(ing *networkingv1.Ingress, facts Facts) Decision {
	mode := p.Mode(RuleALBCertificateDiscovery, facts.Namespace)
	if mode == ModeOff || !isALBIngress(ing) || strings.TrimSpace(ing.Annotations[ALBCertificateAnnotation]) != "" {
		return Decision{}
	}
	var where *field.Path
	switch {
	case len(ing.Spec.TLS) > 0:
		where = field.NewPath("spec", "tls")
	case listensHTTPS(ing.Annotations[ALBListenPortsAnnotation]):
		where = field.NewPath("metadata", "annotations").Key(ALBListenPortsAnnotation)
	default:
		return Decision{}
	}
	var d Decision
	d.Violations = append(d.Violations, Violation{
		Rule: RuleALBCertificateDiscovery, Mode: mode, Path: where,
		Message: fmt.Sprintf(
			"ALB Ingress %s (%s) serves HTTPS without the %s annotation; certificate discovery from Ingress hosts needs ACM, which a private cluster cannot reach; set %s to the certificate's ARN [%s]",
			quote(ing.Name), where, ALBCertificateAnnotation, ALBCertificateAnnotation, RuleALBCertificateDiscovery),
	})
	return d
}

func isALBIngress(ing *networkingv1.Ingress) bool {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName == albClass
	}
	return ing.Annotations[IngressClassAnnotation] == albClass
}

// listensHTTPS reports whether the listen-ports annotation, a JSON list such as
// [{"HTTP": 80}, {"HTTPS": 443}], opens an HTTPS listener. An annotation that is not such
// a list is searched for HTTPS instead: the engine would rather warn than miss.
func listensHTTPS(annotation string) bool {
	if annotation == "" {
		return false
	}
	var ports []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(annotation), &ports); err != nil {
		return strings.Contains(strings.ToUpper(annotation), "HTTPS")
	}
	for _, port := range ports {
		for protocol := range port {
			if strings.EqualFold(protocol, "HTTPS") {
				return true
			}
		}
	}
	return false
}
