package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Credential is what an ECR pull-through cache rule needs to authenticate to its upstream.
type Credential string

const (
	// CredentialNone: the upstream is read anonymously.
	CredentialNone Credential = "none"
	// CredentialSecret: the rule needs an AWS Secrets Manager secret whose name begins with
	// SecretNamePrefix, in the rule's account and region.
	CredentialSecret Credential = "secret"
	// CredentialIAMRole: an ECR upstream of another account is read through an IAM role
	// (the rule's custom role); of the same account, no role is needed.
	CredentialIAMRole Credential = "iam-role"
)

// SecretNamePrefix is the prefix ECR requires of the name of an upstream's Secrets
// Manager secret.
const SecretNamePrefix = "ecr-pullthroughcache/"

// Upstream is a registry an Amazon ECR pull-through cache rule can cache.
type Upstream struct {
	// ID is ECR's name for the upstream (the API's upstreamRegistry value).
	ID string
	// Name is the registry's name for people.
	Name string
	// Host is the registry host as a policy's rewrite `from` names it, canonical
	// (docker.io for Docker Hub); empty for the rows matched by HostSuffix or as ECR.
	Host string
	// HostSuffix matches hosts of a registry with one host per customer
	// (<registry>.azurecr.io).
	HostSuffix string
	// ECR: the upstream is another Amazon ECR private registry.
	ECR bool
	// URL is the upstream registry URL ECR expects; empty: the host itself.
	URL string
	// Credential is what the rule needs to read the upstream.
	Credential Credential
}

// Upstreams are the registries ECR pull-through cache rules can cache, as the Amazon ECR
// User Guide lists them ("Sync an upstream registry with an Amazon ECR private registry",
// and the upstreamRegistryUrl syntax of CreatePullThroughCacheRule): the requirements
// command and its tests range over this one table.
var Upstreams = []Upstream{
	{ID: "ecr-public", Name: "Amazon ECR Public", Host: "public.ecr.aws", Credential: CredentialNone},
	{ID: "k8s", Name: "Kubernetes container image registry", Host: "registry.k8s.io", Credential: CredentialNone},
	{ID: "quay", Name: "Quay", Host: "quay.io", Credential: CredentialNone},
	// Docker Hub's registry API is served at registry-1.docker.io: ECR rejects docker.io.
	{ID: "docker-hub", Name: "Docker Hub", Host: dockerHub, URL: "registry-1.docker.io", Credential: CredentialSecret},
	{ID: "github-container-registry", Name: "GitHub Container Registry", Host: "ghcr.io", Credential: CredentialSecret},
	{ID: "azure-container-registry", Name: "Microsoft Azure Container Registry", HostSuffix: ".azurecr.io", Credential: CredentialSecret},
	// GitLab's SaaS registry only: ECR cannot cache a self-managed GitLab.
	{ID: "gitlab-container-registry", Name: "GitLab Container Registry", Host: "registry.gitlab.com", Credential: CredentialSecret},
	{ID: "chainguard", Name: "Chainguard Registry", Host: "cgr.dev", Credential: CredentialSecret},
	{ID: "ecr", Name: "Amazon ECR private registry", ECR: true, Credential: CredentialIAMRole},
}

// UpstreamFor returns the row of Upstreams for a registry host (canonical, as in a
// rewrite `from`), or nil when ECR cannot cache the registry.
func UpstreamFor(host string) *Upstream {
	host = canonicalHost(host)
	for i := range Upstreams {
		u := &Upstreams[i]
		switch {
		case u.Host != "" && host == u.Host,
			u.HostSuffix != "" && strings.HasSuffix(host, u.HostSuffix) && len(host) > len(u.HostSuffix),
			u.ECR && isPrivateLinkECR(host):
			return u
		}
	}
	return nil
}

// isPrivateLinkECR reports whether host is an ECR registry host ECR can cache from: not a
// dual-stack one.
func isPrivateLinkECR(host string) bool {
	h, ok := parseECRHost(host)
	return ok && !h.DualStack
}

// upstreamNames lists the cacheable registries for messages.
func upstreamNames() string {
	var names []string
	for _, u := range Upstreams {
		switch {
		case u.Host != "":
			names = append(names, u.Host)
		case u.HostSuffix != "":
			names = append(names, "*"+u.HostSuffix)
		case u.ECR:
			names = append(names, "<account>.dkr.ecr.<region>.amazonaws.com")
		}
	}
	return strings.Join(names, ", ")
}

// CacheRule is the ECR pull-through cache rule a rewrite rule with pullThroughCache
// assumes.
type CacheRule struct {
	// Field is the rewrite rule's place in the policy file (rewrite.rules[0]).
	Field string
	// From and To are the rewrite rule's, normalized.
	From, To string
	// Upstream is the row of Upstreams of From.
	Upstream *Upstream
	// Registry is the ECR registry host of To; Account and Region are its.
	Registry, Account, Region string
	// RepositoryPrefix is the ECR repository prefix: To's path.
	RepositoryPrefix string
	// UpstreamURL is the upstream registry URL ECR expects.
	UpstreamURL string
	// UpstreamRepositoryPrefix is From's path, empty for the whole registry.
	UpstreamRepositoryPrefix string
	// Credential is what the rule needs: for an ECR upstream, an IAM role only when the
	// upstream is of another account.
	Credential Credential
}

// ecrRepositoryPrefix is the grammar CreatePullThroughCacheRule accepts for
// ecrRepositoryPrefix (2 to 30 characters).
var ecrRepositoryPrefix = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// PullThroughCacheRules validates and compiles the policy file's content, as ParseFrom,
// and returns the ECR pull-through cache rules its rewrite rules with pullThroughCache
// (the default) assume, in the file's order. A rule ECR cannot create is an error
// naming its field, in a *LoadError: a `from` ECR cannot cache, a `to` outside ECR or
// without a repository prefix ECR accepts.
func PullThroughCacheRules(source string, data []byte) (*Policy, []CacheRule, error) {
	p, err := ParseFrom(source, data)
	if err != nil {
		return nil, nil, err
	}
	f, _ := decodeFile(data)
	var (
		rules []CacheRule
		errs  field.ErrorList
	)
	for i, r := range f.Rewrite.Rules {
		if !boolOr(r.PullThroughCache, true) {
			continue
		}
		fp := field.NewPath("rewrite", "rules").Index(i)
		rule, ferr := cacheRuleOf(fp, r)
		if ferr != nil {
			errs = append(errs, ferr)
			continue
		}
		// Two rewrite rules may share one cache rule (docker.io and docker.io/bitnami,
		// both under the docker-hub prefix); one prefix cannot cache two upstreams.
		if j := slices.IndexFunc(rules, func(c CacheRule) bool {
			return c.Registry == rule.Registry && c.RepositoryPrefix == rule.RepositoryPrefix
		}); j >= 0 {
			if c := rules[j]; c.UpstreamURL != rule.UpstreamURL || c.UpstreamRepositoryPrefix != rule.UpstreamRepositoryPrefix {
				errs = append(errs, field.Invalid(fp.Child("to"), r.To, fmt.Sprintf("the ECR repository prefix %s already caches %s (%s): give each upstream its own prefix", c.RepositoryPrefix, c.From, c.Field)))
			}
			continue
		}
		rules = append(rules, rule)
	}
	if len(errs) > 0 {
		return nil, nil, &LoadError{Source: source, Errs: errs}
	}
	return p, rules, nil
}

// cacheRuleOf is the cache rule of one rewrite rule, already valid as a rewrite rule.
func cacheRuleOf(fp *field.Path, r RewriteRule) (CacheRule, *field.Error) {
	from, _ := parseRegistryPrefix(r.From)
	to, _ := parseRegistryPrefix(r.To)
	const fix = "; copy the images into ECR and set pullThroughCache: false, or remove the rule"
	u := UpstreamFor(from.host)
	if u == nil {
		return CacheRule{}, field.Invalid(fp.Child("from"), r.From,
			"ECR pull-through cache cannot cache this registry (it caches "+upstreamNames()+")"+fix)
	}
	ecr, ok := parseECRHost(to.host)
	if !ok || ecr.DualStack {
		return CacheRule{}, field.Invalid(fp.Child("to"), r.To,
			"a pull-through cache is an ECR private registry (<account>.dkr.ecr.<region>.amazonaws.com/<prefix>)"+fix)
	}
	rule := CacheRule{
		Field:            fp.String(),
		From:             from.String(),
		To:               to.String(),
		Upstream:         u,
		Registry:         to.host,
		Account:          ecr.Account,
		Region:           ecr.Region,
		RepositoryPrefix: to.path,
		UpstreamURL:      u.URL,
		Credential:       u.Credential,
	}
	// ECR maps <prefix>/<path> to <upstream>/<path>. Only an ECR upstream takes an
	// upstream repository prefix; for the others, a `from` with a path is cached by the
	// rule of the whole registry, so `to` must end in that same path.
	switch {
	case from.path == "":
	case u.ECR:
		rule.UpstreamRepositoryPrefix = from.path
	case strings.HasSuffix(to.path, "/"+from.path) && len(to.path) > len(from.path)+1:
		rule.RepositoryPrefix = strings.TrimSuffix(to.path, "/"+from.path)
	default:
		return CacheRule{}, field.Invalid(fp.Child("to"), r.To, fmt.Sprintf(
			"ECR caches %s as a whole registry (<prefix>/<path> from %s/<path>), so the path %s of from must end to as well, such as %s/%s/%s",
			u.Name, from.host, from.path, to.host, to.path, from.path))
	}
	if p := rule.RepositoryPrefix; len(p) < 2 || len(p) > 30 || !ecrRepositoryPrefix.MatchString(p) {
		return CacheRule{}, field.Invalid(fp.Child("to"), r.To,
			"ECR needs a repository prefix of 2 to 30 characters after the registry host (such as /docker-hub)")
	}
	if rule.UpstreamURL == "" {
		rule.UpstreamURL = from.host
	}
	if u.ECR {
		up, _ := parseECRHost(from.host)
		if up.Account == ecr.Account {
			rule.Credential = CredentialNone
		}
		if up.Account == ecr.Account && up.Region == ecr.Region {
			return CacheRule{}, field.Invalid(fp.Child("from"), r.From, fmt.Sprintf("an ECR registry cannot be its own upstream (to is %s)", to.host)+fix)
		}
	}
	return rule, nil
}
