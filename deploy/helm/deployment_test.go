package helm_test

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDeploymentRunsServeWithTheSpecFlags(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	d := deployment(t, r)
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", d.Spec.Replicas)
	}
	if c.Image != "ghcr.io/privateguard/privateguard:0.1.0" {
		t.Errorf("image = %q, want the repository at the chart's appVersion", c.Image)
	}
	if len(c.Command) != 0 {
		t.Errorf("command = %v; the image's ENTRYPOINT is the binary and must not be replaced", c.Command)
	}
	wantArgs := []string{
		"serve",
		"--config=/etc/privateguard/policy/policy.yaml",
		"--cert-dir=/etc/privateguard/tls",
		"--port=9443",
		"--metrics-bind-address=:8080",
		"--health-probe-bind-address=:8081",
		"--service-accounts=true",
		"--shutdown-delay=10s",
		"--background-audit-interval=1h",
		"--background-audit-namespace=privateguard",
	}
	if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}

	t.Run("the Go runtime collects well before the container's memory limit", func(t *testing.T) {
		// 60% of the default 256Mi limit: at 100% the runtime would collect only when the
		// container is nearly full (SPEC section 5: under 70% of the limit under abuse).
		want := []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: "153MiB"}}
		if diff := cmp.Diff(want, c.Env); diff != "" {
			t.Errorf("env (-want +got):\n%s", diff)
		}
		noLimit := deployment(t, mustRender(t, defaultRelease, withRegion("resources: {limits: null}\n"))).Spec.Template.Spec.Containers[0]
		if len(noLimit.Env) != 0 {
			t.Errorf("without a memory limit there is nothing to set, env = %v", noLimit.Env)
		}
	})

	t.Run("the ports are the ones the flags bind", func(t *testing.T) {
		port, _ := flagValue(c.Args, "port")
		if got := containerPort(t, c, "webhook"); strconv.Itoa(int(got)) != port {
			t.Errorf("webhook containerPort %d, --port=%s", got, port)
		}
		metrics, _ := flagValue(c.Args, "metrics-bind-address")
		if got := containerPort(t, c, "metrics"); got != bindPort(t, metrics) {
			t.Errorf("metrics containerPort %d, --metrics-bind-address=%s", got, metrics)
		}
		health, _ := flagValue(c.Args, "health-probe-bind-address")
		if got := containerPort(t, c, "health"); got != bindPort(t, health) {
			t.Errorf("health containerPort %d, --health-probe-bind-address=%s", got, health)
		}
	})

	t.Run("probes ask the health port", func(t *testing.T) {
		for name, probe := range map[string]*corev1.Probe{"/readyz": c.ReadinessProbe, "/healthz": c.LivenessProbe} {
			if probe == nil || probe.HTTPGet == nil {
				t.Errorf("no HTTP probe for %s", name)
				continue
			}
			if probe.HTTPGet.Path != name {
				t.Errorf("probe path %q, want %q", probe.HTTPGet.Path, name)
			}
			if probe.HTTPGet.Port != intstr.FromString("health") {
				t.Errorf("probe %s port %v, want the named port health", name, probe.HTTPGet.Port.String())
			}
			if probe.HTTPGet.Scheme != "" && probe.HTTPGet.Scheme != corev1.URISchemeHTTP {
				t.Errorf("probe %s scheme %s, want HTTP", name, probe.HTTPGet.Scheme)
			}
		}
	})

	t.Run("the policy ConfigMap is mounted as a directory so updates reach the server", func(t *testing.T) {
		config, _ := flagValue(c.Args, "config")
		mount := volumeMount(t, c, "policy")
		if mount.SubPath != "" || mount.SubPathExpr != "" {
			t.Errorf("policy is mounted with subPath %q%q: the kubelet never updates subPath mounts", mount.SubPath, mount.SubPathExpr)
		}
		if !mount.ReadOnly {
			t.Errorf("policy mount is writable")
		}
		if config != mount.MountPath+"/policy.yaml" {
			t.Errorf("--config=%s is not policy.yaml in the policy mount %s", config, mount.MountPath)
		}
		v := volume(t, pod, "policy")
		if v.ConfigMap == nil || v.ConfigMap.Name != "privateguard-policy" || len(v.ConfigMap.Items) != 0 {
			t.Errorf("policy volume = %+v, want the whole ConfigMap privateguard-policy", v.VolumeSource)
		}
		if !r.has("ConfigMap", "privateguard-policy") {
			t.Errorf("the mounted ConfigMap is not rendered")
		}
	})

	t.Run("a policy change reloads in place instead of restarting pods", func(t *testing.T) {
		for key := range d.Spec.Template.Annotations {
			if strings.Contains(key, "checksum") {
				t.Errorf("pod template annotation %s would roll every pod on a policy change", key)
			}
		}
	})

	t.Run("the serving certificate directory is the TLS secret", func(t *testing.T) {
		certDir, _ := flagValue(c.Args, "cert-dir")
		mount := volumeMount(t, c, "tls")
		if mount.MountPath != certDir || mount.SubPath != "" || !mount.ReadOnly {
			t.Errorf("tls mount %+v, want read-only %s without subPath", mount, certDir)
		}
		v := volume(t, pod, "tls")
		if v.Secret == nil || v.Secret.SecretName != "privateguard-tls" || len(v.Secret.Items) != 0 {
			t.Errorf("tls volume = %+v, want the whole secret privateguard-tls", v.VolumeSource)
		}
	})

	t.Run("the pod runs under the restricted security profile", func(t *testing.T) {
		psc := pod.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("pod securityContext.runAsNonRoot not true: %+v", psc)
		}
		if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("pod runs as root or an unset user: %+v", psc)
		}
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod seccompProfile not RuntimeDefault: %+v", psc)
		}
		sc := c.SecurityContext
		if sc == nil {
			t.Fatalf("container has no securityContext")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("root filesystem is writable")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("privilege escalation is allowed")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container is privileged")
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("container runAsNonRoot not true")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Errorf("capabilities = %+v, want drop [ALL] and add nothing", sc.Capabilities)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container seccompProfile not RuntimeDefault")
		}
		for _, v := range pod.Volumes {
			if v.HostPath != nil {
				t.Errorf("volume %s is a hostPath", v.Name)
			}
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			t.Errorf("pod shares a host namespace")
		}
	})

	t.Run("resources are requested and memory is capped", func(t *testing.T) {
		req, lim := c.Resources.Requests, c.Resources.Limits
		if req.Cpu().IsZero() || req.Memory().IsZero() {
			t.Errorf("requests = %v, want cpu and memory", req)
		}
		if lim.Memory().IsZero() {
			t.Errorf("limits = %v, want a memory limit", lim)
		}
		if pod.PriorityClassName != "system-cluster-critical" {
			t.Errorf("priorityClassName %q, want system-cluster-critical by default: the validating webhook fails closed", pod.PriorityClassName)
		}
	})

	t.Run("replicas spread across zones and hosts", func(t *testing.T) {
		keys := map[string]corev1.TopologySpreadConstraint{}
		for _, tsc := range pod.TopologySpreadConstraints {
			keys[tsc.TopologyKey] = tsc
			if tsc.LabelSelector == nil || !cmp.Equal(tsc.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
				t.Errorf("spread on %s selects %v, not the webhook's pods %v", tsc.TopologyKey, tsc.LabelSelector, d.Spec.Selector.MatchLabels)
			}
			if tsc.MaxSkew != 1 {
				t.Errorf("spread on %s maxSkew %d, want 1", tsc.TopologyKey, tsc.MaxSkew)
			}
		}
		for _, key := range []string{corev1.LabelTopologyZone, corev1.LabelHostname} {
			if _, ok := keys[key]; !ok {
				t.Errorf("no topology spread constraint on %s", key)
			}
		}
		if len(keys) != 2 {
			t.Errorf("topology spread on %v, want zone and hostname", keys)
		}
	})

	t.Run("the pods are the ones the selector, the Service and the PodDisruptionBudget select", func(t *testing.T) {
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("pod template lacks selector label %s=%s", k, v)
			}
		}
		var svc corev1.Service
		r.decode(t, "Service", "privateguard", &svc)
		if !cmp.Equal(svc.Spec.Selector, d.Spec.Selector.MatchLabels) {
			t.Errorf("service selects %v, deployment %v", svc.Spec.Selector, d.Spec.Selector.MatchLabels)
		}
		var pdb policyv1.PodDisruptionBudget
		r.decode(t, "PodDisruptionBudget", "privateguard", &pdb)
		if pdb.Spec.Selector == nil || !cmp.Equal(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
			t.Errorf("PodDisruptionBudget selects %v, deployment %v", pdb.Spec.Selector, d.Spec.Selector.MatchLabels)
		}
		if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) || pdb.Spec.MinAvailable != nil {
			t.Errorf("PodDisruptionBudget = %+v, want maxUnavailable 1", pdb.Spec)
		}
	})

	t.Run("rolling updates never reduce ready replicas", func(t *testing.T) {
		ru := d.Spec.Strategy.RollingUpdate
		if ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
			t.Errorf("rollingUpdate = %+v, want maxUnavailable 0", ru)
		}
	})

	t.Run("the pod runs as its service account", func(t *testing.T) {
		if pod.ServiceAccountName != "privateguard" || !r.has("ServiceAccount", "privateguard") {
			t.Errorf("serviceAccountName %q is not the rendered ServiceAccount", pod.ServiceAccountName)
		}
		if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
			t.Errorf("the service account token is not mounted; service-account lookups need it")
		}
	})
}

func volumeMount(t *testing.T, c corev1.Container, volume string) corev1.VolumeMount {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m
		}
	}
	t.Fatalf("container %s does not mount volume %q", c.Name, volume)
	return corev1.VolumeMount{}
}

// bindPort is the port of a --*-bind-address value such as ":8081".
func bindPort(t *testing.T, address string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		t.Fatalf("bind address %q: %v", address, err)
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		t.Fatalf("bind address %q: %v", address, err)
	}
	return int32(n)
}
