package policy

import (
	"encoding/csv"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Environment variables of IAM roles for service accounts (IRSA) and EKS Pod Identity.
const (
	envSTSRegionalEndpoints = "AWS_STS_REGIONAL_ENDPOINTS"
	envRegion               = "AWS_REGION"
	envDefaultRegion        = "AWS_DEFAULT_REGION"
	envRoleARN              = "AWS_ROLE_ARN"
	envWebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envContainerCredentials = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	stsRegional             = "regional"
)

// Annotations the EKS Pod Identity Webhook reads, which sts-regional-endpoint reads the
// same way so that the two webhooks agree on which pods and containers are IRSA.
const (
	// IRSARoleAnnotation on a service account makes its pods IRSA pods when it is not
	// empty.
	IRSARoleAnnotation = "eks.amazonaws.com/role-arn"
	// STSRegionalEndpointsAnnotation on a service account, "false", asks the Pod Identity
	// Webhook for the global STS endpoint: privateguard overrides it, with a warning.
	STSRegionalEndpointsAnnotation = "eks.amazonaws.com/sts-regional-endpoints"
	// SkipContainersAnnotation on a pod lists, comma-separated, the containers neither
	// webhook touches.
	SkipContainersAnnotation = "eks.amazonaws.com/skip-containers"
)

// ServiceAccountFacts are the facts a service account's annotations give: whether it is
// IRSA (a non-empty role ARN, as the Pod Identity Webhook requires) and whether it opts
// out of the regional STS endpoint. Adapters call it on what they looked up.
func ServiceAccountFacts(annotations map[string]string) (irsa, regionalOptOut bool) {
	return annotations[IRSARoleAnnotation] != "", strings.TrimSpace(strings.ToLower(annotations[STSRegionalEndpointsAnnotation])) == "false"
}

// ServiceAccountName is the service account a pod spec runs as, as the API server
// resolves it: spec.serviceAccountName, else the deprecated spec.serviceAccount, else
// default.
func ServiceAccountName(spec *corev1.PodSpec) string {
	switch {
	case spec.ServiceAccountName != "":
		return spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		return spec.DeprecatedServiceAccount
	}
	return "default"
}

// stsFacts is what sts-regional-endpoint knows about one pod before it looks at a
// container.
type stsFacts struct {
	// irsa: the pod is IRSA (its service account, or a container's env, says so).
	irsa bool
	// unknown: the service-account lookup failed; the mutation injects anyway.
	unknown bool
	// optOut: the service account asks for the global endpoint.
	optOut bool
	// skipped names the containers of the skip-containers annotation.
	skipped map[string]bool
	// serviceAccount is the name the pod runs as, for messages.
	serviceAccount string
}

func stsFactsOf(meta *metav1.ObjectMeta, spec *corev1.PodSpec, cs []container, facts Facts) stsFacts {
	f := stsFacts{
		unknown:        facts.ServiceAccountIRSA == IRSAUnknown,
		optOut:         facts.ServiceAccountRegionalOptOut,
		skipped:        skipContainers(meta.Annotations[SkipContainersAnnotation]),
		serviceAccount: ServiceAccountName(spec),
	}
	f.irsa = facts.ServiceAccountIRSA == IRSAYes || f.hasWebIdentityEnv(cs)
	return f
}

// skipContainers parses the skip-containers annotation exactly as the Pod Identity
// Webhook does: one CSV record, names not trimmed; a value that does not parse skips
// nothing.
func skipContainers(value string) map[string]bool {
	if value == "" {
		return nil
	}
	names, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return nil
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

// hasWebIdentityEnv reports whether a container the rule looks at already carries the
// IRSA variables, as the Pod Identity Webhook sets them: such a pod is an IRSA pod
// whatever its service account says.
func (f *stsFacts) hasWebIdentityEnv(cs []container) bool {
	for i := range cs {
		c := &cs[i]
		if c.ref.List != EphemeralContainers && !f.skipped[c.name] && c.hasEnv(envRoleARN) && c.hasEnv(envWebIdentityTokenFile) {
			return true
		}
	}
	return false
}

// looksAt reports whether sts-regional-endpoint looks at c: a judged init or regular
// container, not named in skip-containers, that does not get its credentials from EKS
// Pod Identity instead. The Pod Identity Webhook gives container credentials precedence
// over web identity and then injects no AWS_ROLE_ARN: such a container calls the EKS
// Auth API, not STS.
func (f *stsFacts) looksAt(c *container) bool {
	if !c.judged || c.ref.List == EphemeralContainers || f.skipped[c.name] {
		return false
	}
	return !c.hasEnv(envContainerCredentials) || c.hasEnv(envRoleARN) && c.hasEnv(envWebIdentityTokenFile)
}

// injectSTS adds AWS_STS_REGIONAL_ENDPOINTS=regional where a container's env lacks it,
// and, with irsa.injectRegion, the region variables where it sets neither and takes
// nothing from envFrom (an env entry would silently override what its ConfigMap or
// Secret supplies). It never overwrites a value that is set. A pod whose IRSA is unknown
// is injected as if it were IRSA: the variable is harmless to a pod that never calls STS,
// and an IRSA pod without it cannot get credentials in a private cluster.
func (e *evaluation) injectSTS() {
	mode := e.rules.mode(RuleSTSRegionalEndpoint)
	if mode == ModeOff || !e.sts.irsa && !e.sts.unknown {
		return
	}
	injected := false
	for i := range e.containers {
		c := &e.containers[i]
		if !e.sts.looksAt(c) {
			continue
		}
		var add [3]corev1.EnvVar
		n := 0
		if !c.hasEnv(envSTSRegionalEndpoints) {
			add[n] = corev1.EnvVar{Name: envSTSRegionalEndpoints, Value: stsRegional}
			n++
		}
		if e.p.injectRegion && !c.envFrom && !c.hasEnv(envRegion) && !c.hasEnv(envDefaultRegion) {
			add[n] = corev1.EnvVar{Name: envRegion, Value: e.p.region}
			add[n+1] = corev1.EnvVar{Name: envDefaultRegion, Value: e.p.region}
			n += 2
		}
		if n == 0 {
			continue
		}
		injected = injected || add[0].Name == envSTSRegionalEndpoints
		envPath := c.path(e.spec).Child("env")
		for _, v := range add[:n] {
			e.addChange(c, RuleSTSRegionalEndpoint, mode, AddEnv, envPath, "", v.Value, v.Name)
		}
		if mode == ModeEnforce {
			c.addEnv(add[:n]...)
		}
	}
	if injected && mode == ModeEnforce && e.sts.optOut {
		p := e.spec.Child("serviceAccountName")
		e.addWarning(RuleSTSRegionalEndpoint, p, "", fmt.Sprintf(
			"service account %s (%s) is annotated %s: \"false\", but a private cluster reaches STS only through its regional VPC endpoint: %s=%s is set anyway; remove the annotation [%s]",
			quote(e.sts.serviceAccount), p, STSRegionalEndpointsAnnotation, envSTSRegionalEndpoints, stsRegional, RuleSTSRegionalEndpoint))
	}
}

// checkSTS flags an IRSA container whose AWS_STS_REGIONAL_ENDPOINTS is missing or is
// anything but regional. A pod whose IRSA is unknown is not judged for it.
func (e *evaluation) checkSTS() {
	mode := e.rules.mode(RuleSTSRegionalEndpoint)
	if mode == ModeOff || !e.sts.irsa {
		return
	}
	for i := range e.containers {
		if c := &e.containers[i]; e.sts.looksAt(c) {
			e.checkContainerSTS(c, mode)
		}
	}
}

func (e *evaluation) checkContainerSTS(c *container, mode Mode) {
	const why = "a private cluster reaches STS only through its regional VPC endpoint, and IRSA credentials fail with the global endpoint"
	v, i := c.lookupEnv(envSTSRegionalEndpoints)
	if v != nil && v.ValueFrom == nil && v.Value == stsRegional {
		return
	}
	envPath := c.path(e.spec).Child("env")
	var p *field.Path
	var msg string
	switch {
	case v == nil:
		p, msg = envPath, fmt.Sprintf("container %s (%s) uses IAM roles for service accounts but does not set %s=%s; %s; set it, or let the mutating webhook add it [%s]",
			quote(c.name), envPath, envSTSRegionalEndpoints, stsRegional, why, RuleSTSRegionalEndpoint)
	case v.ValueFrom != nil:
		p = envPath.Index(i).Child("valueFrom")
		msg = fmt.Sprintf("container %s (%s) takes %s from valueFrom, which cannot be checked; %s; set value: %s [%s]",
			quote(c.name), p, envSTSRegionalEndpoints, why, stsRegional, RuleSTSRegionalEndpoint)
	default:
		p = envPath.Index(i).Child("value")
		msg = fmt.Sprintf("container %s (%s) sets %s=%s; %s; set it to %s [%s]",
			quote(c.name), p, envSTSRegionalEndpoints, quote(v.Value), why, stsRegional, RuleSTSRegionalEndpoint)
	}
	e.addViolation(RuleSTSRegionalEndpoint, mode, p, "", msg)
}
