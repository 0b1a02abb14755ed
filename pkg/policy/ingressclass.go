package policy

import (
	"encoding/json"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// IngressClassParamsGVK is the AWS Load Balancer Controller's IngressClassParams, the
// only version the controller serves and privateguard reads.
var IngressClassParamsGVK = schema.GroupVersionKind{Group: "elbv2.k8s.aws", Version: "v1beta1", Kind: "IngressClassParams"}

// IngressClassParams is the part of an elbv2.k8s.aws/v1beta1 IngressClassParams that
// alb-certificate-discovery reads. Spec stays raw: the controller's other fields are not
// privateguard's to check, and a strict decoder must not refuse them.
type IngressClassParams struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              runtime.RawExtension `json:"spec,omitempty"`
}

// IngressClassParamsList is a list of IngressClassParams.
type IngressClassParamsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IngressClassParams `json:"items"`
}

// CertificateARNs reads spec.certificateArn.
func (p *IngressClassParams) CertificateARNs() ([]string, error) {
	if len(p.Spec.Raw) == 0 {
		return nil, nil
	}
	var spec struct {
		CertificateArn []string `json:"certificateArn"`
	}
	if err := json.Unmarshal(p.Spec.Raw, &spec); err != nil {
		return nil, fmt.Errorf("IngressClassParams %s: spec.certificateArn: %w", quote(p.Name), err)
	}
	return spec.CertificateArn, nil
}

// DeepCopyObject implements runtime.Object.
func (p *IngressClassParams) DeepCopyObject() runtime.Object {
	out := *p
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	p.Spec.DeepCopyInto(&out.Spec)
	return &out
}

// DeepCopyObject implements runtime.Object.
func (l *IngressClassParamsList) DeepCopyObject() runtime.Object {
	out := *l
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	out.Items = make([]IngressClassParams, len(l.Items))
	for i := range l.Items {
		out.Items[i] = *l.Items[i].DeepCopyObject().(*IngressClassParams)
	}
	return &out
}

// IngressClasses gives IngressClasses and IngressClassParams by name: the adapters
// implement it over their input (audit) or a cache of the cluster (admission). ok is
// false for one that does not exist; an error means the answer is unknown.
type IngressClasses interface {
	IngressClass(name string) (class *networkingv1.IngressClass, ok bool, err error)
	// DefaultIngressClass is the name of the class annotated
	// ingressclass.kubernetes.io/is-default-class: "true", "" when there is none.
	DefaultIngressClass() (string, error)
	IngressClassParams(name string) (params *IngressClassParams, ok bool, err error)
}

// NeedsIngressClass reports whether judging ing in namespace needs its IngressClass
// looked up: only where alb-certificate-discovery is on, and not for an Ingress whose
// legacy class annotation decides alone.
func (p *Policy) NeedsIngressClass(ing *networkingv1.Ingress, namespace string) bool {
	if _, legacy := ing.Annotations[IngressClassAnnotation]; legacy {
		return false
	}
	return p.Mode(RuleALBCertificateDiscovery, namespace) != ModeOff
}

// IngressClassFactsFor looks up, as the AWS Load Balancer Controller's class loader does,
// the facts about the class of ing: the class spec.ingressClassName names, else the
// default class. It returns nil facts when ing carries the legacy class annotation (that
// decides alone) or names no class where none is the default, and an error when a lookup
// failed: the adapter then judges without facts (the class name alb counts).
func IngressClassFactsFor(ing *networkingv1.Ingress, classes IngressClasses) (*IngressClassFacts, error) {
	if _, legacy := ing.Annotations[IngressClassAnnotation]; legacy {
		return nil, nil
	}
	name := ""
	if ing.Spec.IngressClassName != nil {
		name = *ing.Spec.IngressClassName
	} else {
		def, err := classes.DefaultIngressClass()
		if err != nil {
			return nil, err
		}
		name = def
	}
	facts := &IngressClassFacts{Name: name}
	if name == "" {
		return facts, nil
	}
	class, ok, err := classes.IngressClass(name)
	if err != nil || !ok {
		return facts, err // a class that does not exist: no controller serves the Ingress
	}
	facts.Controller = class.Spec.Controller
	ref := class.Spec.Parameters
	if facts.Controller != ALBController || ref == nil {
		return facts, nil
	}
	if ref.APIGroup == nil || *ref.APIGroup != IngressClassParamsGVK.Group || ref.Kind != IngressClassParamsGVK.Kind {
		facts.ParamsProblem = fmt.Sprintf("it references parameters of an unknown kind (%s %s), which the controller refuses", ptrString(ref.APIGroup), ref.Kind)
		return facts, nil
	}
	params, ok, err := classes.IngressClassParams(ref.Name)
	switch {
	case err != nil:
		facts.ParamsProblem = fmt.Sprintf("IngressClassParams %s cannot be read: %s", quote(ref.Name), truncate(err.Error()))
	case !ok:
		facts.ParamsProblem = fmt.Sprintf("IngressClassParams %s does not exist", quote(ref.Name))
	default:
		if facts.CertificateARNs, err = params.CertificateARNs(); err != nil {
			facts.ParamsProblem = truncate(err.Error())
		}
	}
	return facts, nil
}

func ptrString(s *string) string {
	if s == nil {
		return "<no apiGroup>"
	}
	return *s
}
