package helm_test

import (
	"encoding/base64"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// certificate mirrors the fields of cert-manager.io/v1 Certificate that the chart sets.
type certificate struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		IsCA        bool     `json:"isCA"`
		CommonName  string   `json:"commonName"`
		SecretName  string   `json:"secretName"`
		Duration    string   `json:"duration"`
		RenewBefore string   `json:"renewBefore"`
		DNSNames    []string `json:"dnsNames"`
		Usages      []string `json:"usages"`
		PrivateKey  struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy"`
		} `json:"privateKey"`
		IssuerRef struct {
			Group string `json:"group"`
			Kind  string `json:"kind"`
			Name  string `json:"name"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// issuer mirrors the fields of cert-manager.io/v1 Issuer that the chart sets.
type issuer struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		SelfSigned *struct{} `json:"selfSigned"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca"`
	} `json:"spec"`
}

// serviceMonitor mirrors the fields of monitoring.coreos.com/v1 ServiceMonitor that the chart sets.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Scheme        string `json:"scheme"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// webhook is what the mutating and the validating webhook have in common.
type webhook struct {
	Name                    string
	ClientConfig            admissionregistrationv1.WebhookClientConfig
	Rules                   []admissionregistrationv1.RuleWithOperations
	FailurePolicy           *admissionregistrationv1.FailurePolicyType
	MatchPolicy             *admissionregistrationv1.MatchPolicyType
	NamespaceSelector       *metav1.LabelSelector
	ObjectSelector          *metav1.LabelSelector
	SideEffects             *admissionregistrationv1.SideEffectClass
	TimeoutSeconds          *int32
	AdmissionReviewVersions []string
	MatchConditions         []admissionregistrationv1.MatchCondition
}

// webhookConfigurations decodes the chart's two webhook configurations.
func webhookConfigurations(t *testing.T, r *renderedChart) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	t.Helper()
	mutating, validating := r.ofKind("MutatingWebhookConfiguration"), r.ofKind("ValidatingWebhookConfiguration")
	if len(mutating) != 1 || len(validating) != 1 {
		t.Fatalf("chart renders mutating %v and validating %v webhook configurations, want one of each", mutating, validating)
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.decode(t, "MutatingWebhookConfiguration", mutating[0], &m)
	r.decode(t, "ValidatingWebhookConfiguration", validating[0], &v)
	if len(m.Webhooks) != 1 || len(v.Webhooks) != 1 {
		t.Fatalf("got %d mutating and %d validating webhooks, want one of each", len(m.Webhooks), len(v.Webhooks))
	}
	return &m, &v
}

// commonWebhooks returns the single webhook of each configuration in their common form.
func commonWebhooks(t *testing.T, r *renderedChart) (mutating, validating webhook) {
	t.Helper()
	m, v := webhookConfigurations(t, r)
	mw, vw := m.Webhooks[0], v.Webhooks[0]
	mutating = webhook{mw.Name, mw.ClientConfig, mw.Rules, mw.FailurePolicy, mw.MatchPolicy, mw.NamespaceSelector,
		mw.ObjectSelector, mw.SideEffects, mw.TimeoutSeconds, mw.AdmissionReviewVersions, mw.MatchConditions}
	validating = webhook{vw.Name, vw.ClientConfig, vw.Rules, vw.FailurePolicy, vw.MatchPolicy, vw.NamespaceSelector,
		vw.ObjectSelector, vw.SideEffects, vw.TimeoutSeconds, vw.AdmissionReviewVersions, vw.MatchConditions}
	return mutating, validating
}

func deployment(t *testing.T, r *renderedChart) *appsv1.Deployment {
	t.Helper()
	names := r.ofKind("Deployment")
	if len(names) != 1 {
		t.Fatalf("chart renders deployments %v, want exactly one", names)
	}
	var d appsv1.Deployment
	r.decode(t, "Deployment", names[0], &d)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment has %d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	return &d
}

// flagValue returns the value of --name=value in args, and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q (ports %+v)", c.Name, name, c.Ports)
	return 0
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

func volume(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("pod spec has no volume %q", name)
	return corev1.Volume{}
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

// mustDuration parses a cert-manager duration (Go duration syntax).
func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

// TestDefaultInstallRendersExactlyTheseObjects pins the object list of
// `helm install privateguard deploy/helm/privateguard -n privateguard --set policy.region=...`.
func TestDefaultInstallRendersExactlyTheseObjects(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	want := []string{
		"Certificate/privateguard-ca",
		"Certificate/privateguard-serving",
		"ClusterRole/privateguard",
		"ClusterRoleBinding/privateguard",
		"ConfigMap/privateguard-policy",
		"Deployment/privateguard",
		"Issuer/privateguard-ca",
		"Issuer/privateguard-selfsigned",
		"MutatingWebhookConfiguration/privateguard",
		"PodDisruptionBudget/privateguard",
		"Service/privateguard",
		"ServiceAccount/privateguard",
		"ValidatingWebhookConfiguration/privateguard",
	}
	if diff := cmp.Diff(want, r.keys()); diff != "" {
		t.Errorf("rendered objects (-want +got):\n%s", diff)
	}
}

// TestUninstallLeavesNoWebhookConfigurationBehind: every object is a plain release
// resource, so `helm uninstall` deletes it; nothing is a hook (hooks are not deleted with
// the release) and nothing is kept by resource policy.
func TestUninstallLeavesNoWebhookConfigurationBehind(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	if len(r.hooks) != 0 {
		t.Errorf("chart renders hooks %v; hook resources outlive `helm uninstall`", r.hooks)
	}
	for _, key := range r.keys() {
		kind, name, _ := strings.Cut(key, "/")
		obj := r.metadata(t, kind, name)
		for annotation := range obj.Annotations {
			if strings.HasPrefix(annotation, "helm.sh/hook") || annotation == "helm.sh/resource-policy" {
				t.Errorf("%s carries %s: it would not be removed with the release", key, annotation)
			}
		}
	}
	m, v := webhookConfigurations(t, r)
	for _, meta := range []metav1.ObjectMeta{m.ObjectMeta, v.ObjectMeta} {
		if meta.Labels["app.kubernetes.io/managed-by"] != "Helm" || meta.Labels["app.kubernetes.io/instance"] != "privateguard" {
			t.Errorf("webhook configuration %s is not labelled as part of the release: %v", meta.Name, meta.Labels)
		}
	}
}

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
	}
	if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}

	t.Run("the Go runtime knows the container's memory limit", func(t *testing.T) {
		want := []corev1.EnvVar{{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{
			ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"},
		}}}
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
		if pod.PriorityClassName != "" {
			t.Errorf("priorityClassName %q set by default", pod.PriorityClassName)
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

func TestServiceSendsTheAPIServerToTheWebhookPort(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	var svc corev1.Service
	r.decode(t, "Service", "privateguard", &svc)
	c := deployment(t, r).Spec.Template.Spec.Containers[0]
	ports := map[string]corev1.ServicePort{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p
	}
	if p := ports["https"]; p.Port != 443 || p.TargetPort != intstr.FromString("webhook") {
		t.Errorf("https port = %+v, want 443 to the container port named webhook", p)
	}
	if p := ports["metrics"]; p.TargetPort != intstr.FromString("metrics") || p.Port != containerPort(t, c, "metrics") {
		t.Errorf("metrics port = %+v, want the container's metrics port", p)
	}
	if svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service type %s, want ClusterIP", svc.Spec.Type)
	}
}

func TestRBACOnlyReadsServiceAccounts(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	var role rbacv1.ClusterRole
	r.decode(t, "ClusterRole", "privateguard", &role)
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}}}
	if diff := cmp.Diff(want, role.Rules); diff != "" {
		t.Errorf("ClusterRole rules (-want +got):\n%s", diff)
	}
	if len(r.ofKind("Role")) != 0 || len(r.ofKind("RoleBinding")) != 0 {
		t.Errorf("chart renders extra namespaced RBAC: %v %v", r.ofKind("Role"), r.ofKind("RoleBinding"))
	}

	var binding rbacv1.ClusterRoleBinding
	r.decode(t, "ClusterRoleBinding", "privateguard", &binding)
	if binding.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "privateguard"}) {
		t.Errorf("roleRef = %+v, want ClusterRole privateguard", binding.RoleRef)
	}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "privateguard", Namespace: "privateguard"}}
	if diff := cmp.Diff(wantSubjects, binding.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

// Rules of SPEC section 4: pods (and kubectl debug's ephemeral containers) are mutated and
// validated; workloads and Ingresses are validated only.
var (
	wantMutatingRules = []admissionregistrationv1.RuleWithOperations{
		rule([]string{""}, "pods", "pods/ephemeralcontainers"),
	}
	wantValidatingRules = []admissionregistrationv1.RuleWithOperations{
		rule([]string{""}, "pods", "pods/ephemeralcontainers", "replicationcontrollers"),
		rule([]string{"apps"}, "deployments", "statefulsets", "daemonsets", "replicasets"),
		rule([]string{"batch"}, "jobs", "cronjobs"),
		rule([]string{"networking.k8s.io"}, "ingresses"),
	}
)

func rule(groups []string, resources ...string) admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.NamespacedScope
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups:   groups,
			APIVersions: []string{"v1"},
			Resources:   resources,
			Scope:       &scope,
		},
	}
}

func excludedNamespaces(t *testing.T, w webhook) []string {
	t.Helper()
	sel := w.NamespaceSelector
	if sel == nil || len(sel.MatchLabels) != 0 || len(sel.MatchExpressions) != 1 {
		t.Fatalf("webhook %s namespaceSelector = %+v, want one matchExpression", w.Name, sel)
	}
	e := sel.MatchExpressions[0]
	if e.Key != corev1.LabelMetadataName || e.Operator != metav1.LabelSelectorOpNotIn {
		t.Fatalf("webhook %s namespaceSelector expression %+v, want %s NotIn", w.Name, e, corev1.LabelMetadataName)
	}
	return e.Values
}

func TestWebhookConfigurations(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	m, v := webhookConfigurations(t, r)
	mutating, validating := commonWebhooks(t, r)

	t.Run("they are named as the README's break-glass commands say", func(t *testing.T) {
		if m.Name != "privateguard" || v.Name != "privateguard" {
			t.Errorf("names %q and %q, want privateguard", m.Name, v.Name)
		}
		if mutating.Name != "mutate.privateguard.io" || validating.Name != "validate.privateguard.io" {
			t.Errorf("webhook names %q and %q", mutating.Name, validating.Name)
		}
	})

	t.Run("rules cover the kinds and operations of SPEC section 4", func(t *testing.T) {
		if diff := cmp.Diff(wantMutatingRules, mutating.Rules); diff != "" {
			t.Errorf("mutating rules (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantValidatingRules, validating.Rules); diff != "" {
			t.Errorf("validating rules (-want +got):\n%s", diff)
		}
	})

	t.Run("the API server calls the chart's Service on the paths of SPEC section 4", func(t *testing.T) {
		var svc corev1.Service
		r.decode(t, "Service", "privateguard", &svc)
		for w, path := range map[*webhook]string{&mutating: "/mutate", &validating: "/validate"} {
			s := w.ClientConfig.Service
			if s == nil || s.Name != svc.Name || s.Namespace != "privateguard" || s.Path == nil || *s.Path != path {
				t.Errorf("%s clientConfig.service = %+v, want %s/%s%s", w.Name, s, "privateguard", svc.Name, path)
				continue
			}
			if s.Port == nil || *s.Port != svc.Spec.Ports[0].Port {
				t.Errorf("%s calls port %v, the Service's https port is %d", w.Name, s.Port, svc.Spec.Ports[0].Port)
			}
			if w.ClientConfig.URL != nil {
				t.Errorf("%s has a URL as well as a service", w.Name)
			}
		}
	})

	t.Run("failure policies: validating fails closed, mutating fails open", func(t *testing.T) {
		if p := validating.FailurePolicy; p == nil || *p != admissionregistrationv1.Fail {
			t.Errorf("validating failurePolicy = %v, want Fail", p)
		}
		if p := mutating.FailurePolicy; p == nil || *p != admissionregistrationv1.Ignore {
			t.Errorf("mutating failurePolicy = %v, want Ignore", p)
		}
	})

	t.Run("reinvocation, side effects, review versions and timeout", func(t *testing.T) {
		if p := m.Webhooks[0].ReinvocationPolicy; p == nil || *p != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("mutating reinvocationPolicy = %v, want IfNeeded", p)
		}
		for _, w := range []webhook{mutating, validating} {
			if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
				t.Errorf("%s sideEffects = %v, want None", w.Name, w.SideEffects)
			}
			if !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
				t.Errorf("%s admissionReviewVersions = %v, want [v1]", w.Name, w.AdmissionReviewVersions)
			}
			if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 10 {
				t.Errorf("%s timeoutSeconds = %v, want 10", w.Name, w.TimeoutSeconds)
			}
			if w.MatchPolicy == nil || *w.MatchPolicy != admissionregistrationv1.Equivalent {
				t.Errorf("%s matchPolicy = %v, want Equivalent", w.Name, w.MatchPolicy)
			}
			if w.ObjectSelector != nil && (len(w.ObjectSelector.MatchLabels) != 0 || len(w.ObjectSelector.MatchExpressions) != 0) {
				t.Errorf("%s has an objectSelector %+v: a label would let any pod skip the policy", w.Name, w.ObjectSelector)
			}
		}
	})

	t.Run("kube-system, kube-node-lease and the release namespace are never sent", func(t *testing.T) {
		want := []string{"kube-system", "kube-node-lease", "privateguard"}
		for _, w := range []webhook{mutating, validating} {
			if diff := cmp.Diff(want, excludedNamespaces(t, w)); diff != "" {
				t.Errorf("%s excluded namespaces (-want +got):\n%s", w.Name, diff)
			}
		}
	})

	t.Run("mirror pods are skipped by a match condition", func(t *testing.T) {
		for _, w := range []webhook{mutating, validating} {
			if len(w.MatchConditions) != 1 || w.MatchConditions[0].Name != "skip-mirror-pods" ||
				!strings.Contains(w.MatchConditions[0].Expression, "kubernetes.io/config.mirror") {
				t.Errorf("%s matchConditions = %+v, want skip-mirror-pods on kubernetes.io/config.mirror", w.Name, w.MatchConditions)
			}
		}
	})

	t.Run("cert-manager injects the CA of the serving certificate into both", func(t *testing.T) {
		for _, meta := range []metav1.ObjectMeta{m.ObjectMeta, v.ObjectMeta} {
			if got := meta.Annotations["cert-manager.io/inject-ca-from"]; got != "privateguard/privateguard-serving" {
				t.Errorf("%s inject-ca-from = %q, want privateguard/privateguard-serving", meta.Name, got)
			}
		}
		if !r.has("Certificate", "privateguard-serving") {
			t.Errorf("the Certificate named by inject-ca-from is not rendered")
		}
		for _, w := range []webhook{mutating, validating} {
			if len(w.ClientConfig.CABundle) != 0 {
				t.Errorf("%s has a caBundle although cert-manager injects it", w.Name)
			}
		}
	})
}

func TestCertManagerIssuesTheServingCertificate(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))

	var selfSigned, caIssuer issuer
	r.decode(t, "Issuer", "privateguard-selfsigned", &selfSigned)
	r.decode(t, "Issuer", "privateguard-ca", &caIssuer)
	var ca, serving certificate
	r.decode(t, "Certificate", "privateguard-ca", &ca)
	r.decode(t, "Certificate", "privateguard-serving", &serving)

	for _, obj := range []metav1.TypeMeta{selfSigned.TypeMeta, caIssuer.TypeMeta, ca.TypeMeta, serving.TypeMeta} {
		if obj.APIVersion != "cert-manager.io/v1" {
			t.Errorf("%s apiVersion %q, want cert-manager.io/v1", obj.Kind, obj.APIVersion)
		}
	}
	for _, meta := range []metav1.ObjectMeta{selfSigned.Metadata, caIssuer.Metadata, ca.Metadata, serving.Metadata} {
		if meta.Namespace != "privateguard" {
			t.Errorf("%s is in namespace %q, want the release namespace", meta.Name, meta.Namespace)
		}
	}

	if selfSigned.Spec.SelfSigned == nil || selfSigned.Spec.CA != nil {
		t.Errorf("privateguard-selfsigned is not a selfSigned Issuer: %+v", selfSigned.Spec)
	}
	if !ca.Spec.IsCA || ca.Spec.IssuerRef.Kind != "Issuer" || ca.Spec.IssuerRef.Name != "privateguard-selfsigned" {
		t.Errorf("CA certificate = %+v, want isCA signed by the self-signed Issuer", ca.Spec)
	}
	if caIssuer.Spec.CA == nil || caIssuer.Spec.CA.SecretName != ca.Spec.SecretName || ca.Spec.SecretName == "" {
		t.Errorf("CA Issuer signs with %+v, the CA certificate is in secret %q", caIssuer.Spec.CA, ca.Spec.SecretName)
	}
	if got := mustDuration(t, ca.Spec.Duration); got < 3*365*24*time.Hour {
		t.Errorf("CA lifetime %s, want a long-lived CA (at least three years)", got)
	}

	if serving.Spec.IsCA || serving.Spec.IssuerRef.Kind != "Issuer" || serving.Spec.IssuerRef.Name != "privateguard-ca" {
		t.Errorf("serving certificate = %+v, want a leaf signed by the CA Issuer", serving.Spec)
	}
	wantDNS := []string{
		"privateguard",
		"privateguard.privateguard",
		"privateguard.privateguard.svc",
		"privateguard.privateguard.svc.cluster.local",
	}
	if diff := cmp.Diff(wantDNS, serving.Spec.DNSNames); diff != "" {
		t.Errorf("serving dnsNames (-want +got):\n%s", diff)
	}
	if !slices.Contains(serving.Spec.Usages, "server auth") {
		t.Errorf("serving usages %v lack server auth", serving.Spec.Usages)
	}
	life, renew := mustDuration(t, serving.Spec.Duration), mustDuration(t, serving.Spec.RenewBefore)
	if renew <= 0 || renew >= life || life >= mustDuration(t, ca.Spec.Duration) {
		t.Errorf("serving lifetime %s renewed %s before expiry, CA lifetime %s", life, renew, ca.Spec.Duration)
	}

	tls := volume(t, deployment(t, r).Spec.Template.Spec, "tls")
	if tls.Secret == nil || tls.Secret.SecretName != serving.Spec.SecretName {
		t.Errorf("the server reads secret %+v, cert-manager writes %q", tls.Secret, serving.Spec.SecretName)
	}
}

func TestNotesTellHowToCheckAndHowToBreakGlass(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	m, v := webhookConfigurations(t, r)
	for _, want := range []string{
		"kubectl -n privateguard rollout status deployment/privateguard",
		"--dry-run=server",
		"denied the request",
		"[image-registry]",
		"privateguard audit --config policy.yaml --cluster",
		"kubectl delete validatingwebhookconfiguration " + v.Name,
		"kubectl delete mutatingwebhookconfiguration " + m.Name,
		"policy.registries.allowed",
	} {
		if !strings.Contains(r.notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, r.notes)
		}
	}
}

// testCABundle is a base64 PEM certificate, as `base64 -w0 ca.crt` prints it.
var testCABundle = base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2FidW5kbGU=\n-----END CERTIFICATE-----\n"))

// TestValueVariations renders representative installs and asserts what each value changes.
func TestValueVariations(t *testing.T) {
	tests := []struct {
		name    string
		release release
		values  string
		check   func(t *testing.T, r *renderedChart)
	}{
		{
			name:    "without cert-manager the user's TLS secret and CA bundle are used",
			release: defaultRelease,
			values: withRegion(`
certManager:
  enabled: false
tls:
  secretName: privateguard-user-tls
  caBundle: ` + testCABundle + `
`),
			check: func(t *testing.T, r *renderedChart) {
				if got := append(r.ofKind("Certificate"), r.ofKind("Issuer")...); len(got) != 0 {
					t.Errorf("cert-manager objects rendered without cert-manager: %v", got)
				}
				m, v := webhookConfigurations(t, r)
				for _, meta := range []metav1.ObjectMeta{m.ObjectMeta, v.ObjectMeta} {
					if _, ok := meta.Annotations["cert-manager.io/inject-ca-from"]; ok {
						t.Errorf("%s still asks cert-manager to inject a CA", meta.Name)
					}
				}
				want, _ := base64.StdEncoding.DecodeString(testCABundle)
				mutating, validating := commonWebhooks(t, r)
				for _, w := range []webhook{mutating, validating} {
					if string(w.ClientConfig.CABundle) != string(want) {
						t.Errorf("%s caBundle = %q, want the user's CA", w.Name, w.ClientConfig.CABundle)
					}
				}
				tls := volume(t, deployment(t, r).Spec.Template.Spec, "tls")
				if tls.Secret == nil || tls.Secret.SecretName != "privateguard-user-tls" {
					t.Errorf("tls volume = %+v, want the user's secret", tls.VolumeSource)
				}
			},
		},
		{
			name:    "audit mode reaches the policy file and the NOTES",
			release: defaultRelease,
			values: `
policy:
  region: us-west-2
  mode: audit
`,
			check: func(t *testing.T, r *renderedChart) {
				p := renderedPolicyOf(t, r, "privateguard-policy")
				if p.Mode != "audit" {
					t.Errorf("policy mode = %q, want audit", p.Mode)
				}
				if !strings.Contains(r.notes, "Warning:") || strings.Contains(r.notes, "denied the request") {
					t.Errorf("NOTES do not describe the audit-mode answer:\n%s", r.notes)
				}
			},
		},
		{
			name:    "mode off stays the string off in policy.yaml, not YAML's false",
			release: defaultRelease,
			values: `
policy:
  region: us-west-2
  mode: "off"
`,
			check: func(t *testing.T, r *renderedChart) {
				if p := renderedPolicyOf(t, r, "privateguard-policy"); p.Mode != "off" {
					t.Errorf("policy mode = %q, want off", p.Mode)
				}
				if !strings.Contains(r.notes, "default mode is off") {
					t.Errorf("NOTES do not say that nothing is enforced:\n%s", r.notes)
				}
			},
		},
		{
			name:    "extra excluded namespaces are added to the fixed ones",
			release: defaultRelease,
			values: withRegion(`
webhook:
  excludeNamespaces: [cert-manager, monitoring, kube-system]
`),
			check: func(t *testing.T, r *renderedChart) {
				want := []string{"kube-system", "kube-node-lease", "privateguard", "cert-manager", "monitoring"}
				mutating, validating := commonWebhooks(t, r)
				for _, w := range []webhook{mutating, validating} {
					if diff := cmp.Diff(want, excludedNamespaces(t, w)); diff != "" {
						t.Errorf("%s excluded namespaces (-want +got):\n%s", w.Name, diff)
					}
				}
			},
		},
		{
			name:    "failure policies and the timeout can be overridden",
			release: defaultRelease,
			values: withRegion(`
webhook:
  failurePolicy:
    validating: Ignore
    mutating: Fail
  timeoutSeconds: 5
`),
			check: func(t *testing.T, r *renderedChart) {
				mutating, validating := commonWebhooks(t, r)
				if p := validating.FailurePolicy; p == nil || *p != admissionregistrationv1.Ignore {
					t.Errorf("validating failurePolicy = %v, want Ignore", p)
				}
				if p := mutating.FailurePolicy; p == nil || *p != admissionregistrationv1.Fail {
					t.Errorf("mutating failurePolicy = %v, want Fail", p)
				}
				for _, w := range []webhook{mutating, validating} {
					if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 5 {
						t.Errorf("%s timeoutSeconds = %v, want 5", w.Name, w.TimeoutSeconds)
					}
				}
			},
		},
		{
			name:    "another release name and namespace flow into every reference",
			release: release{name: "guard", namespace: "security"},
			values:  withRegion(""),
			check: func(t *testing.T, r *renderedChart) {
				m, v := webhookConfigurations(t, r)
				if m.Name != "guard-privateguard" || v.Name != "guard-privateguard" {
					t.Errorf("webhook configurations %q and %q, want guard-privateguard", m.Name, v.Name)
				}
				if got := m.Annotations["cert-manager.io/inject-ca-from"]; got != "security/guard-privateguard-serving" || !r.has("Certificate", "guard-privateguard-serving") {
					t.Errorf("inject-ca-from = %q", got)
				}
				var serving certificate
				r.decode(t, "Certificate", "guard-privateguard-serving", &serving)
				if !slices.Contains(serving.Spec.DNSNames, "guard-privateguard.security.svc") {
					t.Errorf("serving dnsNames %v lack guard-privateguard.security.svc", serving.Spec.DNSNames)
				}
				mutating, _ := commonWebhooks(t, r)
				if s := mutating.ClientConfig.Service; s.Name != "guard-privateguard" || s.Namespace != "security" {
					t.Errorf("clientConfig.service = %+v", s)
				}
				if got := excludedNamespaces(t, mutating); !slices.Contains(got, "security") {
					t.Errorf("release namespace not excluded: %v", got)
				}
				var binding rbacv1.ClusterRoleBinding
				r.decode(t, "ClusterRoleBinding", "guard-privateguard", &binding)
				if binding.Subjects[0].Namespace != "security" {
					t.Errorf("binding subject %+v, want namespace security", binding.Subjects[0])
				}
				if !strings.Contains(r.notes, "kubectl delete validatingwebhookconfiguration guard-privateguard") {
					t.Errorf("NOTES name the wrong webhook configuration:\n%s", r.notes)
				}
			},
		},
		{
			name:    "service-account lookups off: no RBAC and no token",
			release: defaultRelease,
			values: withRegion(`
server:
  serviceAccounts: false
`),
			check: func(t *testing.T, r *renderedChart) {
				if r.has("ClusterRole", "privateguard") || r.has("ClusterRoleBinding", "privateguard") {
					t.Errorf("RBAC rendered although the server makes no Kubernetes connection")
				}
				pod := deployment(t, r).Spec.Template.Spec
				if v, _ := flagValue(pod.Containers[0].Args, "service-accounts"); v != "false" {
					t.Errorf("--service-accounts=%s, want false", v)
				}
				if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
					t.Errorf("service account token still mounted")
				}
			},
		},
		{
			name:    "ServiceMonitor scrapes the metrics port",
			release: defaultRelease,
			values: withRegion(`
metrics:
  serviceMonitor:
    enabled: true
    labels:
      release: prometheus
`),
			check: func(t *testing.T, r *renderedChart) {
				var sm serviceMonitor
				r.decode(t, "ServiceMonitor", "privateguard", &sm)
				if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Labels["release"] != "prometheus" {
					t.Errorf("ServiceMonitor %s labels %v", sm.APIVersion, sm.Metadata.Labels)
				}
				var svc corev1.Service
				r.decode(t, "Service", "privateguard", &svc)
				if len(sm.Spec.Selector.MatchLabels) == 0 {
					t.Errorf("ServiceMonitor selects every Service")
				}
				for k, v := range sm.Spec.Selector.MatchLabels {
					if svc.Labels[k] != v {
						t.Errorf("ServiceMonitor selects %s=%s, the Service is labelled %v", k, v, svc.Labels)
					}
				}
				if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
					t.Errorf("endpoints = %+v, want port metrics path /metrics", sm.Spec.Endpoints)
				}
				if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{"privateguard"}) {
					t.Errorf("namespaceSelector = %v", sm.Spec.NamespaceSelector.MatchNames)
				}
			},
		},
		{
			name:    "priority class, image digest, replicas and minAvailable",
			release: defaultRelease,
			values: withRegion(`
priorityClassName: system-cluster-critical
replicaCount: 5
image:
  repository: 111122223333.dkr.ecr.us-west-2.amazonaws.com/privateguard
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
podDisruptionBudget:
  minAvailable: 3
`),
			check: func(t *testing.T, r *renderedChart) {
				d := deployment(t, r)
				if d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" {
					t.Errorf("priorityClassName = %q", d.Spec.Template.Spec.PriorityClassName)
				}
				if *d.Spec.Replicas != 5 {
					t.Errorf("replicas = %d, want 5", *d.Spec.Replicas)
				}
				want := "111122223333.dkr.ecr.us-west-2.amazonaws.com/privateguard@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
				if got := d.Spec.Template.Spec.Containers[0].Image; got != want {
					t.Errorf("image = %q, want %q", got, want)
				}
				var pdb policyv1.PodDisruptionBudget
				r.decode(t, "PodDisruptionBudget", "privateguard", &pdb)
				if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 3 || pdb.Spec.MaxUnavailable != nil {
					t.Errorf("PodDisruptionBudget = %+v, want only minAvailable 3", pdb.Spec)
				}
			},
		},
		{
			name:    "the PodDisruptionBudget and topology spread can be turned off",
			release: defaultRelease,
			values: withRegion(`
podDisruptionBudget:
  enabled: false
topologySpread:
  zone:
    enabled: false
  host:
    enabled: false
`),
			check: func(t *testing.T, r *renderedChart) {
				if len(r.ofKind("PodDisruptionBudget")) != 0 {
					t.Errorf("PodDisruptionBudget rendered although disabled")
				}
				if tsc := deployment(t, r).Spec.Template.Spec.TopologySpreadConstraints; len(tsc) != 0 {
					t.Errorf("topology spread %+v rendered although disabled", tsc)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustRender(t, tt.release, tt.values))
		})
	}
}
