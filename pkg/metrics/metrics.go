// Package metrics defines privateguard's Prometheus metrics. They are registered in
// controller-runtime's registry, so the metrics endpoint (--metrics-bind-address) serves
// them beside controller-runtime's own (webhook latency, panics, Go runtime).
//
// Label values are bounded: webhook, result, mode and rule come from fixed sets, and kind
// and operation are mapped to "other" when the API server sends something the webhook was
// not registered for, so a caller cannot grow the series without limit.
package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/privateguard/privateguard/pkg/backgroundaudit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// The two admission webhooks, as the webhook label names them.
const (
	WebhookMutate   = "mutate"
	WebhookValidate = "validate"
)

// Results of an admission request, as the result label names them. One request has one
// result, the first that applies in this order: error, denied, patched, warned, allowed.
const (
	// ResultError: the request could not be judged (bad input, internal error).
	ResultError = "error"
	// ResultDenied: an enforced rule denied the object.
	ResultDenied = "denied"
	// ResultPatched: the mutating webhook returned a patch.
	ResultPatched = "patched"
	// ResultWarned: allowed, with warnings from rules in audit mode.
	ResultWarned = "warned"
	// ResultAllowed: allowed with nothing to say.
	ResultAllowed = "allowed"
)

// Results of a policy reload, as the result label names them.
const (
	ReloadSuccess = "success"
	ReloadError   = "error"
)

// OtherLabel stands for a kind or operation outside the known set.
const OtherLabel = "other"

var (
	// AdmissionRequests counts admission requests by webhook, kind, operation and result.
	AdmissionRequests = counterVec("privateguard_admission_requests_total",
		"Admission requests answered, by webhook (mutate, validate), kind, operation and result (allowed, warned, patched, denied, error).",
		"webhook", "kind", "operation", "result")

	// AdmissionDuration is the time spent judging one admission request, decoding
	// included, by webhook.
	AdmissionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "privateguard_admission_duration_seconds",
		Help: "Time to answer one admission request, by webhook.",
		// The engine answers in microseconds; the tail is a service-account GET on a
		// cache miss, bounded by the API server's webhook timeout (10s by default).
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
	}, []string{"webhook"})

	// Violations counts violations found by the validating webhook, by rule and mode
	// (enforce: denied; audit: warned).
	Violations = counterVec("privateguard_violations_total",
		"Violations found by the validating webhook, by rule and mode (enforce: denied, audit: allowed with a warning).",
		"rule", "mode")

	// Mutations counts changes applied by the mutating webhook, by rule.
	Mutations = counterVec("privateguard_mutations_total",
		"Changes applied by the mutating webhook (one per image rewritten, variable or argument added), by rule.",
		"rule")

	// AuditedMutations counts changes the mutating webhook would have applied if the rule
	// were enforced, by rule: what switching an audit rule to enforce would change.
	AuditedMutations = counterVec("privateguard_audited_mutations_total",
		"Changes the mutating webhook would apply if the rule were in enforce mode (the rule is in audit mode), by rule.",
		"rule")

	// Exempted counts violations an exception of the policy waived, by rule and
	// exception. Exception names come from the policy file, so the series are bounded by
	// it.
	Exempted = counterVec("privateguard_exempted_total",
		"Violations waived by a policy exception (allowed, without a warning), by rule and exception.",
		"rule", "exception")

	// ConfigReloads counts reloads of the policy file, by result (success, error).
	ConfigReloads = counterVec("privateguard_config_reloads_total",
		"Reloads of the policy file after it changed, by result (success: now in force; error: rejected, the last good policy stays).",
		"result")

	// IngressClassLookupErrors counts IngressClass lookups that failed; the Ingress is
	// then judged by its class name.
	IngressClassLookupErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "privateguard_ingress_class_lookup_errors_total",
		Help: "IngressClass and IngressClassParams lookups that failed; such Ingresses are judged by their class name (alb counts).",
	})

	// ServiceAccountLookupErrors counts service-account lookups that failed (not
	// "not found": an error). The pod is then treated as IRSA unknown.
	ServiceAccountLookupErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "privateguard_service_account_lookup_errors_total",
		Help: "Service-account lookups that failed; such pods get the regional STS endpoint injected and are not denied for it.",
	})

	// RequestsRefused counts admission requests refused before their body was read, by
	// webhook and reason (too_large: the announced body is over the cap; busy: no room
	// in flight within the queue wait).
	RequestsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "privateguard_admission_requests_refused_total",
		Help: "Admission requests refused before their body was read, by webhook and reason (too_large, busy).",
	}, []string{"webhook", "reason"})
)

// The serving certificate and the background audit.
var (
	// CertificateExpiry is the NotAfter of the serving certificate in use, set when it is
	// loaded and at each rotation.
	CertificateExpiry = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "privateguard_certificate_expiry_timestamp_seconds",
		Help: "Expiry (NotAfter) of the serving certificate in use, as a Unix timestamp.",
	})

	// BackgroundAuditDuration is how long the last background audit pass took.
	BackgroundAuditDuration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "privateguard_background_audit_duration_seconds",
		Help: "Duration of the last background audit pass of this replica, failed or not.",
	})

	// BackgroundAuditLastSuccess is when the last successful pass ended. Only replicas
	// that ran a pass have it: alert on its max across replicas.
	BackgroundAuditLastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "privateguard_background_audit_last_success_timestamp_seconds",
		Help: "End of the last successful background audit pass of this replica, as a Unix timestamp.",
	})

	// BackgroundAuditRuns counts passes by result (success, error).
	BackgroundAuditRuns = counterVec("privateguard_background_audit_runs_total",
		"Background audit passes of this replica, by result (success: the Reports are written; error: they may be stale).",
		"result")

	// BackgroundAuditResults are the findings of the last pass by rule and result (fail,
	// warn, skip), those left out of Reports by the cap included. Only the replica
	// holding the Lease has them.
	BackgroundAuditResults = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "privateguard_background_audit_results",
		Help: "Findings of the last background audit pass by rule and result (fail, warn, skip); only on the replica running the audit.",
	}, []string{"rule", "result"})

	// BackgroundAuditNamespaceResults are the results of the last pass's Reports by the
	// Report's namespace and result. Namespaces are the cluster's, so the series are
	// bounded by them; only namespaces with findings have series. The label is not
	// "namespace", which Prometheus gives the scraped pod's namespace.
	BackgroundAuditNamespaceResults = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "privateguard_background_audit_namespace_results",
		Help: "Results in each namespace's Report after the last background audit pass, by the Report's namespace (report_namespace) and result (fail, warn, skip).",
	}, []string{"report_namespace", "result"})
)

// Results of a background audit pass, as BackgroundAuditRuns' result label names them.
const (
	AuditSuccess = "success"
	AuditError   = "error"
)

// BackgroundAuditRecorder records the background audit's passes in the metrics above.
type BackgroundAuditRecorder struct{}

var _ backgroundaudit.Recorder = BackgroundAuditRecorder{}

// ObservePass sets the metrics of a pass.
func (BackgroundAuditRecorder) ObservePass(p backgroundaudit.Pass) {
	BackgroundAuditDuration.Set(p.Duration.Seconds())
	if p.Err != nil {
		BackgroundAuditRuns.WithLabelValues(AuditError).Inc()
		return
	}
	BackgroundAuditRuns.WithLabelValues(AuditSuccess).Inc()
	BackgroundAuditLastSuccess.Set(float64(p.Start.Add(p.Duration).UnixMilli()) / 1000)
	BackgroundAuditResults.Reset()
	for k, n := range p.Results {
		BackgroundAuditResults.WithLabelValues(k.Rule, k.Result).Set(float64(n))
	}
	BackgroundAuditNamespaceResults.Reset()
	for k, n := range p.NamespaceResults {
		BackgroundAuditNamespaceResults.WithLabelValues(k.Namespace, k.Result).Set(float64(n))
	}
}

// ObserveLeading drops the findings when this replica no longer runs the audit: the
// replica that now does reports them.
func (BackgroundAuditRecorder) ObserveLeading(leading bool) {
	if !leading {
		BackgroundAuditResults.Reset()
		BackgroundAuditNamespaceResults.Reset()
	}
}

// Collectors are privateguard's own metrics, for tests that check that dashboards and
// alerts name metrics that exist.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		AdmissionRequests, AdmissionDuration, Violations, Mutations, AuditedMutations,
		ConfigReloads, ServiceAccountLookupErrors, IngressClassLookupErrors, Exempted, RequestsRefused,
		CertificateExpiry, BackgroundAuditDuration, BackgroundAuditLastSuccess, BackgroundAuditRuns,
		BackgroundAuditResults, BackgroundAuditNamespaceResults,
	}
}

// Reasons of RequestsRefused.
const (
	RefusedTooLarge = "too_large"
	RefusedBusy     = "busy"
)

// counterVec is a counter of privateguard's with its labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// mutatingRules are the rules that can produce changes.
var mutatingRules = []policy.RuleID{
	policy.RuleImageRewrite,
	policy.RuleSTSRegionalEndpoint,
	policy.RuleClusterAutoscalerStaticInstanceList,
	policy.RuleLBControllerWAFShield,
}

func init() {
	crmetrics.Registry.MustRegister(Collectors()...)
	// The process and Go runtime metrics (process_resident_memory_bytes, go_memstats_*):
	// controller-runtime registers them only with its controller package, which the
	// server does not use.
	for _, c := range []prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	} {
		if err := crmetrics.Registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				panic(err)
			}
		}
	}
	// Start the bounded series at zero, so that rate() and alerts see them before the
	// first event instead of a missing series.
	for _, rule := range policy.Rules {
		for _, mode := range []policy.Mode{policy.ModeEnforce, policy.ModeAudit} {
			Violations.WithLabelValues(string(rule), string(mode))
		}
	}
	for _, rule := range mutatingRules {
		Mutations.WithLabelValues(string(rule))
		AuditedMutations.WithLabelValues(string(rule))
	}
	ConfigReloads.WithLabelValues(ReloadSuccess)
	ConfigReloads.WithLabelValues(ReloadError)
	BackgroundAuditRuns.WithLabelValues(AuditSuccess)
	BackgroundAuditRuns.WithLabelValues(AuditError)
	AdmissionDuration.WithLabelValues(WebhookMutate)
	AdmissionDuration.WithLabelValues(WebhookValidate)
}

// knownKinds are the kinds the webhooks are registered for: those of the engine's kinds
// table that admission judges.
var knownKinds = func() map[string]bool {
	m := map[string]bool{}
	for i := range policy.Kinds {
		if k := &policy.Kinds[i]; k.Validated() {
			m[k.GVK.Kind] = true
		}
	}
	return m
}()

// KindLabel is kind as a label value: itself if known, else OtherLabel.
func KindLabel(kind string) string {
	if knownKinds[kind] {
		return kind
	}
	return OtherLabel
}

// OperationLabel is an admission operation as a label value: itself if known, else
// OtherLabel.
func OperationLabel(op string) string {
	switch op {
	case "CREATE", "UPDATE", "DELETE", "CONNECT":
		return op
	}
	return OtherLabel
}
