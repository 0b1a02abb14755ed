package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

// PolicySource gives the policy in force. A *policywatch.Watcher is one; each request
// reads it once.
type PolicySource interface {
	Current() *policy.Policy
}

// errInternal is what a client is told of an internal error; the details are logged.
var errInternal = errors.New("internal error in privateguard; see its logs")

// Sources are what both webhooks read besides the request.
type Sources struct {
	// Policies gives the policy in force.
	Policies PolicySource
	// ServiceAccounts says whether a pod's service account is IRSA. Nil judges IRSA from
	// the pod alone (--service-accounts=false).
	ServiceAccounts serviceaccount.ServiceAccounts
	// IngressClasses looks up an Ingress's IngressClass and its parameters. Nil judges
	// Ingresses by class name (alb counts).
	IngressClasses IngressClassLookup
}

// IngressClassLookup gives the cluster's IngressClasses for one request, bounded by its
// context. An *ingressclass.Cache is one.
type IngressClassLookup interface {
	For(ctx context.Context) policy.IngressClasses
}

// Mutator answers POST /mutate: it patches pods with the changes of the mutating rules in
// enforce mode and warns about those in audit mode. It never denies.
type Mutator struct{ Sources }

var _ admission.Handler = (*Mutator)(nil)

// Handle answers one admission request.
func (m *Mutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	return answer(ctx, metrics.WebhookMutate, &req, m.mutate)
}

func (m *Mutator) mutate(ctx context.Context, req *admission.Request) admission.Response {
	// Workloads and Ingresses are validated, never mutated.
	r, resp := m.prepare(ctx, req, (*policy.Kind).Mutated)
	if r == nil {
		return resp
	}
	pod := r.obj.(*corev1.Pod)
	d := r.policy.MutatePod(pod, asPod(r.old), r.facts)
	return mutationResponse(ctx, &pod.Spec, d.Changes, d.Warnings)
}

// Validator answers POST /validate: it judges the final object and denies it when an
// enforced rule finds a violation.
type Validator struct{ Sources }

var _ admission.Handler = (*Validator)(nil)

// Handle answers one admission request.
func (v *Validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	return answer(ctx, metrics.WebhookValidate, &req, v.validate)
}

func (v *Validator) validate(ctx context.Context, req *admission.Request) admission.Response {
	r, resp := v.prepare(ctx, req, (*policy.Kind).Validated)
	if r == nil {
		return resp
	}
	var d policy.Decision
	switch r.kind.Role {
	case policy.RolePod:
		d = r.policy.ValidatePod(r.obj.(*corev1.Pod), asPod(r.old), r.facts)
	case policy.RoleWorkload:
		// The changes are what the mutating webhook will do to the pods; the template
		// itself is never patched.
		d = r.policy.EvaluateWorkload(r.kind, r.obj, r.old, r.facts)
	case policy.RoleIngress:
		d = r.policy.ValidateIngress(r.obj.(*networkingv1.Ingress), r.facts)
	}
	for _, x := range d.Exempt {
		metrics.Exempted.WithLabelValues(string(x.Rule), x.Exception).Inc()
		logf.FromContext(ctx).Info("exempt", keyRule, x.Rule, "exception", x.Exception, keyPath, x.Path.String())
	}
	return validationResponse(ctx, d.Violations, d.Warnings)
}

// review is a request ready for the engine: its kind, its decoded objects, the policy
// in force (read once per request) and the facts about the object.
type review struct {
	kind      *policy.Kind
	obj, old  runtime.Object // old is nil on CREATE
	namespace string
	policy    *policy.Policy
	facts     policy.Facts
}

// prepare is what both webhooks do before judging: check the request, find its kind in
// the engine's table, decode it and gather the facts. A nil review comes with the answer
// to give instead: allowed, for a request the webhook does not look at (judged says which
// kinds it does), or 400 for one that cannot be judged.
func (s *Sources) prepare(ctx context.Context, req *admission.Request, judged func(*policy.Kind) bool) (*review, admission.Response) {
	if err := checkRequest(req); err != nil {
		return nil, badRequest(ctx, err)
	}
	k := kindOf(req)
	if k == nil || !judged(k) {
		return nil, admission.Allowed("")
	}
	obj, old, err := decodeObjects(req, k)
	if err != nil {
		return nil, badRequest(ctx, err)
	}
	r := &review{kind: k, obj: obj, old: old, namespace: namespaceOf(obj, req), policy: s.Policies.Current()}
	r.facts = gatherFacts(ctx, r, s)
	return r, admission.Response{}
}

// answer runs one webhook's judgement of a request, turns a panic into an error response
// (the client sees 500 and a generic message, the log the details), and counts it.
func answer(ctx context.Context, webhook string, req *admission.Request,
	judge func(context.Context, *admission.Request) admission.Response) (resp admission.Response) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			logf.FromContext(ctx).Error(fmt.Errorf("panic: %v", r), "internal error answering the request",
				"stack", string(debug.Stack()))
			resp = admission.Errored(http.StatusInternalServerError, errInternal)
		}
		metrics.AdmissionDuration.WithLabelValues(webhook).Observe(time.Since(start).Seconds())
		metrics.AdmissionRequests.WithLabelValues(webhook, metrics.KindLabel(req.Kind.Kind),
			metrics.OperationLabel(string(req.Operation)), resultOf(&resp)).Inc()
	}()
	return judge(ctx, req)
}

// resultOf is the result label of a response.
func resultOf(resp *admission.Response) string {
	switch {
	case !resp.Allowed && (resp.Result == nil || resp.Result.Code != http.StatusForbidden):
		return metrics.ResultError
	case !resp.Allowed:
		return metrics.ResultDenied
	case len(resp.Patches) > 0:
		return metrics.ResultPatched
	case len(resp.Warnings) > 0:
		return metrics.ResultWarned
	default:
		return metrics.ResultAllowed
	}
}

// badRequest answers a request that cannot be judged: 400, with the reason.
func badRequest(ctx context.Context, err error) admission.Response {
	logf.FromContext(ctx).Info("bad request", "error", err.Error())
	return admission.Errored(http.StatusBadRequest, err)
}
