package server

import (
	"context"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	padmission "github.com/privateguard/privateguard/pkg/admission"
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
//     bounded by the API server's timeout instead.
func admissionEndpoint(h admission.Handler, log logr.Logger) http.Handler {
	wh := &admission.Webhook{Handler: h, LogConstructor: padmission.RequestLogger}
	hook, _ := admission.StandaloneWebhook(wh, admission.StandaloneOptions{Logger: log}) // no metrics path: cannot fail
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "admission reviews are POSTed", http.StatusMethodNotAllowed)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), requestTimeout(r))
		defer cancel()
		hook.ServeHTTP(w, r.WithContext(ctx))
	})
}

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
