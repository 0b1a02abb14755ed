package audit

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/privateguard/privateguard/pkg/policy"
)

// DefaultNamespace is where an object without a namespace is taken to be, unless the
// audit is told another one.
const DefaultNamespace = "default"

// Judge judges resources against p as admission would on CREATE, and reports. Objects
// are routed by their kind in policy.Kinds; objects without a namespace are taken to be
// in defaultNamespace ("" means DefaultNamespace). The facts among resources, from any
// source, are gathered first: a pod or template whose ServiceAccount carries
// eks.amazonaws.com/role-arn is an IRSA pod.
func Judge(p *policy.Policy, resources []Resource, defaultNamespace string) *Report {
	return JudgeAt(p, resources, defaultNamespace, time.Now())
}

// JudgeAt is Judge with the policy's exceptions judged at now (their expiry dates).
func JudgeAt(p *policy.Policy, resources []Resource, defaultNamespace string, now time.Time) *Report {
	return NewJudgement(p, resources, defaultNamespace, now).Judge(resources)
}

// Judgement judges resources against one policy with facts gathered once: the background
// audit gathers the cluster's service accounts and IngressClasses first, then judges the
// pods and workloads a page at a time without holding them all.
type Judgement struct{ j judge }

// NewJudgement gathers the facts among facts (ServiceAccounts, IngressClasses,
// IngressClassParams; other kinds are ignored) for judging against p as JudgeAt does.
func NewJudgement(p *policy.Policy, facts []Resource, defaultNamespace string, now time.Time) *Judgement {
	if defaultNamespace == "" {
		defaultNamespace = DefaultNamespace
	}
	j := judge{p: p, defaultNamespace: defaultNamespace, now: now, serviceAccounts: map[serviceAccountKey]serviceAccountFacts{}}
	for _, r := range facts {
		if roleOf(r) != policy.RoleFact {
			continue
		}
		switch obj := r.Object.(type) {
		case *corev1.ServiceAccount:
			var f serviceAccountFacts
			if f.irsa, f.regionalOptOut = policy.ServiceAccountFacts(obj.Annotations); f.irsa || f.regionalOptOut {
				j.serviceAccounts[serviceAccountKey{j.namespaceOf(obj), obj.Name}] = f
			}
		case *networkingv1.IngressClass:
			j.classes.add(obj)
		case *policy.IngressClassParams:
			j.classes.addParams(obj)
		}
	}
	return &Judgement{j: j}
}

// Judge judges resources with the facts of the Judgement (facts among resources are not
// added to them, and are neither judged nor counted).
func (jm *Judgement) Judge(resources []Resource) *Report {
	report := &Report{Results: []Result{}}
	for _, r := range resources {
		jm.Add(report, r)
	}
	return report
}

// Add judges one resource into report, as Judge does: a caller that reads objects one at
// a time keeps only their results.
func (jm *Judgement) Add(report *Report, r Resource) {
	result, judged := jm.j.judge(r)
	switch {
	case judged:
		report.Results = append(report.Results, result)
		report.Summary.add(&result)
	case roleOf(r) != policy.RoleFact:
		report.Summary.Skipped++
	}
}

// IsFact reports whether objects of gvk are facts for judging others (ServiceAccounts,
// IngressClasses, IngressClassParams), not judged themselves.
func IsFact(gvk schema.GroupVersionKind) bool {
	k := policy.KindFor(gvk)
	return k != nil && k.Role == policy.RoleFact
}

type serviceAccountKey struct{ namespace, name string }

// serviceAccountFacts are what a ServiceAccount of the input says; one that is absent
// from the input is not IRSA.
type serviceAccountFacts struct{ irsa, regionalOptOut bool }

type judge struct {
	p                *policy.Policy
	defaultNamespace string
	now              time.Time
	serviceAccounts  map[serviceAccountKey]serviceAccountFacts
	classes          inputClasses
}

// inputClasses are the IngressClasses and IngressClassParams of the input. A class the
// input lacks is unknown: the Ingress is then judged by its class name (alb counts).
type inputClasses struct {
	classes map[string]*networkingv1.IngressClass
	params  map[string]*policy.IngressClassParams
}

var _ policy.IngressClasses = (*inputClasses)(nil)

func (c *inputClasses) add(class *networkingv1.IngressClass) {
	if c.classes == nil {
		c.classes = map[string]*networkingv1.IngressClass{}
	}
	c.classes[class.Name] = class
}

func (c *inputClasses) addParams(params *policy.IngressClassParams) {
	if c.params == nil {
		c.params = map[string]*policy.IngressClassParams{}
	}
	c.params[params.Name] = params
}

func (c *inputClasses) IngressClass(name string) (*networkingv1.IngressClass, bool, error) {
	class, ok := c.classes[name]
	return class, ok, nil
}

func (c *inputClasses) DefaultIngressClass() (string, error) {
	def := ""
	for name, class := range c.classes {
		if class.Annotations[policy.DefaultIngressClassAnnotation] == "true" {
			if def != "" {
				return "", fmt.Errorf("IngressClasses %s and %s are both the default", def, name)
			}
			def = name
		}
	}
	return def, nil
}

func (c *inputClasses) IngressClassParams(name string) (*policy.IngressClassParams, bool, error) {
	params, ok := c.params[name]
	if !ok {
		return nil, false, fmt.Errorf("not in the input")
	}
	return params, true, nil
}

// ingressClassFacts are the facts about ing's class from the input: nil (the class name
// decides) when the input does not have the class.
func (j *judge) ingressClassFacts(ing *networkingv1.Ingress) *policy.IngressClassFacts {
	facts, err := policy.IngressClassFactsFor(ing, &j.classes)
	if err != nil || facts == nil {
		return nil
	}
	if _, known := j.classes.classes[facts.Name]; !known {
		return nil
	}
	return facts
}

// roleOf is the role of r's kind, 0 for kinds privateguard does not read.
func roleOf(r Resource) policy.KindRole {
	if kind := policy.KindFor(r.Object.GetObjectKind().GroupVersionKind()); kind != nil {
		return kind.Role
	}
	return 0
}

// judge judges one resource; judged is false for kinds the engine does not judge (facts
// and kinds outside policy.Kinds), for objects the reader left untyped, and for mirror
// pods, which the kubelet runs whatever admission says.
func (j *judge) judge(r Resource) (result Result, judged bool) {
	gvk := r.Object.GetObjectKind().GroupVersionKind()
	kind := policy.KindFor(gvk)
	if kind == nil {
		return Result{}, false
	}
	var d policy.Decision
	switch kind.Role {
	case policy.RolePod:
		pod, ok := r.Object.(*corev1.Pod)
		if !ok {
			return Result{}, false
		}
		if _, mirror := pod.Annotations[policy.MirrorPodAnnotation]; mirror {
			return Result{}, false
		}
		d = j.p.EvaluatePod(pod, nil, j.facts(pod, &pod.Spec))
	case policy.RoleWorkload:
		owner, ok := r.Object.(metav1.Object)
		if !ok {
			return Result{}, false
		}
		// A ReplicationController may have no template: nothing to judge, allowed.
		if tmpl := kind.Template(r.Object); tmpl != nil {
			d = j.p.EvaluateWorkload(kind, r.Object, nil, j.facts(owner, &tmpl.Spec))
		}
	case policy.RoleIngress:
		ing, ok := r.Object.(*networkingv1.Ingress)
		if !ok {
			return Result{}, false
		}
		d = j.p.ValidateIngress(ing, policy.Facts{Namespace: j.namespaceOf(ing), IngressClass: j.ingressClassFacts(ing), Now: j.now})
	default:
		return Result{}, false
	}
	meta := r.Object.(metav1.Object)
	result = Result{
		APIVersion: gvk.GroupVersion().String(),
		Kind:       gvk.Kind,
		Namespace:  j.namespaceOf(meta),
		Name:       meta.GetName(),
		Source:     r.Source,
		Line:       r.Line,
		Allowed:    d.Allowed(),
		Violations: d.Violations,
		Mutations:  d.Changes,
		Warnings:   d.Warnings,
		Exempt:     d.Exempt,
	}
	if result.Violations == nil {
		result.Violations = []policy.Violation{}
	}
	if result.Mutations == nil {
		result.Mutations = []policy.Change{}
	}
	return result, true
}

// facts are what admission's adapter would look up for a pod of spec in owner's
// namespace.
func (j *judge) facts(owner metav1.Object, spec *corev1.PodSpec) policy.Facts {
	ns := j.namespaceOf(owner)
	sa := j.serviceAccounts[serviceAccountKey{ns, policy.ServiceAccountName(spec)}]
	return policy.Facts{Namespace: ns, ServiceAccountIRSA: policy.IRSAOf(sa.irsa), ServiceAccountRegionalOptOut: sa.regionalOptOut, Now: j.now}
}

func (j *judge) namespaceOf(obj metav1.Object) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return j.defaultNamespace
}
