package admission

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

// gatherFacts looks up what the engine needs to know beyond the object: its namespace
// and, when sts-regional-endpoint will look at the pod (lookupIRSA, and the rule is on in
// the namespace), whether its service account is IRSA. sas nil judges IRSA from the pod
// alone (--service-accounts=false); so does a failed lookup (see the package doc).
func gatherFacts(ctx context.Context, p *policy.Policy, sas serviceaccount.ServiceAccounts, namespace string, spec *corev1.PodSpec, lookupIRSA bool) policy.Facts {
	facts := policy.Facts{Namespace: namespace}
	if sas == nil || !lookupIRSA {
		return facts
	}
	if mode := p.Mode(policy.RuleSTSRegionalEndpoint, namespace); mode == "" || mode == policy.ModeOff {
		return facts // no network call for a rule that will not run
	}
	name := serviceaccount.NameOf(spec)
	irsa, err := sas.IsIRSA(ctx, namespace, name)
	if err != nil {
		metrics.ServiceAccountLookupErrors.Inc()
		logf.FromContext(ctx).Error(err, "service account lookup failed; judging IRSA from the pod's env alone",
			keyServiceAccount, name)
		return facts
	}
	facts.ServiceAccountIRSA = irsa
	return facts
}

// podNeedsIRSA reports whether the engine looks at a pod's service account: only on
// CREATE (env is immutable on a running pod, so an UPDATE never injects or checks it),
// and never for mirror pods, which the engine skips.
func podNeedsIRSA(pod, old *corev1.Pod) bool {
	if old != nil {
		return false
	}
	_, mirror := pod.Annotations[policy.MirrorPodAnnotation]
	return !mirror
}
