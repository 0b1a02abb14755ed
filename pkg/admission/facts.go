package admission

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

// serviceAccountFact looks up whether the service account a pod of spec runs as, in
// namespace, is IRSA, and whether it opts out of the regional STS endpoint. sas nil (--service-accounts=false) answers IRSANo: IRSA is then
// judged from the pod alone. A failed lookup answers IRSAUnknown: the mutating webhook
// then injects the regional endpoint anyway and the validating webhook does not deny for
// it (see the package doc).
func serviceAccountFact(ctx context.Context, sas serviceaccount.ServiceAccounts, namespace string, spec *corev1.PodSpec) (policy.IRSAFact, bool) {
	if sas == nil {
		return policy.IRSANo, false
	}
	name := policy.ServiceAccountName(spec)
	f, err := sas.Lookup(ctx, namespace, name)
	if err != nil {
		metrics.ServiceAccountLookupErrors.Inc()
		logf.FromContext(ctx).Error(err, "service account lookup failed; injecting the regional STS endpoint as for an IRSA pod",
			keyServiceAccount, name)
		return policy.IRSAUnknown, false
	}
	return policy.IRSAOf(f.IRSA), f.RegionalOptOut
}

// gatherFacts is what the engine needs to know about the request's object beyond the
// object itself: its namespace, set here once, and whether its service account is IRSA,
// looked up only when the engine says it will look at it.
func gatherFacts(ctx context.Context, r *review, s *Sources) policy.Facts {
	facts := policy.Facts{Namespace: r.namespace, Now: time.Now()}
	sas := s.ServiceAccounts
	switch r.kind.Role {
	case policy.RolePod:
		pod, old := r.obj.(*corev1.Pod), asPod(r.old)
		if r.policy.NeedsServiceAccount(pod, old, r.namespace) {
			facts.ServiceAccountIRSA, facts.ServiceAccountRegionalOptOut = serviceAccountFact(ctx, sas, r.namespace, &pod.Spec)
		}
	case policy.RoleWorkload:
		if tmpl := r.kind.Template(r.obj); tmpl != nil && r.policy.TemplateNeedsServiceAccount(r.namespace) {
			facts.ServiceAccountIRSA, facts.ServiceAccountRegionalOptOut = serviceAccountFact(ctx, sas, r.namespace, &tmpl.Spec)
		}
	case policy.RoleIngress:
		if ing := r.obj.(*networkingv1.Ingress); s.IngressClasses != nil && r.policy.NeedsIngressClass(ing, r.namespace) {
			facts.IngressClass = ingressClassFact(ctx, s.IngressClasses, ing)
		}
	}
	return facts
}

// ingressClassFact looks up the Ingress's class. A failed lookup answers nil: the Ingress
// is then judged by its class name (alb counts), as without lookups; it is logged and
// counted.
func ingressClassFact(ctx context.Context, lookup IngressClassLookup, ing *networkingv1.Ingress) *policy.IngressClassFacts {
	facts, err := policy.IngressClassFactsFor(ing, lookup.For(ctx))
	if err != nil {
		metrics.IngressClassLookupErrors.Inc()
		logf.FromContext(ctx).Error(err, "IngressClass lookup failed; judging the Ingress by its class name")
		return nil
	}
	return facts
}

// asPod is obj as a pod, nil when obj is nil (a CREATE has no old object).
func asPod(obj any) *corev1.Pod {
	pod, _ := obj.(*corev1.Pod)
	return pod
}
