package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

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

// Mutator answers POST /mutate: it patches pods with the changes of the mutating rules in
// enforce mode and warns about those in audit mode. It never denies.
type Mutator struct {
	// Policies gives the policy in force.
	Policies PolicySource
	// ServiceAccounts says whether a pod's service account is IRSA. Nil judges IRSA from
	// the pod alone (--service-accounts=false).
	ServiceAccounts serviceaccount.ServiceAccounts
}

var _ admission.Handler = (*Mutator)(nil)

// Handle answers one admission request.
func (m *Mutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	return answer(ctx, metrics.WebhookMutate, &req, m.mutate)
}

func (m *Mutator) mutate(ctx context.Context, req *admission.Request) admission.Response {
	if err := checkRequest(req); err != nil {
		return badRequest(ctx, err)
	}
	if kind, _ := classify(req); kind != podKind {
		return admission.Allowed("") // workloads and Ingresses are validated, never mutated
	}
	pod, old, err := decodePods(req)
	if err != nil {
		return badRequest(ctx, err)
	}
	p := m.Policies.Current()
	facts := gatherFacts(ctx, p, m.ServiceAccounts, namespaceOf(pod.Namespace, req), &pod.Spec, podNeedsIRSA(pod, old))
	d := p.MutatePod(pod, old, facts)
	return mutationResponse(ctx, &pod.Spec, d.Changes)
}

// Validator answers POST /validate: it judges the final object and denies it when an
// enforced rule finds a violation.
type Validator struct {
	// Policies gives the policy in force.
	Policies PolicySource
	// ServiceAccounts says whether a pod's service account is IRSA. Nil judges IRSA from
	// the pod alone (--service-accounts=false).
	ServiceAccounts serviceaccount.ServiceAccounts
}

var _ admission.Handler = (*Validator)(nil)

// Handle answers one admission request.
func (v *Validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	return answer(ctx, metrics.WebhookValidate, &req, v.validate)
}

func (v *Validator) validate(ctx context.Context, req *admission.Request) admission.Response {
	if err := checkRequest(req); err != nil {
		return badRequest(ctx, err)
	}
	kind, w := classify(req)
	var d policy.Decision
	switch kind {
	case podKind:
		pod, old, err := decodePods(req)
		if err != nil {
			return badRequest(ctx, err)
		}
		p := v.Policies.Current()
		facts := gatherFacts(ctx, p, v.ServiceAccounts, namespaceOf(pod.Namespace, req), &pod.Spec, podNeedsIRSA(pod, old))
		d = p.ValidatePod(pod, old, facts)
	case workloadKind:
		ns, tmpl, old, err := w.decodeTemplates(req)
		if err != nil {
			return badRequest(ctx, err)
		}
		if tmpl == nil {
			return admission.Allowed("") // a ReplicationController without a template
		}
		p := v.Policies.Current()
		facts := gatherFacts(ctx, p, v.ServiceAccounts, namespaceOf(ns, req), &tmpl.Spec, true)
		// The changes are what the mutating webhook will do to the pods; the template
		// itself is never patched.
		d = p.EvaluatePodTemplate(tmpl, old, w.path, facts)
	case ingressKind:
		ing, err := decodeIngress(req)
		if err != nil {
			return badRequest(ctx, err)
		}
		d = v.Policies.Current().ValidateIngress(ing, policy.Facts{Namespace: namespaceOf(ing.Namespace, req)})
	default:
		return admission.Allowed("")
	}
	return validationResponse(ctx, d.Violations)
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
