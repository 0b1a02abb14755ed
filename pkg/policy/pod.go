package policy

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Facts are what an adapter looked up about an object before asking the engine: the engine
// itself makes no network call.
type Facts struct {
	// Namespace of the object (from the admission request when the object omits it).
	Namespace string
	// ServiceAccountIRSA is true when the pod's service account (spec.serviceAccountName,
	// else default) has the eks.amazonaws.com/role-arn annotation.
	ServiceAccountIRSA bool
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
	return p.evaluatePod(pod, old, facts, mutate)
}

// ValidatePod judges pod as it is: the validating webhook's re-check of the final object,
// which still denies where the mutating webhook did not run. On UPDATE (old not nil) only
// the images the update changes are judged, so label and status updates of running pods
// keep working.
func (p *Policy) ValidatePod(pod, old *corev1.Pod, facts Facts) Decision {
	return p.evaluatePod(pod, old, facts, validate)
}

// EvaluatePod applies the mutating rules, then judges the mutated pod: what admission
// answers end to end. The violations are those left after mutation.
func (p *Policy) EvaluatePod(pod, old *corev1.Pod, facts Facts) Decision {
	return p.evaluatePod(pod, old, facts, mutate|validate)
}

// EvaluatePodTemplate judges a workload's pod template as its pods would be after
// mutation. path locates the template in the workload (spec.template, or
// spec.jobTemplate.spec.template); old is the template before an UPDATE, nil for CREATE,
// and an UPDATE judges only the containers it adds or changes. The changes are reported,
// never applied to the template.
func (p *Policy) EvaluatePodTemplate(tmpl, old *corev1.PodTemplateSpec, path *field.Path, facts Facts) Decision {
	modes := p.modesFor(facts.Namespace)
	if modes == nil {
		return Decision{}
	}
	var oldSpec *corev1.PodSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	return p.evaluate(&tmpl.Spec, oldSpec, path.Child("spec"), modes, facts, mutate|validate, false)
}

func (p *Policy) evaluatePod(pod, old *corev1.Pod, facts Facts, ph phase) Decision {
	if _, mirror := pod.Annotations[MirrorPodAnnotation]; mirror {
		return Decision{}
	}
	if facts.Namespace == "" {
		facts.Namespace = pod.Namespace
	}
	modes := p.modesFor(facts.Namespace)
	if modes == nil {
		return Decision{}
	}
	var oldSpec *corev1.PodSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	return p.evaluate(&pod.Spec, oldSpec, podSpecPath, modes, facts, ph, old != nil)
}

var podSpecPath = field.NewPath("spec")

// evaluation is the state of one evaluation of a pod spec.
type evaluation struct {
	p          *Policy
	modes      *ruleModes
	spec       *field.Path
	containers []container
	// podUpdate limits the rules to images: env and args of a running pod are immutable.
	podUpdate bool
	irsa      bool
	d         Decision
}

func (p *Policy) evaluate(spec, old *corev1.PodSpec, specPath *field.Path, modes *ruleModes, facts Facts, ph phase, podUpdate bool) Decision {
	e := evaluation{p: p, modes: modes, spec: specPath, containers: podContainers(spec), podUpdate: podUpdate}
	if old != nil {
		markChanged(e.containers, podContainers(old), podUpdate)
	}
	e.irsa = facts.ServiceAccountIRSA || hasWebIdentityEnv(e.containers)
	if ph&mutate != 0 {
		e.mutate()
	}
	if ph&validate != 0 {
		e.validate()
	}
	return e.d
}

func (e *evaluation) mutate() {
	if m := e.modes.of(RuleImageRewrite); m != ModeOff {
		for i := range e.containers {
			if e.containers[i].judged {
				e.rewriteImage(&e.containers[i], m)
			}
		}
	}
	if e.podUpdate {
		return
	}
	e.eachIRSAContainer(e.injectSTS)
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
	e.eachIRSAContainer(e.checkSTS)
	e.checkAddonFlags()
}

// eachIRSAContainer calls fn with sts-regional-endpoint's mode for every judged init and
// regular container of an IRSA pod, unless the rule is off.
func (e *evaluation) eachIRSAContainer(fn func(c *container, mode Mode)) {
	m := e.modes.of(RuleSTSRegionalEndpoint)
	if m == ModeOff || !e.irsa {
		return
	}
	for i := range e.containers {
		if c := &e.containers[i]; c.judged && c.ref.List != EphemeralContainers {
			fn(c, m)
		}
	}
}

// addChange records a change of the field at p (the container's image, env or args).
func (e *evaluation) addChange(c *container, rule RuleID, mode Mode, kind ChangeKind, p *field.Path, from, to, envName string) {
	e.d.Changes = append(e.d.Changes, Change{
		Rule: rule, Mode: mode, Kind: kind, Container: c.ref, Path: p, From: from, To: to, EnvName: envName,
	})
}

func (e *evaluation) addViolation(rule RuleID, mode Mode, p *field.Path, img, msg string) {
	e.d.Violations = append(e.d.Violations, Violation{Rule: rule, Mode: mode, Path: p, Image: img, Message: msg})
}
