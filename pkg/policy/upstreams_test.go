package policy

import (
	"errors"
	"strings"
	"testing"
)

// TestUpstreamForEveryRow checks each row of Upstreams: the hosts it covers, and the URL
// and credential ECR expects of it.
func TestUpstreamForEveryRow(t *testing.T) {
	for _, tc := range []struct {
		host, id, url string
		credential    Credential
	}{
		{"public.ecr.aws", "ecr-public", "public.ecr.aws", CredentialNone},
		{"registry.k8s.io", "k8s", "registry.k8s.io", CredentialNone},
		{"quay.io", "quay", "quay.io", CredentialNone},
		{"docker.io", "docker-hub", "registry-1.docker.io", CredentialSecret},
		{"ghcr.io", "github-container-registry", "ghcr.io", CredentialSecret},
		{"myregistry.azurecr.io", "azure-container-registry", "myregistry.azurecr.io", CredentialSecret},
		{"registry.gitlab.com", "gitlab-container-registry", "registry.gitlab.com", CredentialSecret},
		{"cgr.dev", "chainguard", "cgr.dev", CredentialSecret},
		{"444455556666.dkr.ecr.eu-west-1.amazonaws.com", "ecr", "444455556666.dkr.ecr.eu-west-1.amazonaws.com", CredentialIAMRole},
	} {
		t.Run(tc.id+" caches "+tc.host, func(t *testing.T) {
			u := UpstreamFor(tc.host)
			if u == nil || u.ID != tc.id {
				t.Fatalf("UpstreamFor(%q) = %+v, want row %s", tc.host, u, tc.id)
			}
			data := "apiVersion: privateguard.io/v1alpha1\nkind: Policy\nregion: us-west-2\n" +
				"registries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]}\n" +
				"rewrite: {rules: [{from: " + tc.host + ", to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/mirror}]}\n"
			_, rules, err := PullThroughCacheRules("", []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			r := rules[0]
			if r.UpstreamURL != tc.url || r.Credential != tc.credential || r.RepositoryPrefix != "mirror" || r.Field != "rewrite.rules[0]" {
				t.Errorf("rule = %+v, want url %s, credential %s, prefix mirror", r, tc.url, tc.credential)
			}
		})
	}
	t.Run("every row is tested", func(t *testing.T) {
		if len(Upstreams) != 9 {
			t.Errorf("%d rows in Upstreams; add a case above for the new one", len(Upstreams))
		}
	})
}

func TestUpstreamForAliasesAndUnknowns(t *testing.T) {
	for host, want := range map[string]string{
		"index.docker.io":                       "docker-hub",
		"registry-1.docker.io":                  "docker-hub",
		"Quay.IO":                               "quay",
		"azurecr.io":                            "",
		".azurecr.io":                           "",
		"gcr.io":                                "",
		"mcr.microsoft.com":                     "",
		"nvcr.io":                               "",
		"gitlab.example.com":                    "",
		"111122223333.dkr-ecr.us-west-2.on.aws": "",
	} {
		got := ""
		if u := UpstreamFor(host); u != nil {
			got = u.ID
		}
		if got != want {
			t.Errorf("UpstreamFor(%q) = %q, want %q", host, got, want)
		}
	}
}

const ptcPolicyHead = "apiVersion: privateguard.io/v1alpha1\nkind: Policy\nregion: us-west-2\n" +
	"registries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com, registry.example.com]}\n"

func TestPullThroughCacheRules(t *testing.T) {
	data := ptcPolicyHead + `rewrite:
  rules:
    - {from: docker.io/bitnami, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/bitnami}
    - {from: docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub}
    - {from: gcr.io, to: registry.example.com/gcr, pullThroughCache: false}
    - {from: 111122223333.dkr.ecr.us-east-1.amazonaws.com, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/east}
    - {from: 444455556666.dkr.ecr.us-west-2.amazonaws.com/team-a, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/partner}
`
	_, rules, err := PullThroughCacheRules("policy.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 {
		t.Fatalf("%d rules, want 3 (pullThroughCache: false is no cache rule): %+v", len(rules), rules)
	}
	// docker.io/bitnami is cached by the rule of Docker Hub, prefix docker-hub, which
	// docker.io shares.
	if r := rules[0]; r.RepositoryPrefix != "docker-hub" || r.UpstreamRepositoryPrefix != "" || r.UpstreamURL != "registry-1.docker.io" || r.Account != "111122223333" || r.Region != "us-west-2" {
		t.Errorf("docker.io/bitnami: %+v", r)
	}
	if r := rules[1]; r.Field != "rewrite.rules[3]" || r.Credential != CredentialNone || r.UpstreamRepositoryPrefix != "" {
		t.Errorf("ECR of the same account: %+v, want no credential", r)
	}
	if r := rules[2]; r.Credential != CredentialIAMRole || r.UpstreamRepositoryPrefix != "team-a" || r.RepositoryPrefix != "partner" {
		t.Errorf("ECR of another account: %+v, want an IAM role and the upstream prefix team-a", r)
	}
}

func TestPullThroughCacheRulesErrors(t *testing.T) {
	for _, tc := range []struct{ name, rule, want string }{
		{"an upstream ECR cannot cache", "{from: gcr.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/gcr}",
			`rewrite.rules[0].from: Invalid value: "gcr.io": ECR pull-through cache cannot cache this registry`},
		{"a mirror outside ECR", "{from: quay.io, to: registry.example.com/quay}",
			`rewrite.rules[0].to: Invalid value: "registry.example.com/quay": a pull-through cache is an ECR private registry`},
		{"no repository prefix", "{from: quay.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com}",
			`rewrite.rules[0].to: Invalid value: "111122223333.dkr.ecr.us-west-2.amazonaws.com": ECR needs a repository prefix`},
		{"a path of from a non-ECR upstream cannot keep", "{from: ghcr.io/acme, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/ghcr-acme}",
			`rewrite.rules[0].to: Invalid value: "111122223333.dkr.ecr.us-west-2.amazonaws.com/ghcr-acme": ECR caches GitHub Container Registry as a whole registry`},
		{"one prefix for two upstreams", "{from: quay.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/mirror}, {from: ghcr.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/mirror}",
			`rewrite.rules[1].to: Invalid value: "111122223333.dkr.ecr.us-west-2.amazonaws.com/mirror": the ECR repository prefix mirror already caches quay.io (rewrite.rules[0])`},
		{"an ECR registry as its own upstream", "{from: 111122223333.dkr.ecr.us-west-2.amazonaws.com/x, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/mirror}",
			`rewrite.rules[0].from: Invalid value`},
		{"a prefix too long", "{from: quay.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/a-very-long-prefix/for-quay-images}",
			`rewrite.rules[0].to: Invalid value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := PullThroughCacheRules("policy.yaml", []byte(ptcPolicyHead+"rewrite: {rules: ["+tc.rule+"]}\n"))
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPullOf(t *testing.T) {
	p, err := Parse([]byte(ptcPolicyHead + "rewrite: {rules: [{from: docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]Pull{
		"nginx:1.27": {Image: "111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27", Repository: "library/nginx",
			Host: "111122223333.dkr.ecr.us-west-2.amazonaws.com", ECR: true, Region: "us-west-2"},
		"602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.0": {Image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.0",
			Repository: "amazon-k8s-cni", Host: "602401143452.dkr.ecr.us-west-2.amazonaws.com", ECR: true, Region: "us-west-2"},
		"709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/agent:1": {Image: "709825985650.dkr.ecr.us-east-1.amazonaws.com/acme/agent:1",
			Repository: "acme/agent", Host: "709825985650.dkr.ecr.us-east-1.amazonaws.com", ECR: true, Region: "us-east-1", Marketplace: true},
		"ghcr.io/org/app:1": {Image: "ghcr.io/org/app:1", Repository: "org/app", Host: "ghcr.io"},
		"Bad Image":         {},
	} {
		if got := p.PullOf(raw); got != want {
			t.Errorf("PullOf(%q) = %+v, want %+v", raw, got, want)
		}
	}
}
