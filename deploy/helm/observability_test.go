package helm_test

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/privateguard/privateguard/pkg/metrics"
)

// prometheusRule mirrors the fields of monitoring.coreos.com/v1 PrometheusRule that the
// chart sets.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// registeredMetrics are the names of the series privateguard exports: each metric of
// pkg/metrics, with a histogram's _bucket, _sum and _count.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for _, c := range metrics.Collectors() {
		descs := make(chan *prometheus.Desc, 16)
		c.Describe(descs)
		close(descs)
		for d := range descs {
			m := fqName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("no name in %s", d)
			}
			names[m[1]] = true
			if _, histogram := c.(*prometheus.HistogramVec); histogram {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					names[m[1]+suffix] = true
				}
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("found only %v in pkg/metrics", names)
	}
	return names
}

// privateguardMetric matches privateguard's metric names in a PromQL expression.
var privateguardMetric = regexp.MustCompile(`\bprivateguard_[a-z0-9_]+`)

func checkMetrics(t *testing.T, where, expr string, known map[string]bool, others ...string) {
	t.Helper()
	found := privateguardMetric.FindAllString(expr, -1)
	for _, name := range found {
		if !known[name] {
			t.Errorf("%s queries %s, which pkg/metrics does not export: %s", where, name, expr)
		}
	}
	if len(found) == 0 && !slices.ContainsFunc(others, func(o string) bool { return strings.Contains(expr, o) }) {
		t.Errorf("%s queries no privateguard metric: %s", where, expr)
	}
}

func TestPrometheusRuleAlertsOnExistingMetrics(t *testing.T) {
	if r := mustRender(t, defaultRelease, withRegion("")); r.has("PrometheusRule", "privateguard") {
		t.Error("the PrometheusRule is rendered by default; it needs prometheus-operator")
	}
	r := mustRender(t, defaultRelease, withRegion("prometheusRule: {enabled: true, labels: {release: kube-prometheus-stack}}\n"))
	var rule prometheusRule
	r.decode(t, "PrometheusRule", "privateguard", &rule)
	if rule.APIVersion != "monitoring.coreos.com/v1" || rule.Metadata.Namespace != "privateguard" || rule.Metadata.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule %s in %s labelled %v", rule.APIVersion, rule.Metadata.Namespace, rule.Metadata.Labels)
	}
	known := registeredMetrics(t)
	alerts := map[string]string{}
	for _, g := range rule.Spec.Groups {
		for _, a := range g.Rules {
			alerts[a.Alert] = a.Expr
			checkMetrics(t, "alert "+a.Alert, a.Expr, known, "kube_deployment_status_replicas_available")
			if !strings.Contains(a.Expr, `namespace="privateguard"`) {
				t.Errorf("alert %s does not select the release namespace: %s", a.Alert, a.Expr)
			}
			if a.Labels["severity"] == "" || a.Annotations["summary"] == "" || !strings.HasPrefix(a.Annotations["runbook"], "README.md#"+strings.ToLower(a.Alert)) {
				t.Errorf("alert %s: labels %v annotations %v, want a severity, a summary and its README runbook", a.Alert, a.Labels, a.Annotations)
			}
		}
	}
	want := []string{
		"PrivateguardAdmissionErrors", "PrivateguardBackgroundAuditFailing", "PrivateguardCertificateExpiringSoon",
		"PrivateguardLookupErrors", "PrivateguardNoReadyReplica", "PrivateguardPolicyReloadFailed",
	}
	if got := slices.Sorted(maps.Keys(alerts)); !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	for alert, wantIn := range map[string][]string{
		"PrivateguardPolicyReloadFailed":      {`privateguard_config_reloads_total{namespace="privateguard", result="error"}`},
		"PrivateguardCertificateExpiringSoon": {"privateguard_certificate_expiry_timestamp_seconds", "7 * 24 * 3600"},
		"PrivateguardLookupErrors":            {"privateguard_service_account_lookup_errors_total", "privateguard_ingress_class_lookup_errors_total"},
		// Three intervals of 1h.
		"PrivateguardBackgroundAuditFailing": {"privateguard_background_audit_last_success_timestamp_seconds", "> 10800"},
	} {
		for _, s := range wantIn {
			if !strings.Contains(alerts[alert], s) {
				t.Errorf("alert %s = %s, want it to contain %s", alert, alerts[alert], s)
			}
		}
	}

	t.Run("no ready-replica alert when the validating webhook fails open; no audit alert without the audit", func(t *testing.T) {
		r := mustRender(t, defaultRelease, withRegion("prometheusRule: {enabled: true}\nwebhook: {failurePolicy: {validating: Ignore}}\nbackgroundAudit: {enabled: false}\n"))
		var rule prometheusRule
		r.decode(t, "PrometheusRule", "privateguard", &rule)
		for _, a := range rule.Spec.Groups[0].Rules {
			if a.Alert == "PrivateguardNoReadyReplica" || a.Alert == "PrivateguardBackgroundAuditFailing" {
				t.Errorf("renders %s", a.Alert)
			}
		}
	})
}

func TestGrafanaDashboardQueriesExistingMetrics(t *testing.T) {
	if r := mustRender(t, defaultRelease, withRegion("")); r.has("ConfigMap", "privateguard-dashboard") {
		t.Error("the dashboard is rendered by default")
	}
	r := mustRender(t, defaultRelease, withRegion("grafana: {dashboard: {enabled: true}}\n"))
	var cm corev1.ConfigMap
	r.decode(t, "ConfigMap", "privateguard-dashboard", &cm)
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v, want grafana_dashboard: \"1\" for the Grafana sidecar", cm.Labels)
	}
	var dashboard struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(cm.Data["privateguard.json"]), &dashboard); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	known := registeredMetrics(t)
	queried := map[string]bool{}
	for _, p := range dashboard.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			checkMetrics(t, "panel "+p.Title, target.Expr, known)
			for _, name := range privateguardMetric.FindAllString(target.Expr, -1) {
				queried[name] = true
			}
		}
	}
	// What SPEC section 7 and the README promise the dashboard shows.
	for _, name := range []string{
		"privateguard_admission_requests_total", "privateguard_admission_duration_seconds_bucket",
		"privateguard_violations_total", "privateguard_mutations_total", "privateguard_config_reloads_total",
		"privateguard_service_account_lookup_errors_total", "privateguard_ingress_class_lookup_errors_total",
		"privateguard_certificate_expiry_timestamp_seconds", "privateguard_background_audit_namespace_results",
	} {
		if !queried[name] {
			t.Errorf("no panel queries %s", name)
		}
	}
}
