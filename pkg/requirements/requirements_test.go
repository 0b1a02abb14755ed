package requirements

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

const testPolicy = `apiVersion: privateguard.io/v1alpha1
kind: Policy
region: us-west-2
registries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]}
rewrite:
  rules:
    - {from: docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub}
    - {from: public.ecr.aws, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public}
    - {from: ghcr.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/ghcr}
`

// compute runs Compute over objects with testPolicy.
func compute(t *testing.T, objs ...runtime.Object) *Requirements {
	t.Helper()
	p, rules, err := policy.PullThroughCacheRules("policy.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	var resources []audit.Resource
	for _, o := range objs {
		resources = append(resources, audit.Resource{Object: o, Source: "test.yaml", Line: 1})
	}
	return Compute(p, "policy.yaml", rules, resources, "")
}

// pod is a pod in kube-system running containers of images, the first with env.
func pod(name string, env []corev1.EnvVar, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}}
	p.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	for i, img := range images {
		c := corev1.Container{Name: "c" + string(rune('0'+i)), Image: img}
		if i == 0 {
			c.Env = env
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
	return p
}

// services lists the endpoint services of r, but secretsmanager, which testPolicy's
// cache rules of Docker Hub and GitHub always need (TestSecretsManager).
func services(r *Requirements) []string {
	var s []string
	for _, e := range r.VPCEndpoints {
		if e.Service != "secretsmanager" {
			s = append(s, e.Service)
		}
	}
	return s
}

func TestSecretsManager(t *testing.T) {
	got := compute(t)
	if len(got.VPCEndpoints) != 1 || got.VPCEndpoints[0].Service != "secretsmanager" {
		t.Fatalf("endpoints %+v, want secretsmanager alone", got.VPCEndpoints)
	}
	var fields []string
	for _, ev := range got.VPCEndpoints[0].Evidence {
		fields = append(fields, ev.Name)
	}
	if want := []string{"rewrite.rules[0]", "rewrite.rules[2]"}; !slices.Equal(fields, want) {
		t.Errorf("evidence %v, want the rules of Docker Hub and GitHub %v", fields, want)
	}
	for _, c := range got.PullThroughCacheRules {
		if wantSecret := c.Upstream != "ecr-public"; (c.SecretNamePrefix == "ecr-pullthroughcache/") != wantSecret {
			t.Errorf("%s: secret name prefix %q", c.Upstream, c.SecretNamePrefix)
		}
	}
}

// TestAddonsEveryRow runs a pod of each repository of each row of Addons: the row's
// endpoints are asked for, with the add-on named; a repository that only ends like one
// is not an add-on.
func TestAddonsEveryRow(t *testing.T) {
	for _, a := range Addons {
		for _, repo := range a.Repositories {
			t.Run(a.Name+" runs from "+repo, func(t *testing.T) {
				got := compute(t, pod("addon", nil, "registry.example.com/mirror/"+repo+":1.0"))
				if !slices.Equal(services(got), sortedLikeTable(a.Endpoints)) {
					t.Fatalf("endpoints %v, want %v", services(got), a.Endpoints)
				}
				if reason := got.VPCEndpoints[0].Evidence[0].Reasons[0]; !strings.Contains(reason, a.Name) {
					t.Errorf("reason %q does not name %s", reason, a.Name)
				}
			})
		}
	}
	t.Run("a repository that only ends like an add-on's is none", func(t *testing.T) {
		got := compute(t, pod("app", nil, "registry.example.com/my-cluster-autoscaler:1", "registry.example.com/team/notfluent-bit:1"))
		if s := services(got); len(s) != 0 {
			t.Errorf("endpoints %v, want none", s)
		}
	})
}

// sortedLikeTable orders services as Endpoints does.
func sortedLikeTable(s []string) []string {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b string) int { return endpointIndex[a] - endpointIndex[b] })
	return out
}

func TestAddonsNameKnownEndpoints(t *testing.T) {
	for _, a := range Addons {
		for _, s := range a.Endpoints {
			if _, ok := endpointIndex[s]; !ok {
				t.Errorf("%s needs %q, which is not in Endpoints", a.Name, s)
			}
		}
	}
}

func TestEndpointServiceNames(t *testing.T) {
	for _, e := range Endpoints {
		t.Run(e.Service, func(t *testing.T) {
			if got, want := e.ServiceName("us-west-2"), "com.amazonaws.us-west-2."+e.Service; got != want {
				t.Errorf("us-west-2: %s, want %s", got, want)
			}
			if got, want := e.ServiceName("us-gov-west-1"), "com.amazonaws.us-gov-west-1."+e.Service; got != want {
				t.Errorf("us-gov-west-1: %s, want %s", got, want)
			}
			want := "com.amazonaws.cn-north-1." + e.Service
			if e.ChinaPrefix {
				want = "cn." + want
			}
			if got := e.ServiceName("cn-north-1"); got != want {
				t.Errorf("cn-north-1: %s, want %s", got, want)
			}
		})
	}
}

func TestImagesFromECR(t *testing.T) {
	for _, tc := range []struct {
		name, image string
		want        []string
	}{
		{"a rewritten Docker Hub image comes from ECR", "nginx:1.27", []string{"ecr.api", "ecr.dkr", "s3"}},
		{"an image of the region's ECR", "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1", []string{"ecr.api", "ecr.dkr", "s3"}},
		{"an EKS add-on image moved to the region", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.1", []string{"ecr.api", "ecr.dkr", "s3"}},
		{"an ECR image of another region is denied, not pulled here", "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:1", nil},
		{"a Marketplace image is denied, not pulled", "709825985650.dkr.ecr.us-east-1.amazonaws.com/vendor/agent:1", nil},
		{"an image outside ECR", "registry.example.com/app:1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := services(compute(t, pod("app", nil, tc.image))); !slices.Equal(got, tc.want) {
				t.Errorf("endpoints %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIdentities(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "kube-system",
		Annotations: map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/app"}}}
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	irsaPod := pod("irsa", nil, "registry.example.com/app:1")
	irsaPod.Spec.ServiceAccountName = "app"
	for _, tc := range []struct {
		name    string
		objs    []runtime.Object
		service string
		reason  string
	}{
		{"an IRSA service account in the input", []runtime.Object{sa, irsaPod}, "sts", "service account app"},
		{"IRSA variables in the pod", []runtime.Object{pod("irsa-env", []corev1.EnvVar{
			{Name: "AWS_ROLE_ARN", Value: "arn:aws:iam::111122223333:role/app"},
			{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
		}, "registry.example.com/app:1")}, "sts", "AWS_ROLE_ARN"},
		{"EKS Pod Identity", []runtime.Object{pod("pod-identity", []corev1.EnvVar{
			{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Value: "http://169.254.170.23/v1/credentials"},
		}, "registry.example.com/app:1")}, "eks-auth", "EKS Pod Identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compute(t, tc.objs...)
			if s := services(got); !slices.Equal(s, []string{tc.service}) {
				t.Fatalf("endpoints %v, want [%s]", s, tc.service)
			}
			if r := got.VPCEndpoints[0].Evidence[0].Reasons[0]; !strings.Contains(r, tc.reason) {
				t.Errorf("reason %q, want it to say %q", r, tc.reason)
			}
		})
	}
	t.Run("a service account absent from the input is not IRSA", func(t *testing.T) {
		if s := services(compute(t, irsaPod)); slices.Contains(s, "sts") {
			t.Errorf("endpoints %v, want no sts", s)
		}
	})
}

func TestTerraformParses(t *testing.T) {
	got := compute(t, pod("app", nil, "nginx:1.27", "registry.example.com/x/aws-load-balancer-controller:v2"))
	var b bytes.Buffer
	if err := got.WriteTerraform(&b); err != nil {
		t.Fatal(err)
	}
	file, diags := hclsyntax.ParseConfig(b.Bytes(), "requirements.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%v\n%s", diags, b.String())
	}
	content, _, diags := file.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "resource", LabelNames: []string{"type", "name"}},
	}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var resources []string
	for _, block := range content.Blocks {
		resources = append(resources, strings.Join(block.Labels, "."))
	}
	for _, want := range []string{"vpc_id", "subnet_ids", "security_group_ids", "route_table_ids", "docker_hub_credential_arn", "ghcr_credential_arn",
		"aws_ecr_pull_through_cache_rule.docker_hub", "aws_ecr_pull_through_cache_rule.ecr_public", "aws_ecr_pull_through_cache_rule.ghcr",
		"aws_vpc_endpoint.ecr_api", "aws_vpc_endpoint.ecr_dkr", "aws_vpc_endpoint.s3", "aws_vpc_endpoint.ec2",
		"aws_vpc_endpoint.elasticloadbalancing", "aws_vpc_endpoint.secretsmanager"} {
		if !slices.Contains(resources, want) {
			t.Errorf("no block %s in %v", want, resources)
		}
	}
}

func TestIdentifier(t *testing.T) {
	for in, want := range map[string]string{"docker-hub": "docker_hub", "ecr.api": "ecr_api", "team/quay": "team_quay", "1st": "r_1st"} {
		if got := identifier(in); got != want {
			t.Errorf("identifier(%q) = %q, want %q", in, got, want)
		}
	}
	taken := map[string]int{}
	if a, b := unique(taken, "x"), unique(taken, "x"); a != "x" || b != "x_2" {
		t.Errorf("unique: %s, %s; want x, x_2", a, b)
	}
}
