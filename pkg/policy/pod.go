package policy

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Facts are what an adapter looked up about an object before asking the engine: the engine
// itself makes no network call.
type Facts struct {
	// Namespace of the object. Required: the adapter sets it once, from the object or,
	// when the object omits it, from the admission request (or the audit's default). The
	// engine does not look at the object's own namespace.
	Namespace string
	// ServiceAccountIRSA says whether the pod's service account (ServiceAccountName) has
	// a non-empty eks.amazonaws.com/role-arn annotation (ServiceAccountFacts), or that
	// the lookup failed (IRSAUnknown). The zero value is IRSANo.
	ServiceAccountIRSA IRSAFact
	// ServiceAccountRegionalOptOut is true when that service account is annotated
	// eks.amazonaws.com/sts-regional-endpoints: "false": the Pod Identity Webhook would
	// then leave the global endpoint, which a private cluster cannot reach.
	ServiceAccountRegionalOptOut bool
	// IngressClass is what the adapter looked up about an Ingress's IngressClass; nil
	// when IngressClasses cannot be looked up (the class name alb then counts).
	IngressClass *IngressClassFacts
	// Now is the time exceptions' expiry dates are judged at: the engine reads no clock.
	// The zero time expires nothing.
	Now time.Time
}

// IRSAFact is what an adapter knows of whether a pod's service account is an IRSA one.
type IRSAFact uint8

const (
	// IRSANo: the service account has no role ARN, does not exist, or was not looked up.
	IRSANo IRSAFact = iota
	// IRSAYes: the service account has a non-empty eks.amazonaws.com/role-arn.
	IRSAYes
	// IRSAUnknown: the lookup failed or ran out of time. The mutating rules inject as if
	// the pod were IRSA (the variable is harmless to a pod that never calls STS); the
	// validating rules do not deny for it.
	IRSAUnknown
)

// IRSAOf is IRSAYes for true, IRSANo for false.
func IRSAOf(irsa bool) IRSAFact {
	if irsa {
		return IRSAYes
	}
	return IRSANo
}

// String names the fact as logs and fixtures write it.
func (i IRSAFact) String() string {
	switch i {
	case IRSAYes:
		return "yes"
	case IRSAUnknown:
		return "unknown"
	}
	return "no"
}

// MirrorPodAnnotation marks the API server's copy of a static pod: the kubelet runs the
// static pod whatever the API server says, so the engine never judges one.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// phase selects the halves of an evaluation.
type phase uint8

const (
	mutate phase = 1 << iota
	validate
)

// MutatePod returns the changes the mutating webhook makes to pod (enforce) or reports
// (audit). old is the pod before an UPDATE, nil for CREATE: an UPDATE only rewrites the
// images it changes, and never touches env or args (immutable on a running pod).
func (p *Policy) MutatePod(pod, old *corev1.Pod, facts Facts) Decision {
	var e evaluation
	p.evaluatePod(&e, pod, old, facts, mutate)
	return e.d
}

// ValidatePod judges pod as it is: the validating webhook's re-check of the final object,
// which still denies where the mutating webhook did not run. On UPDATE (old not nil) only
// the images the update changes are judged, so label and status updates of running pods
// keep working.
func (p *Policy) ValidatePod(pod, old *corev1.Pod, facts Facts) Decision {
	var e evaluation
	p.evaluatePod(&e, pod, old, facts, validate)
	return e.d
}

// EvaluatePod applies the mutating rules, then judges the mutated pod: what admission
// answers end to end. The violations are those left after mutation.
func (p *Policy) EvaluatePod(pod, old *corev1.Pod, facts Facts) Decision {
	var e evaluation
	p.evaluatePod(&e, pod, old, facts, mutate|validate)
	return e.d
}

// EvaluatePodTemplate judges a workload's pod template as its pods would be after
// mutation. path locates the template in the workload (spec.template, or
// spec.jobTemplate.spec.template); old is the template before an UPDATE, nil for CREATE,
// and an UPDATE judges only the containers it adds or changes. The changes are reported,
// never applied to the template.
func (p *Policy) EvaluatePodTemplate(tmpl, old *corev1.PodTemplateSpec, path *field.Path, facts Facts) Decision {
	var oldSpec *corev1.PodSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	var e evaluation
	p.evaluate(&e, &tmpl.ObjectMeta, &tmpl.Spec, oldSpec, path.Child("spec"), facts, mutate|validate, false, nil)
	return e.d
}

// EvaluateWorkload judges a workload of kind k (RoleWorkload) by its pod template, as
// EvaluatePodTemplate does; old is the object before an UPDATE, nil for CREATE. A
// workload without a template (a ReplicationController may omit it) gets an empty
// decision.
func (p *Policy) EvaluateWorkload(k *Kind, obj, old runtime.Object, facts Facts) Decision {
	tmpl := k.Template(obj)
	if tmpl == nil {
		return Decision{}
	}
	var oldSpec *corev1.PodSpec
	if old != nil {
		if oldTmpl := k.Template(old); oldTmpl != nil {
			oldSpec = &oldTmpl.Spec
		}
	}
	var s *subject
	if m, err := meta.Accessor(obj); err == nil && len(p.exceptions) > 0 {
		s = p.subjectOf(k.GVK.Kind, &metav1.ObjectMeta{Name: m.GetName(), GenerateName: m.GetGenerateName(), OwnerReferences: m.GetOwnerReferences()})
	}
	var e evaluation
	p.evaluate(&e, &tmpl.ObjectMeta, &tmpl.Spec, oldSpec, k.TemplatePath.Child("spec"), facts, mutate|validate, false, s)
	return e.d
}

// NeedsServiceAccount reports whether judging a pod needs to know whether its service
// account is IRSA, so that an adapter makes the lookup only then: never for a mirror pod
// (skipped) or an UPDATE (env is immutable on a running pod, so sts-regional-endpoint
// does not look at it), and not where sts-regional-endpoint is off. old is nil for CREATE.
func (p *Policy) NeedsServiceAccount(pod, old *corev1.Pod, namespace string) bool {
	if old != nil || isMirrorPod(pod) {
		return false
	}
	return p.Mode(RuleSTSRegionalEndpoint, namespace) != ModeOff
}

// TemplateNeedsServiceAccount is NeedsServiceAccount for a workload's pod template in
// namespace.
func (p *Policy) TemplateNeedsServiceAccount(namespace string) bool {
	return p.Mode(RuleSTSRegionalEndpoint, namespace) != ModeOff
}

// MutatedPod returns a copy of pod with the enforced changes of the mutating rules
// applied, as the engine sees the result, and the decision: what the mutating webhook's
// patch must turn the pod into. It is not on the admission path (the webhook answers with
// the patch of Decision.Changes); tests and tools compare against it.
func (p *Policy) MutatedPod(pod, old *corev1.Pod, facts Facts) (*corev1.Pod, Decision) {
	out := pod.DeepCopy()
	var e evaluation
	if p.evaluatePod(&e, pod, old, facts, mutate) {
		e.writeContainers(&out.Spec)
	}
	return out, e.d
}

func isMirrorPod(pod *corev1.Pod) bool {
	_, mirror := pod.Annotations[MirrorPodAnnotation]
	return mirror
}

// evaluatePod evaluates a pod into e; false for a mirror pod, which is not evaluated.
func (p *Policy) evaluatePod(e *evaluation, pod, old *corev1.Pod, facts Facts, ph phase) bool {
	if isMirrorPod(pod) {
		return false
	}
	var oldSpec *corev1.PodSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	return p.evaluate(e, &pod.ObjectMeta, &pod.Spec, oldSpec, podSpecPath, facts, ph, old != nil, p.subjectOf("Pod", &pod.ObjectMeta))
}

var podSpecPath = field.NewPath("spec")

// evaluation is the state of one evaluation of a pod spec.
type evaluation struct {
	p          *Policy
	rules      *ruleSettings
	spec       *field.Path
	containers []container
	// podUpdate limits the rules to images: env and args of a running pod are immutable.
	podUpdate bool
	sts       stsFacts
	d         Decision
}

// evaluate runs the phases of ph on the pod (or template) of meta and spec into e, which
// the caller keeps on its stack; false when the namespace is excluded (e stays empty).
func (p *Policy) evaluate(e *evaluation, meta *metav1.ObjectMeta, spec, old *corev1.PodSpec, specPath *field.Path, facts Facts, ph phase, podUpdate bool, s *subject) bool {
	rules := p.settingsFor(facts.Namespace)
	if rules == nil {
		return false
	}
	*e = evaluation{p: p, rules: rules, spec: specPath, containers: podContainers(spec), podUpdate: podUpdate}
	if old != nil {
		markChanged(e.containers, podContainers(old), podUpdate)
	}
	e.sts = stsFactsOf(meta, spec, e.containers, facts)
	if ph&mutate != 0 {
		e.mutate()
	}
	if ph&validate != 0 {
		e.validate()
		p.applyExceptions(&e.d, facts.Namespace, s, facts.Now)
	}
	return true
}

func (e *evaluation) mutate() {
	if m := e.rules.mode(RuleImageRewrite); m != ModeOff {
		for i := range e.containers {
			if e.containers[i].judged {
				e.rewriteImage(&e.containers[i], m)
			}
		}
	}
	if e.podUpdate {
		return
	}
	e.injectSTS()
	e.fixAddonFlags()
}

func (e *evaluation) validate() {
	for i := range e.containers {
		if e.containers[i].judged {
			e.checkImage(&e.containers[i])
		}
	}
	if e.podUpdate {
		return
	}
	e.checkSTS()
	e.checkAddonFlags()
}

// addChange records a change of the field at p (the container's image, env or args).
func (e *evaluation) addChange(c *container, rule RuleID, mode Mode, kind ChangeKind, p *field.Path, from, to, envName string) {
	e.d.Changes = append(e.d.Changes, Change{
		Rule: rule, Mode: mode, Kind: kind, Container: c.ref, Path: p, From: from, To: to, EnvName: envName,
	})
}

func (e *evaluation) addWarning(rule RuleID, p *field.Path, img, msg string) {
	e.d.Warnings = append(e.d.Warnings, Warning{Rule: rule, Path: p, Image: img, Message: msg})
}

func (e *evaluation) addViolation(rule RuleID, mode Mode, p *field.Path, img, msg string) {
	e.d.Violations = append(e.d.Violations, Violation{Rule: rule, Mode: mode, Path: p, Image: img, Message: msg})
}
