package policy

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var facts = Facts{Namespace: "default"}

func TestImageRegistry(t *testing.T) {
	t.Run("the spec's example message is given word for word", func(t *testing.T) {
		d := testPolicy(t, nil).ValidatePod(podOf(ctr("web", "nginx:1.27")), nil, facts)
		want := `image "nginx:1.27" (spec.containers[0].image) is not in an allowed private registry (allowed: 111122223333.dkr.ecr.us-west-2.amazonaws.com); mirror it into ECR or add a rewrite rule [image-registry]`
		if len(d.Violations) != 1 || d.Violations[0].Message != want {
			t.Fatalf("violations = %+v\nwant the message %s", d.Violations, want)
		}
		if d.Allowed() || d.Violations[0].Image != "nginx:1.27" {
			t.Errorf("an enforced violation must deny and name the image: %+v", d.Violations[0])
		}
	})
	tests := []struct {
		name  string
		mode  Mode
		image string
		want  []string
	}{
		{"enforce denies a public image no rule rewrites", ModeEnforce, "ghcr.io/org/app:1", []string{"image-registry enforce spec.containers[0].image"}},
		{"audit reports it and allows", ModeAudit, "ghcr.io/org/app:1", []string{"image-registry audit spec.containers[0].image"}},
		{"off says nothing", ModeOff, "ghcr.io/org/app:1", nil},
		{"an allowed registry passes", ModeEnforce, testECR + "/team/app:1", nil},
		{"an upper-case allowed host passes", ModeEnforce, strings.ToUpper(testECR) + "/team/app:1", nil},
		{"a host that only contains the allowed host is denied", ModeEnforce, testECR + ".evil.com/x:1", []string{"image-registry enforce spec.containers[0].image"}},
		{"a path that contains the allowed host is denied", ModeEnforce, "evil.com/" + testECR + "/x:1", []string{"image-registry enforce spec.containers[0].image"}},
		{"the region's add-on registry is allowed", ModeEnforce, testAddon + "/eks/coredns:v1.11.1", nil},
		{"an unparsable image is a violation", ModeEnforce, "Nginx:latest", []string{"image-registry enforce spec.containers[0].image"}},
		{"an unparsable image in audit is reported", ModeAudit, "nginx@sha256:abc", []string{"image-registry audit spec.containers[0].image"}},
		{"a local registry with a port is not allowed", ModeEnforce, "localhost:5000/app:dev", []string{"image-registry enforce spec.containers[0].image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t, withMode(RuleImageRegistry, tt.mode))
			d := p.ValidatePod(podOf(ctr("app", tt.image)), nil, facts)
			assertSummary(t, d, tt.want...)
			if d.Allowed() != (tt.mode != ModeEnforce || tt.want == nil) {
				t.Errorf("Allowed() = %v", d.Allowed())
			}
		})
	}
	t.Run("the parse error is in the message", func(t *testing.T) {
		d := testPolicy(t, nil).ValidatePod(podOf(ctr("app", "Nginx:latest")), nil, facts)
		if len(d.Violations) != 1 || !strings.Contains(d.Violations[0].Message, "cannot be parsed: invalid reference format: repository name (library/Nginx) must be lowercase") {
			t.Errorf("violations = %+v", d.Violations)
		}
	})
	t.Run("the add-on registry is denied without allowEKSAddons", func(t *testing.T) {
		p := testPolicy(t, func(f *File) { f.Registries.AllowEKSAddons = ptr(false) })
		d := p.ValidatePod(podOf(ctr("dns", testAddon+"/eks/coredns:v1.11.1")), nil, facts)
		assertSummary(t, d, "image-registry enforce spec.containers[0].image")
	})
	t.Run("a path prefix allows only below it", func(t *testing.T) {
		p := testPolicy(t, func(f *File) { f.Registries.Allowed = []string{testECR + "/team-a"}; f.Rewrite.Rules = nil })
		d := p.ValidatePod(podOf(ctr("a", testECR+"/team-a/app:1"), ctr("b", testECR+"/team-ab/app:1")), nil, facts)
		assertSummary(t, d, "image-registry enforce spec.containers[1].image")
	})
	t.Run("init, regular and ephemeral containers all count", func(t *testing.T) {
		pod := podOf(ctr("app", "ghcr.io/a:1"))
		pod.Spec.InitContainers = []corev1.Container{ctr("init", "ghcr.io/b:1")}
		pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "ghcr.io/c:1"}}}
		d := testPolicy(t, nil).ValidatePod(pod, nil, facts)
		assertSummary(t, d,
			"image-registry enforce spec.initContainers[0].image",
			"image-registry enforce spec.containers[0].image",
			"image-registry enforce spec.ephemeralContainers[0].image")
	})
	t.Run("an excluded image passes every image rule", func(t *testing.T) {
		p := testPolicy(t, func(f *File) { f.Exclude.Images = []string{"ghcr.io/org/*", "docker.io/library/busybox:1.*"} })
		d := p.EvaluatePod(podOf(ctr("a", "ghcr.io/org/app:1"), ctr("b", "busybox:1.36"), ctr("c", "busybox:latest")), nil, facts)
		assertSummary(t, d, "change image-rewrite enforce spec.containers[2].image image \"busybox:latest\" → \""+testECR+"/docker-hub/library/busybox:latest\"")
	})
}

func TestImageRegion(t *testing.T) {
	tests := []struct {
		name, image string
		mode        Mode
		want        []string
		message     string
	}{
		{"an ECR image of another region is an image-region violation", "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:1", ModeEnforce,
			[]string{"image-region enforce spec.containers[0].image"}, "is in the ECR registry of region us-east-1, but the cluster runs in us-west-2"},
		{"a FIPS host of another region too", "111122223333.dkr.ecr-fips.us-east-1.amazonaws.com/app:1", ModeEnforce,
			[]string{"image-region enforce spec.containers[0].image"}, "region us-east-1"},
		{"a China host too", "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1", ModeEnforce,
			[]string{"image-region enforce spec.containers[0].image"}, "region cn-north-1"},
		{"a dual-stack host says it has no PrivateLink", "111122223333.dkr-ecr.us-east-1.on.aws/app:1", ModeEnforce,
			[]string{"image-region enforce spec.containers[0].image"}, "no PrivateLink VPC endpoint, use 111122223333.dkr.ecr.us-east-1.amazonaws.com"},
		{"a dual-stack host of the region is not allowed and says why", "111122223333.dkr-ecr.us-west-2.on.aws/app:1", ModeEnforce,
			[]string{"image-registry enforce spec.containers[0].image"}, "no PrivateLink VPC endpoint, use 111122223333.dkr.ecr.us-west-2.amazonaws.com"},
		{"audit reports and allows", "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:1", ModeAudit,
			[]string{"image-region audit spec.containers[0].image"}, "[image-region]"},
		{"off leaves the image to image-registry", "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:1", ModeOff,
			[]string{"image-registry enforce spec.containers[0].image"}, "[image-registry]"},
		{"an ECR image of the region outside the allowed list is image-registry", "999999999999.dkr.ecr.us-west-2.amazonaws.com/app:1", ModeEnforce,
			[]string{"image-registry enforce spec.containers[0].image"}, "[image-registry]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t, withMode(RuleImageRegion, tt.mode))
			d := p.ValidatePod(podOf(ctr("app", tt.image)), nil, facts)
			assertSummary(t, d, tt.want...)
			if len(d.Violations) == 1 && !strings.Contains(d.Violations[0].Message, tt.message) {
				t.Errorf("message %q does not contain %q", d.Violations[0].Message, tt.message)
			}
		})
	}
}

func TestMarketplaceImage(t *testing.T) {
	const mp = "709825985650.dkr.ecr.us-east-1.amazonaws.com/vendor/product:1.0"
	t.Run("a Marketplace image is the most specific violation", func(t *testing.T) {
		d := testPolicy(t, nil).ValidatePod(podOf(ctr("app", mp)), nil, facts)
		assertSummary(t, d, "marketplace-image enforce spec.containers[0].image")
		if !strings.Contains(d.Violations[0].Message, "AWS Marketplace Metering Service") || !strings.HasSuffix(d.Violations[0].Message, "[marketplace-image]") {
			t.Errorf("message = %q", d.Violations[0].Message)
		}
	})
	t.Run("it is never rewritten, even when a rewrite rule matches its host", func(t *testing.T) {
		p := testPolicy(t, func(f *File) {
			f.Rewrite.Rules = append(f.Rewrite.Rules, RewriteRule{From: "709825985650.dkr.ecr.us-east-1.amazonaws.com", To: testECR + "/marketplace"})
		})
		d := p.EvaluatePod(podOf(ctr("app", mp)), nil, facts)
		assertSummary(t, d, "marketplace-image enforce spec.containers[0].image")
	})
	t.Run("being allowed does not help", func(t *testing.T) {
		p := testPolicy(t, func(f *File) {
			f.Registries.Allowed = []string{testECR}
			f.Registries.Marketplace = []string{testECR + "/vendor"}
		})
		d := p.ValidatePod(podOf(ctr("app", testECR+"/vendor/x:1"), ctr("ok", testECR+"/vendorx/x:1")), nil, facts)
		assertSummary(t, d, "marketplace-image enforce spec.containers[0].image")
	})
	t.Run("audit allows with a report", func(t *testing.T) {
		d := testPolicy(t, withMode(RuleMarketplaceImage, ModeAudit)).ValidatePod(podOf(ctr("app", mp)), nil, facts)
		assertSummary(t, d, "marketplace-image audit spec.containers[0].image")
		if !d.Allowed() {
			t.Error("audit must allow")
		}
	})
	t.Run("off leaves the image to the next rule", func(t *testing.T) {
		d := testPolicy(t, withMode(RuleMarketplaceImage, ModeOff)).ValidatePod(podOf(ctr("app", mp)), nil, facts)
		assertSummary(t, d, "image-region enforce spec.containers[0].image")
	})
}

func TestImageRewrite(t *testing.T) {
	mirror := testECR + "/docker-hub/"
	tests := []struct {
		name, image, want string // want "" means unchanged
	}{
		{"an official image keeps library/ and gets no tag", "nginx", mirror + "library/nginx"},
		{"the tag is kept", "nginx:1.27", mirror + "library/nginx:1.27"},
		{"the digest is kept", "nginx@" + testDigest, mirror + "library/nginx@" + testDigest},
		{"tag and digest are both kept", "nginx:1.27@" + testDigest, mirror + "library/nginx:1.27@" + testDigest},
		{"docker.io/library/nginx is nginx", "docker.io/library/nginx:1.27", mirror + "library/nginx:1.27"},
		{"index.docker.io is Docker Hub", "index.docker.io/library/nginx:1.27", mirror + "library/nginx:1.27"},
		{"registry-1.docker.io is Docker Hub", "registry-1.docker.io/nginx:1.27", mirror + "library/nginx:1.27"},
		{"a user repository keeps its path", "grafana/grafana:11.2", mirror + "grafana/grafana:11.2"},
		{"another registry has its own mirror", "registry.k8s.io/pause:3.10", testECR + "/kubernetes/pause:3.10"},
		{"an upper-case host still matches", "REGISTRY.K8S.IO/pause:3.10", testECR + "/kubernetes/pause:3.10"},
		{"the longest from wins", "docker.io/bitnami/redis:7", testECR + "/bitnami/redis:7"},
		{"a longer from matches on / boundaries only", "docker.io/bitnamilegacy/redis:7", mirror + "bitnamilegacy/redis:7"},
		{"an allowed image is left alone", testECR + "/docker-hub/library/nginx:1", ""},
		{"an image without a rule is left alone", "ghcr.io/org/app:1", ""},
		{"an EKS add-on image of another region moves to the region's add-on registry", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.1-eksbuild.1@" + testDigest, testAddon + "/eks/coredns:v1.11.1-eksbuild.1@" + testDigest},
		{"a special-region add-on account moves too", "877085696533.dkr.ecr.af-south-1.amazonaws.com/eks/kube-proxy:v1.30", testAddon + "/eks/kube-proxy:v1.30"},
		{"an ordinary ECR image of another region is not moved", "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:1", ""},
		{"an unparsable image is left for image-registry", "Nginx", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t, func(f *File) {
				f.Rewrite.Rules = append(f.Rewrite.Rules, RewriteRule{From: "docker.io/bitnami", To: testECR + "/bitnami"})
			})
			pod := podOf(ctr("app", tt.image))
			d := p.MutatePod(pod, nil, facts)
			if tt.want == "" {
				assertSummary(t, d)
				return
			}
			assertSummary(t, d, "change image-rewrite enforce spec.containers[0].image image "+quote(tt.image)+" → "+quote(tt.want))
			after := mutated(p, pod, facts)
			if again := p.MutatePod(after, nil, facts); len(again.Changes) != 0 {
				t.Errorf("rewriting is not idempotent: %q", summary(again))
			}
			if v := p.ValidatePod(after, nil, facts); len(v.Violations) != 0 {
				t.Errorf("the rewritten pod does not validate: %q", summary(v))
			}
		})
	}
	t.Run("audit changes nothing and reports what would change", func(t *testing.T) {
		p := testPolicy(t, withMode(RuleImageRewrite, ModeAudit))
		d := p.EvaluatePod(podOf(ctr("app", "nginx:1.27")), nil, facts)
		assertSummary(t, d,
			"change image-rewrite audit spec.containers[0].image image \"nginx:1.27\" → \""+mirror+"library/nginx:1.27\"",
			"image-registry enforce spec.containers[0].image")
		if len(d.Enforced()) != 0 {
			t.Error("audit changes must not be enforced")
		}
	})
	t.Run("off leaves the image for image-registry", func(t *testing.T) {
		d := testPolicy(t, withMode(RuleImageRewrite, ModeOff)).EvaluatePod(podOf(ctr("app", "nginx:1.27")), nil, facts)
		assertSummary(t, d, "image-registry enforce spec.containers[0].image")
	})
	t.Run("add-on images stay without eksAddonsToRegion", func(t *testing.T) {
		p := testPolicy(t, func(f *File) { f.Rewrite.EKSAddonsToRegion = ptr(false) })
		d := p.EvaluatePod(podOf(ctr("app", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1")), nil, facts)
		assertSummary(t, d, "image-region enforce spec.containers[0].image")
	})
	t.Run("rewrite then validate: the rewritten pod is allowed", func(t *testing.T) {
		d := testPolicy(t, nil).EvaluatePod(podOf(ctr("app", "nginx:1.27"), ctr("side", "ghcr.io/x:1")), nil, facts)
		assertSummary(t, d,
			"change image-rewrite enforce spec.containers[0].image image \"nginx:1.27\" → \""+mirror+"library/nginx:1.27\"",
			"image-registry enforce spec.containers[1].image")
		if d.Violations[0].Image != "ghcr.io/x:1" {
			t.Errorf("violation image = %q", d.Violations[0].Image)
		}
	})
	t.Run("the caller's pod is never changed", func(t *testing.T) {
		pod := podOf(ctr("app", "nginx:1.27", env("A", "1")))
		pod.Spec.Containers[0].Env = append(make([]corev1.EnvVar, 0, 8), pod.Spec.Containers[0].Env...)
		before := pod.DeepCopy()
		testPolicy(t, nil).EvaluatePod(pod, nil, Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes})
		// The env slice has spare capacity: an append in place would write past its length.
		if pod.Spec.Containers[0].Image != before.Spec.Containers[0].Image || len(pod.Spec.Containers[0].Env) != 1 || pod.Spec.Containers[0].Env[:2][1].Name != "" {
			t.Errorf("EvaluatePod changed its input: %+v", pod.Spec.Containers[0])
		}
	})
}

func TestSTSRegionalEndpoint(t *testing.T) {
	irsa := Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes}
	injected := func(path string) []string {
		return []string{
			"change sts-regional-endpoint enforce " + path + " env AWS_STS_REGIONAL_ENDPOINTS=regional",
			"change sts-regional-endpoint enforce " + path + " env AWS_REGION=us-west-2",
			"change sts-regional-endpoint enforce " + path + " env AWS_DEFAULT_REGION=us-west-2",
		}
	}
	t.Run("every container and init container of an IRSA pod gets the variables, ephemeral ones do not", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1"), ctr("side", testECR+"/side:1"))
		pod.Spec.InitContainers = []corev1.Container{ctr("init", testECR+"/init:1")}
		pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: testECR + "/debug:1"}}}
		pol := testPolicy(t, nil)
		d := pol.EvaluatePod(pod, nil, irsa)
		var want []string
		for _, p := range []string{"spec.initContainers[0].env", "spec.containers[0].env", "spec.containers[1].env"} {
			want = append(want, injected(p)...)
		}
		assertSummary(t, d, want...)
		after := mutated(pol, pod, irsa)
		if got := after.Spec.Containers[1].Env; len(got) != 3 || got[0] != env("AWS_STS_REGIONAL_ENDPOINTS", "regional") {
			t.Errorf("env after mutation = %+v", got)
		}
	})
	t.Run("AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE make a pod IRSA without an annotated service account", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1", env("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/app"), env("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token")))
		d := testPolicy(t, nil).EvaluatePod(pod, nil, facts)
		assertSummary(t, d, injected("spec.containers[0].env")...)
	})
	t.Run("one of the two is not enough", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1", env("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/app")))
		assertSummary(t, testPolicy(t, nil).EvaluatePod(pod, nil, facts))
	})
	t.Run("a pod that is not IRSA is left alone", func(t *testing.T) {
		assertSummary(t, testPolicy(t, nil).EvaluatePod(podOf(ctr("app", testECR+"/app:1")), nil, facts))
	})
	t.Run("an explicit regional is kept and passes", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1", env("AWS_STS_REGIONAL_ENDPOINTS", "regional"), env("AWS_REGION", "us-west-2")))
		assertSummary(t, testPolicy(t, nil).EvaluatePod(pod, nil, irsa))
	})
	t.Run("an explicit legacy is never overwritten and is denied", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1", env("AWS_DEFAULT_REGION", "us-west-2"), env("AWS_STS_REGIONAL_ENDPOINTS", "legacy")))
		d := testPolicy(t, nil).EvaluatePod(pod, nil, irsa)
		assertSummary(t, d, "sts-regional-endpoint enforce spec.containers[0].env[1].value")
		want := `container "app" (spec.containers[0].env[1].value) sets AWS_STS_REGIONAL_ENDPOINTS="legacy"`
		if !strings.HasPrefix(d.Violations[0].Message, want) || !strings.HasSuffix(d.Violations[0].Message, "set it to regional [sts-regional-endpoint]") {
			t.Errorf("message = %q", d.Violations[0].Message)
		}
	})
	t.Run("a value from valueFrom cannot be checked and is flagged", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1", corev1.EnvVar{Name: "AWS_STS_REGIONAL_ENDPOINTS", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{Key: "k"}}}, env("AWS_REGION", "x")))
		d := testPolicy(t, nil).EvaluatePod(pod, nil, irsa)
		assertSummary(t, d, "sts-regional-endpoint enforce spec.containers[0].env[0].valueFrom")
	})
	t.Run("the validating webhook denies an IRSA pod the mutating webhook did not see", func(t *testing.T) {
		d := testPolicy(t, nil).ValidatePod(podOf(ctr("app", testECR+"/app:1")), nil, irsa)
		assertSummary(t, d, "sts-regional-endpoint enforce spec.containers[0].env")
		if !strings.Contains(d.Violations[0].Message, "does not set AWS_STS_REGIONAL_ENDPOINTS=regional") {
			t.Errorf("message = %q", d.Violations[0].Message)
		}
	})
	t.Run("the region is not injected where the container sets one of its variables", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1", env("AWS_REGION", "us-west-2")))
		assertSummary(t, testPolicy(t, nil).EvaluatePod(pod, nil, irsa), injected("spec.containers[0].env")[0])
	})
	t.Run("without injectRegion only the endpoint variable is added", func(t *testing.T) {
		p := testPolicy(t, func(f *File) { f.IRSA.InjectRegion = ptr(false) })
		assertSummary(t, p.EvaluatePod(podOf(ctr("app", testECR+"/app:1")), nil, irsa), injected("spec.containers[0].env")[0])
	})
	t.Run("audit injects nothing and warns both what would change and what is missing", func(t *testing.T) {
		d := testPolicy(t, func(f *File) { withMode(RuleSTSRegionalEndpoint, ModeAudit)(f); f.IRSA.InjectRegion = ptr(false) }).
			EvaluatePod(podOf(ctr("app", testECR+"/app:1")), nil, irsa)
		assertSummary(t, d,
			"change sts-regional-endpoint audit spec.containers[0].env env AWS_STS_REGIONAL_ENDPOINTS=regional",
			"sts-regional-endpoint audit spec.containers[0].env")
		if !d.Allowed() {
			t.Error("audit must allow")
		}
	})
	t.Run("off does nothing", func(t *testing.T) {
		pod := podOf(ctr("app", testECR+"/app:1", env("AWS_STS_REGIONAL_ENDPOINTS", "legacy")))
		assertSummary(t, testPolicy(t, withMode(RuleSTSRegionalEndpoint, ModeOff)).EvaluatePod(pod, nil, irsa))
	})
}

func TestClusterAutoscalerStaticInstanceList(t *testing.T) {
	const image = testECR + "/kubernetes/autoscaling/cluster-autoscaler:v1.30.0"
	const fixed = "change cluster-autoscaler-static-instance-list enforce spec.containers[0].args arg --aws-use-static-instance-list=true"
	const denied = "cluster-autoscaler-static-instance-list enforce spec.containers[0].args"
	tests := []struct {
		name          string
		command, args []string
		fix           bool
		want          []string
	}{
		{"a missing flag is appended with fix", []string{"./cluster-autoscaler"}, []string{"--cloud-provider=aws"}, true, []string{fixed}},
		{"a missing flag is denied without fix", nil, []string{"--cloud-provider=aws"}, false, []string{denied}},
		{"no --cloud-provider means aws", nil, nil, false, []string{denied}},
		{"--cloud-provider aws as two tokens", nil, []string{"--cloud-provider", "aws"}, false, []string{denied}},
		{"another cloud provider is left alone", nil, []string{"--cloud-provider=gce"}, false, nil},
		{"the flag in args passes", nil, []string{"--cloud-provider=aws", "--aws-use-static-instance-list=true"}, false, nil},
		{"the flag in command passes", []string{"./cluster-autoscaler", "--aws-use-static-instance-list"}, nil, false, nil},
		{"false is a violation", nil, []string{"--aws-use-static-instance-list=false"}, false, []string{denied}},
		{"the last occurrence wins", nil, []string{"--aws-use-static-instance-list=true", "--aws-use-static-instance-list=false"}, true, []string{fixed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t, func(f *File) {
				f.Rules = map[RuleID]RuleSettings{RuleClusterAutoscalerStaticInstanceList: {Fix: ptr(tt.fix)}}
			})
			c := ctr("cluster-autoscaler", image)
			c.Command, c.Args = tt.command, tt.args
			pod := podOf(c)
			d := p.EvaluatePod(pod, nil, facts)
			assertSummary(t, d, tt.want...)
			if tt.fix && len(tt.want) > 0 {
				after := mutated(p, pod, facts)
				if got := after.Spec.Containers[0].Args; got[len(got)-1] != "--aws-use-static-instance-list=true" {
					t.Errorf("args after mutation = %q", got)
				}
				if v := p.ValidatePod(after, nil, facts); len(v.Violations) != 0 {
					t.Errorf("the fixed pod does not validate: %q", summary(v))
				}
			}
		})
	}
	t.Run("the message says what is missing and how to fix it", func(t *testing.T) {
		p := testPolicy(t, func(f *File) {
			f.Rules = map[RuleID]RuleSettings{RuleClusterAutoscalerStaticInstanceList: {Fix: ptr(false)}}
		})
		d := p.ValidatePod(podOf(ctr("ca", image)), nil, facts)
		want := `container "ca" (spec.containers[0].args) runs cluster-autoscaler without --aws-use-static-instance-list=true;`
		if len(d.Violations) != 1 || !strings.HasPrefix(d.Violations[0].Message, want) || !strings.HasSuffix(d.Violations[0].Message, "[cluster-autoscaler-static-instance-list]") {
			t.Errorf("violations = %+v", d.Violations)
		}
	})
	t.Run("audit with fix appends nothing and reports", func(t *testing.T) {
		d := testPolicy(t, withMode(RuleClusterAutoscalerStaticInstanceList, ModeAudit)).EvaluatePod(podOf(ctr("ca", image)), nil, facts)
		assertSummary(t, d,
			"change cluster-autoscaler-static-instance-list audit spec.containers[0].args arg --aws-use-static-instance-list=true",
			"cluster-autoscaler-static-instance-list audit spec.containers[0].args")
	})
	t.Run("an image that only contains the name is not the autoscaler", func(t *testing.T) {
		assertSummary(t, testPolicy(t, nil).EvaluatePod(podOf(ctr("x", testECR+"/my-cluster-autoscaler:1")), nil, facts))
	})
}

func TestLBControllerWAFShield(t *testing.T) {
	const image = testECR + "/eks/aws-load-balancer-controller:v2.8.1"
	t.Run("missing flags are appended with fix", func(t *testing.T) {
		c := ctr("controller", image)
		c.Args = []string{"--cluster-name=prod", "--enable-waf=false"}
		pod := podOf(c)
		pol := testPolicy(t, nil)
		d := pol.EvaluatePod(pod, nil, facts)
		assertSummary(t, d,
			"change lb-controller-waf-shield enforce spec.containers[0].args arg --enable-shield=false",
			"change lb-controller-waf-shield enforce spec.containers[0].args arg --enable-wafv2=false")
		if got := mutated(pol, pod, facts).Spec.Containers[0].Args; strings.Join(got, " ") != "--cluster-name=prod --enable-waf=false --enable-shield=false --enable-wafv2=false" {
			t.Errorf("args after mutation = %q", got)
		}
	})
	t.Run("without fix the message lists what is missing", func(t *testing.T) {
		c := ctr("controller", image)
		c.Args = []string{"--enable-shield=false", "--enable-waf=true"}
		p := testPolicy(t, func(f *File) { f.Rules = map[RuleID]RuleSettings{RuleLBControllerWAFShield: {Fix: ptr(false)}} })
		d := p.EvaluatePod(podOf(c), nil, facts)
		assertSummary(t, d, "lb-controller-waf-shield enforce spec.containers[0].args")
		if !strings.Contains(d.Violations[0].Message, "without --enable-waf=false --enable-wafv2=false;") {
			t.Errorf("message = %q", d.Violations[0].Message)
		}
	})
	t.Run("all three flags pass", func(t *testing.T) {
		c := ctr("controller", image)
		c.Args = []string{"--enable-shield=false", "--enable-waf=false", "--enable-wafv2=false"}
		assertSummary(t, testPolicy(t, nil).EvaluatePod(podOf(c), nil, facts))
	})
	t.Run("off does nothing", func(t *testing.T) {
		assertSummary(t, testPolicy(t, withMode(RuleLBControllerWAFShield, ModeOff)).EvaluatePod(podOf(ctr("c", image)), nil, facts))
	})
}

func TestNamespaces(t *testing.T) {
	pod := func(ns string) *corev1.Pod {
		p := podOf(ctr("app", "ghcr.io/x:1"))
		p.Namespace = ns
		return p
	}
	p := testPolicy(t, func(f *File) {
		f.Exclude.Namespaces = []string{"kube-system", "sandbox-*"}
		f.Overrides = []Override{
			{Namespaces: []string{"legacy-*"}, Mode: ModeAudit},
			{Namespaces: []string{"legacy-*", "batch"}, Mode: ModeOff},
			{Namespaces: []string{"team-*"}, Mode: ModeAudit, Rules: []RuleID{RuleImageRewrite}},
		}
	})
	tests := []struct {
		ns   string
		want []string
	}{
		{"kube-system", nil},
		{"sandbox-42", nil},
		{"legacy-billing", []string{"image-registry audit spec.containers[0].image"}},
		{"batch", nil},
		{"team-a", []string{"image-registry enforce spec.containers[0].image"}},
		{"default", []string{"image-registry enforce spec.containers[0].image"}},
	}
	for _, tt := range tests {
		t.Run("namespace "+tt.ns, func(t *testing.T) {
			assertSummary(t, p.EvaluatePod(pod(tt.ns), nil, Facts{Namespace: tt.ns}), tt.want...)
		})
	}
	t.Run("the request's namespace wins over an empty object namespace", func(t *testing.T) {
		assertSummary(t, p.EvaluatePod(pod(""), nil, Facts{Namespace: "kube-system"}))
	})
	t.Run("an override limited to some rules changes only those", func(t *testing.T) {
		d := p.EvaluatePod(podOf(ctr("app", "nginx:1")), nil, Facts{Namespace: "team-a"})
		assertSummary(t, d,
			"change image-rewrite audit spec.containers[0].image image \"nginx:1\" → \""+testECR+"/docker-hub/library/nginx:1\"",
			"image-registry enforce spec.containers[0].image")
	})
}

func TestUpdates(t *testing.T) {
	p := testPolicy(t, nil)
	irsa := Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes}
	t.Run("an update that changes no image is never denied for images", func(t *testing.T) {
		old := podOf(ctr("app", "ghcr.io/x:1"))
		pod := old.DeepCopy()
		pod.Labels = map[string]string{"tier": "web"}
		assertSummary(t, p.ValidatePod(pod, old, irsa))
		assertSummary(t, p.MutatePod(pod, old, irsa))
	})
	t.Run("an update to a public image is denied", func(t *testing.T) {
		old := podOf(ctr("app", testECR+"/app:1"), ctr("side", "ghcr.io/x:1"))
		pod := old.DeepCopy()
		pod.Spec.Containers[0].Image = "ghcr.io/app:2"
		assertSummary(t, p.ValidatePod(pod, old, facts), "image-registry enforce spec.containers[0].image")
	})
	t.Run("an updated docker.io image is rewritten, env is never injected on update", func(t *testing.T) {
		old := podOf(ctr("app", testECR+"/app:1"))
		pod := old.DeepCopy()
		pod.Spec.Containers[0].Image = "nginx:1.27"
		assertSummary(t, p.MutatePod(pod, old, irsa),
			"change image-rewrite enforce spec.containers[0].image image \"nginx:1.27\" → \""+testECR+"/docker-hub/library/nginx:1.27\"")
	})
	t.Run("an IRSA pod that predates the policy keeps taking label updates", func(t *testing.T) {
		old := podOf(ctr("app", testECR+"/app:1", env("AWS_STS_REGIONAL_ENDPOINTS", "legacy")))
		pod := old.DeepCopy()
		pod.Labels = map[string]string{"x": "y"}
		assertSummary(t, p.ValidatePod(pod, old, irsa))
	})
	t.Run("a new ephemeral container is judged", func(t *testing.T) {
		old := podOf(ctr("app", testECR+"/app:1"))
		pod := old.DeepCopy()
		pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox:1.36"}}}
		assertSummary(t, p.ValidatePod(pod, old, facts), "image-registry enforce spec.ephemeralContainers[0].image")
		assertSummary(t, p.MutatePod(pod, old, facts),
			"change image-rewrite enforce spec.ephemeralContainers[0].image image \"busybox:1.36\" → \""+testECR+"/docker-hub/library/busybox:1.36\"")
	})
	t.Run("a template update judges only the containers it changes", func(t *testing.T) {
		old := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("a", "ghcr.io/a:1"), ctr("b", testECR+"/b:1")}}}
		tmpl := old.DeepCopy()
		tmpl.Spec.Containers[1].Args = []string{"--verbose"}
		tmpl.Spec.Containers[1].Image = "ghcr.io/b:2"
		assertSummary(t, p.EvaluatePodTemplate(tmpl, old, field.NewPath("spec", "template"), facts), "image-registry enforce spec.template.spec.containers[1].image")
	})
}

func TestPodTemplate(t *testing.T) {
	p := testPolicy(t, nil)
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("app", "nginx:1.27"), ctr("x", "quay.io/x:1")}}}
	before := tmpl.DeepCopy()
	d := p.EvaluatePodTemplate(tmpl, nil, field.NewPath("spec", "jobTemplate", "spec", "template"), Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes})
	assertSummary(t, d,
		"change image-rewrite enforce spec.jobTemplate.spec.template.spec.containers[0].image image \"nginx:1.27\" → \""+testECR+"/docker-hub/library/nginx:1.27\"",
		"change sts-regional-endpoint enforce spec.jobTemplate.spec.template.spec.containers[0].env env AWS_STS_REGIONAL_ENDPOINTS=regional",
		"change sts-regional-endpoint enforce spec.jobTemplate.spec.template.spec.containers[0].env env AWS_REGION=us-west-2",
		"change sts-regional-endpoint enforce spec.jobTemplate.spec.template.spec.containers[0].env env AWS_DEFAULT_REGION=us-west-2",
		"change sts-regional-endpoint enforce spec.jobTemplate.spec.template.spec.containers[1].env env AWS_STS_REGIONAL_ENDPOINTS=regional",
		"change sts-regional-endpoint enforce spec.jobTemplate.spec.template.spec.containers[1].env env AWS_REGION=us-west-2",
		"change sts-regional-endpoint enforce spec.jobTemplate.spec.template.spec.containers[1].env env AWS_DEFAULT_REGION=us-west-2",
		"image-registry enforce spec.jobTemplate.spec.template.spec.containers[1].image")
	if d.Allowed() {
		t.Error("a template with an image no rule rewrites must be denied")
	}
	if tmpl.Spec.Containers[0].Image != before.Spec.Containers[0].Image || len(tmpl.Spec.Containers[0].Env) != 0 {
		t.Error("the template must never be mutated")
	}
}

func TestMirrorPodsAreSkipped(t *testing.T) {
	pod := podOf(ctr("app", "ghcr.io/x:1"))
	pod.Annotations = map[string]string{MirrorPodAnnotation: "abc"}
	assertSummary(t, testPolicy(t, nil).EvaluatePod(pod, nil, facts))
}

func TestDecisionJSON(t *testing.T) {
	d := testPolicy(t, nil).EvaluatePod(podOf(ctr("app", "nginx:1.27"), ctr("x", "ghcr.io/x:1")), nil, Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes})
	if d.Changes[1].Kind != AddEnv {
		t.Fatalf("second change is %+v", d.Changes[1])
	}
	got, _ := d.Changes[1].MarshalJSON()
	want := `{"rule":"sts-regional-endpoint","mode":"enforce","path":"spec.containers[0].env","from":"","to":"AWS_STS_REGIONAL_ENDPOINTS=regional"}`
	if string(got) != want {
		t.Errorf("change JSON = %s, want %s", got, want)
	}
	got, _ = d.Violations[0].MarshalJSON()
	if !strings.HasPrefix(string(got), `{"rule":"image-registry","mode":"enforce","path":"spec.containers[1].image","image":"ghcr.io/x:1","message":"image \"ghcr.io/x:1\"`) {
		t.Errorf("violation JSON = %s", got)
	}
}

func TestMessagesCutLongValues(t *testing.T) {
	long := "ghcr.io/acme/" + strings.Repeat("a", 1<<20) + ":1"
	d := testPolicy(t, nil).EvaluatePod(podOf(ctr("app", long)), nil, Facts{Namespace: "default"})
	if len(d.Violations) != 1 {
		t.Fatalf("want one violation for a 1 MiB image, got %d", len(d.Violations))
	}
	msg := d.Violations[0].Message
	if len(msg) > 1024 || !strings.Contains(msg, "more bytes)") || !strings.HasSuffix(msg, "[image-registry]") {
		t.Errorf("message of %d bytes for a 1 MiB image, want it cut at %d characters of the image: %.300q", len(msg), maxQuoted, msg)
	}
}

func TestRuleIndexIsThePositionInRules(t *testing.T) {
	for i, r := range Rules {
		if got := r.index(); got != i {
			t.Errorf("%s.index() = %d, want %d (its position in Rules)", r, got, i)
		}
	}
	if got := RuleID("image-registries").index(); got != -1 {
		t.Errorf("an unknown rule's index = %d, want -1", got)
	}
}

func TestEKSAddonRegistryOverride(t *testing.T) {
	const override = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
	p := testPolicy(t, func(f *File) { f.Registries.EKSAddonRegistry = override })
	d := p.EvaluatePod(podOf(ctr("cni", "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.2")), nil, Facts{Namespace: "default"})
	assertSummary(t, d, "change image-rewrite enforce spec.containers[0].image image \"602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.2\" → \""+override+"/amazon-k8s-cni:v1.19.2\"")
	if d := p.EvaluatePod(podOf(ctr("cni", override+"/amazon-k8s-cni:v1.19.2")), nil, Facts{Namespace: "default"}); len(d.Violations)+len(d.Changes) != 0 {
		t.Errorf("an image of the overriding add-on registry is not allowed as is: %q", summary(d))
	}
}
