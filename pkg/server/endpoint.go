package server

import (
	"context"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	padmission "github.com/privateguard/privateguard/pkg/admission"
	"github.com/privateguard/privateguard/pkg/metrics"
)

// Admission request timeouts. The API server appends ?timeout=10s (the webhook's
// timeoutSeconds) to the URL; the answer is useless after it.
const (
	defaultRequestTimeout = 10 * time.Second
	maxRequestTimeout     = 30 * time.Second
)

// admissionEndpoint serves one admission handler over HTTP: controller-runtime's Webhook
// reads the AdmissionReview (bodies capped at 7 MiB, content type checked, a panic turned
// into an error response) and writes the answer. Around it:
//
//   - anything but POST gets 405;
//   - the request's context is detached from the server's: controller-runtime derives
//     every request context from the context that also triggers shutdown, which would
//     cancel the service-account lookups of in-flight requests on SIGTERM. The request is
//     bounded by the API server's timeout instead;
//   - a body refused before it reaches the handler (empty, too large, not JSON, another
//     content type) is counted as an error of the webhook, kind and operation "other":
//     the handler counts everything else.
//
// Error lines of a request (a failed service-account lookup) go through errorLogs.
func admissionEndpoint(webhookName string, h admission.Handler, log logr.Logger, errorLogs *errorLogLimiter) http.Handler {
	wh := &admission.Webhook{
		Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
			if reached, ok := ctx.Value(reachedHandlerKey{}).(*bool); ok {
				*reached = true
			}
			return h.Handle(ctx, req)
		}),
		LogConstructor: func(base logr.Logger, req *admission.Request) logr.Logger {
			return limitErrors(padmission.RequestLogger(base, req), errorLogs)
		},
	}
	hook, _ := admission.StandaloneWebhook(wh, admission.StandaloneOptions{Logger: log}) // no metrics path: cannot fail
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "admission reviews are POSTed", http.StatusMethodNotAllowed)
			return
		}
		reached := false
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), requestTimeout(r))
		defer cancel()
		hook.ServeHTTP(w, r.WithContext(context.WithValue(ctx, reachedHandlerKey{}, &reached)))
		if !reached {
			metrics.AdmissionRequests.WithLabelValues(webhookName, metrics.OtherLabel, metrics.OtherLabel, metrics.ResultError).Inc()
		}
	})
}

// reachedHandlerKey marks, in a request's context, whether the handler was called.
type reachedHandlerKey struct{}

// requestTimeout is the API server's timeout for this call, within sane bounds.
func requestTimeout(r *http.Request) time.Duration {
	d, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	switch {
	case err != nil || d <= 0:
		return defaultRequestTimeout
	case d > maxRequestTimeout:
		return maxRequestTimeout
	}
	return d
}
