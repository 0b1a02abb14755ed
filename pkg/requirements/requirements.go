package requirements

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// Requirements is what the AWS side of the private cluster must provide.
type Requirements struct {
	// Region is the policy's region.
	Region string `json:"region"`
	// PullThroughCacheRules are the ECR pull-through cache rules the rewrite rules assume,
	// in the policy's order.
	PullThroughCacheRules []CacheRule `json:"pullThroughCacheRules"`
	// VPCEndpoints are the endpoints something needs, in the order of Endpoints.
	VPCEndpoints []EndpointNeed `json:"vpcEndpoints"`
}

// CacheRule is an ECR pull-through cache rule to create.
type CacheRule struct {
	// Field is the rewrite rule that assumes it (rewrite.rules[0]).
	Field string `json:"field"`
	// From and To are the rewrite rule's.
	From string `json:"from"`
	To   string `json:"to"`
	// Upstream is ECR's name of the upstream registry (docker-hub), UpstreamName the
	// registry's name.
	Upstream     string `json:"upstream"`
	UpstreamName string `json:"upstreamName"`
	// Registry is the ECR registry the rule is created in.
	Registry string `json:"registry"`
	// ECRRepositoryPrefix, UpstreamRegistryURL and UpstreamRepositoryPrefix are the
	// rule's settings.
	ECRRepositoryPrefix      string `json:"ecrRepositoryPrefix"`
	UpstreamRegistryURL      string `json:"upstreamRegistryUrl"`
	UpstreamRepositoryPrefix string `json:"upstreamRepositoryPrefix,omitempty"`
	// Credential is none, secret (a Secrets Manager secret named SecretNamePrefix...) or
	// iam-role (an ECR upstream of another account).
	Credential       policy.Credential `json:"credential"`
	SecretNamePrefix string            `json:"secretNamePrefix,omitempty"`
}

// EndpointNeed is a VPC endpoint and what needs it.
type EndpointNeed struct {
	Service     string       `json:"service"`
	ServiceName string       `json:"serviceName"`
	Type        EndpointType `json:"type"`
	Evidence    []Evidence   `json:"evidence"`
}

// Evidence is an object (or a rule of the policy) that needs an endpoint, and why.
type Evidence struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Source is the file the object was read from, "stdin" or "cluster"; Line its line.
	Source string `json:"source"`
	Line   int    `json:"line,omitempty"`
	// Reasons say why, one per finding.
	Reasons []string `json:"reasons"`
}

// Object names the evidence's object: Kind namespace/name.
func (e *Evidence) Object() string {
	if e.Namespace == "" {
		return e.Kind + " " + e.Name
	}
	return e.Kind + " " + e.Namespace + "/" + e.Name
}

// Compute works out the requirements of policy p, its cache rules (from
// policy.PullThroughCacheRules) and resources, read from policySource. Objects without a
// namespace are in defaultNamespace ("default" when empty), as audit reads them.
func Compute(p *policy.Policy, policySource string, rules []policy.CacheRule, resources []audit.Resource, defaultNamespace string) *Requirements {
	if defaultNamespace == "" {
		defaultNamespace = metav1.NamespaceDefault
	}
	c := &collector{p: p, defaultNamespace: defaultNamespace, irsa: map[string]bool{}}
	req := &Requirements{Region: p.Region(), PullThroughCacheRules: []CacheRule{}, VPCEndpoints: []EndpointNeed{}}
	for i := range rules {
		r := &rules[i]
		cr := CacheRule{
			Field: r.Field, From: r.From, To: r.To, Upstream: r.Upstream.ID, UpstreamName: r.Upstream.Name,
			Registry: r.Registry, ECRRepositoryPrefix: r.RepositoryPrefix, UpstreamRegistryURL: r.UpstreamURL,
			UpstreamRepositoryPrefix: r.UpstreamRepositoryPrefix, Credential: r.Credential,
		}
		if r.Credential == policy.CredentialSecret {
			cr.SecretNamePrefix = policy.SecretNamePrefix
			ev := &Evidence{Kind: "Policy", Name: r.Field, Source: policySource}
			ev.Reasons = []string{fmt.Sprintf("the pull-through cache rule of %s reads its %s credential from a Secrets Manager secret", r.From, r.Upstream.Name)}
			c.add(serviceSecretsManager, ev)
		}
		req.PullThroughCacheRules = append(req.PullThroughCacheRules, cr)
	}
	for _, r := range resources {
		if sa, ok := r.Object.(*corev1.ServiceAccount); ok {
			if irsa, _ := policy.ServiceAccountFacts(sa.Annotations); irsa {
				c.irsa[c.namespaceOf(sa)+"/"+sa.Name] = true
			}
		}
	}
	for _, r := range resources {
		c.resource(r)
	}
	for i := range Endpoints {
		e := &Endpoints[i]
		if ev := c.evidence[e.Service]; len(ev) > 0 {
			req.VPCEndpoints = append(req.VPCEndpoints, EndpointNeed{Service: e.Service, ServiceName: e.ServiceName(req.Region), Type: e.Type, Evidence: ev})
		}
	}
	return req
}

// collector gathers the evidence of each endpoint.
type collector struct {
	p                *policy.Policy
	defaultNamespace string
	// irsa holds the IRSA service accounts of the input, by namespace/name.
	irsa     map[string]bool
	evidence map[string][]Evidence
}

func (c *collector) namespaceOf(obj metav1.Object) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return c.defaultNamespace
}

// add records ev for service, merging the reasons of one object.
func (c *collector) add(service string, ev *Evidence) {
	if _, ok := endpointIndex[service]; !ok {
		panic("requirements: endpoint " + service + " is not in Endpoints")
	}
	if c.evidence == nil {
		c.evidence = map[string][]Evidence{}
	}
	list := c.evidence[service]
	for i := range list {
		if e := &list[i]; e.Kind == ev.Kind && e.Namespace == ev.Namespace && e.Name == ev.Name && e.Source == ev.Source && e.Line == ev.Line {
			for _, r := range ev.Reasons {
				if !contains(e.Reasons, r) {
					e.Reasons = append(e.Reasons, r)
				}
			}
			return
		}
	}
	c.evidence[service] = append(list, *ev)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resource collects the needs of one pod or workload.
func (c *collector) resource(r audit.Resource) {
	var spec *corev1.PodSpec
	switch obj := r.Object.(type) {
	case *corev1.Pod:
		spec = &obj.Spec
	default:
		kind := policy.KindFor(r.Object.GetObjectKind().GroupVersionKind())
		if kind == nil || kind.Role != policy.RoleWorkload {
			return
		}
		tmpl := kind.Template(r.Object)
		if tmpl == nil {
			return
		}
		spec = &tmpl.Spec
	}
	meta := r.Object.(metav1.Object)
	namespace := c.namespaceOf(meta)
	need := func(service, reason string) {
		c.add(service, &Evidence{
			Kind: r.Object.GetObjectKind().GroupVersionKind().Kind, Namespace: namespace, Name: meta.GetName(),
			Source: r.Source, Line: r.Line, Reasons: []string{reason},
		})
	}
	sa := policy.ServiceAccountName(spec)
	if c.irsa[namespace+"/"+sa] {
		need(serviceSTS, fmt.Sprintf("runs as service account %s, annotated %s (IRSA)", sa, policy.IRSARoleAnnotation))
	}
	var fromECR []string
	for _, ctr := range containers(spec) {
		pull := c.p.PullOf(ctr.image)
		// An image of another region's ECR, or a Marketplace one, is denied, never
		// pulled through this region's endpoints.
		if pull.ECR && pull.Region == c.p.Region() && !pull.Marketplace && !contains(fromECR, pull.Image) {
			fromECR = append(fromECR, pull.Image)
		}
		if addon := addonOf(pull.Repository); addon != nil {
			for _, service := range addon.Endpoints {
				need(service, fmt.Sprintf("runs %s (%s), which %s", addon.Name, ctr.image, addon.Why))
			}
		}
		if hasEnv(ctr.env, envPodIdentity) {
			need(serviceEKSAuth, fmt.Sprintf("container %s uses EKS Pod Identity (%s)", ctr.name, envPodIdentity))
		}
		if hasEnv(ctr.env, envRoleARN) && hasEnv(ctr.env, envWebIdentityTokenFile) {
			need(serviceSTS, fmt.Sprintf("container %s sets %s and %s (IRSA)", ctr.name, envRoleARN, envWebIdentityTokenFile))
		}
	}
	if len(fromECR) > 0 {
		reason := "pulls from ECR " + strings.Join(fromECR, ", ")
		need(serviceECRAPI, reason)
		need(serviceECRDKR, reason)
		need(serviceS3, reason)
	}
}

// Environment variables of IAM roles for service accounts and EKS Pod Identity.
const (
	envPodIdentity          = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envRoleARN              = "AWS_ROLE_ARN"
	envWebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
)

// podContainer is what requirements reads of a container of any list.
type podContainer struct {
	name, image string
	env         []corev1.EnvVar
}

// containers lists the init, regular and ephemeral containers of spec.
func containers(spec *corev1.PodSpec) []podContainer {
	var cs []podContainer
	for _, c := range spec.InitContainers {
		cs = append(cs, podContainer{c.Name, c.Image, c.Env})
	}
	for _, c := range spec.Containers {
		cs = append(cs, podContainer{c.Name, c.Image, c.Env})
	}
	for _, c := range spec.EphemeralContainers {
		cs = append(cs, podContainer{c.Name, c.Image, c.Env})
	}
	return cs
}

func hasEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name && strings.TrimSpace(e.Value) != "" || e.Name == name && e.ValueFrom != nil {
			return true
		}
	}
	return false
}
