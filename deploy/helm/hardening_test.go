package helm_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The chart's side of SPEC section 5's critical-path hardening: the webhook's pods are
// scheduled first, drain before they stop, roll without losing capacity, stay inside
// their memory, and can be fenced by a NetworkPolicy.

// servingDeployment decodes the release's Deployment.
func servingDeployment(t *testing.T, r *renderedChart) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	r.decode(t, "Deployment", "privateguard", &d)
	return &d
}

// arg is the value of --name=value in args.
func arg(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestPodsRunWithTheClusterCriticalPriority(t *testing.T) {
	if got := servingDeployment(t, mustRender(t, defaultRelease, withRegion(""))).Spec.Template.Spec.PriorityClassName; got != "system-cluster-critical" {
		t.Errorf("priorityClassName = %q by default, want system-cluster-critical", got)
	}
	if got := servingDeployment(t, mustRender(t, defaultRelease, withRegion(`priorityClassName: ""`+"\n"))).Spec.Template.Spec.PriorityClassName; got != "" {
		t.Errorf(`priorityClassName = %q with "", want none`, got)
	}
}

func TestGracePeriodCoversTheShutdownDelay(t *testing.T) {
	for _, tt := range []struct {
		name      string
		values    string
		wantDelay string
		wantGrace int64
	}{
		{name: "the default delay of 10s gets 30s", wantDelay: "10s", wantGrace: 30},
		{name: "a longer delay gets a longer grace period", values: "server:\n  shutdownDelaySeconds: 40\n", wantDelay: "40s", wantGrace: 60},
		{name: "no delay still leaves the in-flight requests their 15s", values: "server:\n  shutdownDelaySeconds: 0\n", wantDelay: "0s", wantGrace: 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pod := servingDeployment(t, mustRender(t, defaultRelease, withRegion(tt.values))).Spec.Template.Spec
			delay, ok := arg(pod.Containers[0].Args, "shutdown-delay")
			if !ok || delay != tt.wantDelay {
				t.Errorf("--shutdown-delay=%q (given %v), want %s", delay, ok, tt.wantDelay)
			}
			if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds != tt.wantGrace {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d: the delay plus 15s for in-flight requests plus 5s", pod.TerminationGracePeriodSeconds, tt.wantGrace)
			}
		})
	}
}

func TestRolloutNeverDropsAReadyReplica(t *testing.T) {
	d := servingDeployment(t, mustRender(t, defaultRelease, withRegion("")))
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable == nil || *ru.MaxUnavailable != intstr.FromInt32(0) {
		t.Errorf("strategy = %+v, want a rolling update with maxUnavailable 0", d.Spec.Strategy)
	}
}

func TestGOMEMLIMITIsSixtyPercentOfTheMemoryLimit(t *testing.T) {
	for _, tt := range []struct {
		name, values, want string
	}{
		{name: "the default 256Mi limit", want: "153MiB"},
		{name: "a limit in Gi", values: "resources:\n  limits:\n    memory: 1Gi\n", want: "614MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := servingDeployment(t, mustRender(t, defaultRelease, withRegion(tt.values))).Spec.Template.Spec.Containers[0]
			var got string
			for _, e := range c.Env {
				if e.Name == "GOMEMLIMIT" {
					got = e.Value
				}
			}
			if got != tt.want {
				t.Fatalf("GOMEMLIMIT = %q, want %q", got, tt.want)
			}
			// The soft limit must leave the 30% of headroom SPEC section 5 promises.
			soft := resource.MustParse(strings.TrimSuffix(got, "B"))
			if limit := c.Resources.Limits[corev1.ResourceMemory]; soft.Value()*10 > limit.Value()*7 {
				t.Errorf("GOMEMLIMIT %s is over 70%% of the limit %s", got, limit.String())
			}
		})
	}
	t.Run("a limit the chart cannot take 60% of is refused with a message", func(t *testing.T) {
		_, err := renderChart(defaultRelease, values(t, withRegion("resources:\n  limits:\n    memory: 500M\n")))
		if err == nil || !strings.Contains(err.Error(), "Mi or Gi") {
			t.Errorf("render error %v, want one asking for Mi or Gi", err)
		}
	})
	t.Run("no memory limit, no GOMEMLIMIT", func(t *testing.T) {
		c := servingDeployment(t, mustRender(t, defaultRelease, withRegion("resources: {limits: null}\n"))).Spec.Template.Spec.Containers[0]
		if len(c.Env) != 0 {
			t.Errorf("env = %v, want none", c.Env)
		}
	})
}

func TestNetworkPolicy(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		if r := mustRender(t, defaultRelease, withRegion("")); r.has("NetworkPolicy", "privateguard") {
			t.Error("a NetworkPolicy is rendered by default")
		}
	})
	t.Run("refused without the API server's CIDRs: the fail-closed webhook would be cut off", func(t *testing.T) {
		_, err := renderChart(defaultRelease, values(t, withRegion("networkPolicy:\n  enabled: true\n")))
		if err == nil || !strings.Contains(err.Error(), "webhookFrom") {
			t.Errorf("render error %v, want one naming networkPolicy.webhookFrom", err)
		}
	})
	t.Run("the webhook port from the CIDRs, metrics from the namespaces, probes from anywhere", func(t *testing.T) {
		r := mustRender(t, defaultRelease, withRegion(`networkPolicy:
  enabled: true
  webhookFrom: [10.0.0.0/16, 10.1.0.0/16]
  metricsFrom: [monitoring]
`))
		var np networkingv1.NetworkPolicy
		r.decode(t, "NetworkPolicy", "privateguard", &np)
		if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == "" {
			t.Errorf("podSelector %v does not select the webhook's pods", np.Spec.PodSelector.MatchLabels)
		}
		if len(np.Spec.PolicyTypes) != 1 || np.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
			t.Errorf("policyTypes %v, want Ingress only (the lookups need the API server)", np.Spec.PolicyTypes)
		}
		byPort := map[string]networkingv1.NetworkPolicyIngressRule{}
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				byPort[p.Port.String()] = rule
			}
		}
		if len(byPort) != 3 {
			t.Fatalf("ingress rules for ports %v, want webhook, metrics and health", byPort)
		}
		var cidrs []string
		for _, peer := range byPort["webhook"].From {
			if peer.IPBlock == nil {
				t.Errorf("the webhook port is open to %+v, want CIDRs only", peer)
				continue
			}
			cidrs = append(cidrs, peer.IPBlock.CIDR)
		}
		if strings.Join(cidrs, ",") != "10.0.0.0/16,10.1.0.0/16" {
			t.Errorf("webhook port open to %v, want the two CIDRs", cidrs)
		}
		metrics := byPort["metrics"].From
		if len(metrics) != 1 || metrics[0].NamespaceSelector == nil || metrics[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" || metrics[0].PodSelector != nil || metrics[0].IPBlock != nil {
			t.Errorf("metrics port open to %+v, want the monitoring namespace only", metrics)
		}
		if len(byPort["health"].From) != 0 {
			t.Errorf("health port open to %+v only, want anywhere: the kubelet probes from the node", byPort["health"].From)
		}
	})
	t.Run("without metricsFrom the metrics port stays closed", func(t *testing.T) {
		r := mustRender(t, defaultRelease, withRegion("networkPolicy:\n  enabled: true\n  webhookFrom: [10.0.0.0/16]\n"))
		var np networkingv1.NetworkPolicy
		r.decode(t, "NetworkPolicy", "privateguard", &np)
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port.String() == "metrics" {
					t.Errorf("metrics port open to %+v", rule.From)
				}
			}
		}
	})
}
