package policy

import "fmt"

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
	add := func(name, value string) {
		e.addChange(c, RuleSTSRegionalEndpoint, mode, AddEnv, "", value, name)
		if mode == ModeEnforce {
			c.addEnv(name, value)
		}
	}
	setsRegion := c.hasEnv(envRegion) || c.hasEnv(envDefaultRegion)
	if !c.hasEnv(envSTSRegionalEndpoints) {
		add(envSTSRegionalEndpoints, stsRegional)
	}
	if e.p.injectRegion && !setsRegion {
		add(envRegion, e.p.region)
		add(envDefaultRegion, e.p.region)
	}
}

// checkSTS flags an IRSA container whose AWS_STS_REGIONAL_ENDPOINTS is missing or is
// anything but regional.
func (e *evaluation) checkSTS(c *container, mode Mode) {
	const why = "a private cluster reaches STS only through its regional VPC endpoint, and IRSA credentials fail with the global endpoint"
	i := c.envIndex(envSTSRegionalEndpoints)
	envPath := c.path(e.spec).Child("env")
	switch {
	case i < 0:
		e.addViolation(RuleSTSRegionalEndpoint, mode, envPath, "", fmt.Sprintf(
			"container %s (%s) uses IAM roles for service accounts but does not set %s=%s; %s; set it, or let the mutating webhook add it [%s]",
			quote(c.name), envPath, envSTSRegionalEndpoints, stsRegional, why, RuleSTSRegionalEndpoint))
	case c.env[i].ValueFrom != nil:
		p := envPath.Index(i).Child("valueFrom")
		e.addViolation(RuleSTSRegionalEndpoint, mode, p, "", fmt.Sprintf(
			"container %s (%s) takes %s from valueFrom, which cannot be checked; %s; set value: %s [%s]",
			quote(c.name), p, envSTSRegionalEndpoints, why, stsRegional, RuleSTSRegionalEndpoint))
	case c.env[i].Value != stsRegional:
		p := envPath.Index(i).Child("value")
		e.addViolation(RuleSTSRegionalEndpoint, mode, p, "", fmt.Sprintf(
			"container %s (%s) sets %s=%s; %s; set it to %s [%s]",
			quote(c.name), p, envSTSRegionalEndpoints, quote(c.env[i].Value), why, stsRegional, RuleSTSRegionalEndpoint))
	}
}
