package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Annotations and names of the AWS Load Balancer Controller that alb-certificate-discovery
// reads, as the controller reads them (its pkg/ingress).
const (
	IngressClassAnnotation   = "kubernetes.io/ingress.class"
	ALBListenPortsAnnotation = "alb.ingress.kubernetes.io/listen-ports"
	ALBCertificateAnnotation = "alb.ingress.kubernetes.io/certificate-arn"
	// DefaultIngressClassAnnotation marks the cluster's default IngressClass.
	DefaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
	// ALBController is the spec.controller of an IngressClass the controller serves.
	ALBController = "ingress.k8s.aws/alb"
	// albClass is the controller's own class name: the legacy annotation's value, and the
	// class that counts as ALB where IngressClasses cannot be looked up.
	albClass = "alb"
)

// IngressClassFacts are what an adapter looked up about an Ingress's IngressClass: the
// one spec.ingressClassName names, else the cluster's default class.
type IngressClassFacts struct {
	// Name of the class, "" when the Ingress names none and the cluster has no default.
	Name string `json:"name,omitempty"`
	// Controller is the class's spec.controller, "" when the class does not exist.
	Controller string `json:"controller,omitempty"`
	// CertificateARNs are the spec.certificateArn of the class's IngressClassParams
	// (elbv2.k8s.aws); they take precedence over the Ingress's own annotation.
	CertificateARNs []string `json:"certificateARNs,omitempty"`
	// ParamsProblem says why the class's parameters could not be read (an IngressClassParams
	// of an unknown version, or missing), "" when they could or there are none.
	ParamsProblem string `json:"paramsProblem,omitempty"`
}

// ValidateIngress judges an Ingress for alb-certificate-discovery, as the AWS Load
// Balancer Controller builds its listeners (computeIngressListenPortConfigByPort): an
// Ingress the controller serves whose listen-ports open an HTTPS listener, with no
// explicit certificate (its IngressClassParams' certificateArn, or the certificate-arn
// annotation), makes the controller discover certificates from the Ingress hosts through
// ACM, which a private cluster cannot reach. Without listen-ports the controller listens
// on HTTPS:443 only when explicit certificates exist, else on HTTP:80, so spec.tls alone
// triggers no discovery.
func (p *Policy) ValidateIngress(ing *networkingv1.Ingress, facts Facts) Decision {
	mode := p.Mode(RuleALBCertificateDiscovery, facts.Namespace)
	if mode == ModeOff || !isALBIngress(ing, facts.IngressClass) {
		return Decision{}
	}
	var class IngressClassFacts
	if facts.IngressClass != nil && ing.Annotations[IngressClassAnnotation] == "" {
		class = *facts.IngressClass // the legacy annotation has no IngressClassParams
	}
	if len(class.CertificateARNs) > 0 || namesACertificate(ing.Annotations[ALBCertificateAnnotation]) {
		return Decision{}
	}
	raw, set := ing.Annotations[ALBListenPortsAnnotation]
	if !set {
		return Decision{}
	}
	where := field.NewPath("metadata", "annotations").Key(ALBListenPortsAnnotation)
	https, err := listensHTTPS(raw)
	var msg string
	switch {
	case err != nil:
		msg = fmt.Sprintf("ALB Ingress %s (%s) has listen-ports the AWS Load Balancer Controller cannot read: %s; write it as a JSON list such as [{\"HTTP\": 80}, {\"HTTPS\": 443}] [%s]",
			quote(ing.Name), where, err, RuleALBCertificateDiscovery)
	case !https:
		return Decision{}
	case class.ParamsProblem != "":
		msg = fmt.Sprintf("ALB Ingress %s (%s) opens an HTTPS listener, and whether IngressClass %s names a certificate cannot be told: %s; set %s to the certificate's ARN [%s]",
			quote(ing.Name), where, quote(class.Name), class.ParamsProblem, ALBCertificateAnnotation, RuleALBCertificateDiscovery)
	default:
		msg = fmt.Sprintf("ALB Ingress %s (%s) opens an HTTPS listener without a certificate: neither the %s annotation nor its IngressClassParams' certificateArn names one, so the controller would discover certificates from the Ingress hosts through ACM, which a private cluster cannot reach; set %s to the certificate's ARN [%s]",
			quote(ing.Name), where, ALBCertificateAnnotation, ALBCertificateAnnotation, RuleALBCertificateDiscovery)
	}
	d := Decision{Violations: []Violation{{Rule: RuleALBCertificateDiscovery, Mode: mode, Path: where, Message: msg}}}
	p.applyExceptions(&d, facts.Namespace, p.subjectOf("Ingress", &ing.ObjectMeta), facts.Now)
	return d
}

// isALBIngress reports whether the AWS Load Balancer Controller serves the Ingress: the
// legacy kubernetes.io/ingress.class annotation, when present, decides alone (alb);
// otherwise its IngressClass's controller. Without class facts (no lookups) the class
// name alb counts.
func isALBIngress(ing *networkingv1.Ingress, class *IngressClassFacts) bool {
	if annotation, ok := ing.Annotations[IngressClassAnnotation]; ok {
		return annotation == albClass
	}
	if class == nil {
		return ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName == albClass
	}
	return class.Controller == ALBController
}

// namesACertificate reads the certificate-arn annotation as the controller does, a
// comma-separated list with blanks dropped, and reports whether it names one.
func namesACertificate(annotation string) bool {
	for s := range strings.SplitSeq(annotation, ",") {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

// listensHTTPS reads the listen-ports annotation as the controller does, a JSON list such
// as [{"HTTP": 80}, {"HTTPS": 443}] (protocols HTTP or HTTPS, ports 1 to 65535), and
// reports whether it opens an HTTPS listener. An annotation the controller would refuse
// is an error, so that the Ingress is not silently allowed.
func listensHTTPS(annotation string) (bool, error) {
	var entries []map[string]int32
	if err := json.Unmarshal([]byte(annotation), &entries); err != nil {
		return false, fmt.Errorf("not a JSON list of {protocol: port}: %s", truncate(err.Error()))
	}
	if len(entries) == 0 {
		return false, fmt.Errorf("an empty list")
	}
	https := false
	for _, entry := range entries {
		for protocol, port := range entry {
			if port < 1 || port > 65535 {
				return false, fmt.Errorf("port %d is not within 1 to 65535", port)
			}
			switch protocol {
			case "HTTP":
			case "HTTPS":
				https = true
			default:
				return false, fmt.Errorf("protocol %s is not HTTP or HTTPS", quote(protocol))
			}
		}
	}
	return https, nil
}
