package policy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Environment variables of IAM roles for service accounts (IRSA).
const (
	envSTSRegionalEndpoints = "AWS_STS_REGIONAL_ENDPOINTS"
	envRegion               = "AWS_REGION"
	envDefaultRegion        = "AWS_DEFAULT_REGION"
	envRoleARN              = "AWS_ROLE_ARN"
	envWebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
	stsRegional             = "regional"
)

// IRSARoleAnnotation on a service account makes its pods IRSA pods.
const IRSARoleAnnotation = "eks.amazonaws.com/role-arn"

// hasWebIdentityEnv reports whether a container already carries the IRSA variables, as the
// EKS pod identity webhook sets them: such a pod is an IRSA pod whatever its service
// account says.
func hasWebIdentityEnv(cs []container) bool {
	for i := range cs {
		c := &cs[i]
		if c.ref.List != EphemeralContainers && c.hasEnv(envRoleARN) && c.hasEnv(envWebIdentityTokenFile) {
			return true
		}
	}
	return false
}

// injectSTS adds AWS_STS_REGIONAL_ENDPOINTS=regional where the container's env lacks it,
// and, with irsa.injectRegion, the region variables where it sets neither. It never
// overwrites a value that is set.
func (e *evaluation) injectSTS(c *container, mode Mode) {
	var add [3]corev1.EnvVar
	n := 0
	if !c.hasEnv(envSTSRegionalEndpoints) {
		add[n] = corev1.EnvVar{Name: envSTSRegionalEndpoints, Value: stsRegional}
		n++
	}
	if e.p.injectRegion && !c.hasEnv(envRegion) && !c.hasEnv(envDefaultRegion) {
		add[n] = corev1.EnvVar{Name: envRegion, Value: e.p.region}
		add[n+1] = corev1.EnvVar{Name: envDefaultRegion, Value: e.p.region}
		n += 2
	}
	if n == 0 {
		return
	}
	envPath := c.path(e.spec).Child("env")
	for _, v := range add[:n] {
		e.addChange(c, RuleSTSRegionalEndpoint, mode, AddEnv, envPath, "", v.Value, v.Name)
	}
	if mode == ModeEnforce {
		c.addEnv(add[:n]...)
	}
}

// checkSTS flags an IRSA container whose AWS_STS_REGIONAL_ENDPOINTS is missing or is
// anything but regional.
func (e *evaluation) checkSTS(c *container, mode Mode) {
	const why = "a private cluster reaches STS only through its regional VPC endpoint, and IRSA credentials fail with the global endpoint"
	v, i := c.lookupEnv(envSTSRegionalEndpoints)
	if v != nil && v.ValueFrom == nil && v.Value == stsRegional {
		return
	}
	envPath := c.path(e.spec).Child("env")
	switch {
	case v == nil:
		e.addViolation(RuleSTSRegionalEndpoint, mode, envPath, "", fmt.Sprintf(
			"container %s (%s) uses IAM roles for service accounts but does not set %s=%s; %s; set it, or let the mutating webhook add it [%s]",
			quote(c.name), envPath, envSTSRegionalEndpoints, stsRegional, why, RuleSTSRegionalEndpoint))
	case v.ValueFrom != nil:
		p := envPath.Index(i).Child("valueFrom")
		e.addViolation(RuleSTSRegionalEndpoint, mode, p, "", fmt.Sprintf(
			"container %s (%s) takes %s from valueFrom, which cannot be checked; %s; set value: %s [%s]",
			quote(c.name), p, envSTSRegionalEndpoints, why, stsRegional, RuleSTSRegionalEndpoint))
	case v.Value != stsRegional:
		p := envPath.Index(i).Child("value")
		e.addViolation(RuleSTSRegionalEndpoint, mode, p, "", fmt.Sprintf(
			"container %s (%s) sets %s=%s; %s; set it to %s [%s]",
			quote(c.name), p, envSTSRegionalEndpoints, quote(v.Value), why, stsRegional, RuleSTSRegionalEndpoint))
	}
}
