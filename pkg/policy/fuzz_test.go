package policy

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// FuzzParse feeds arbitrary documents to the policy loader: it must return a policy or an
// error, never panic, and a policy it returns must be usable.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"../../examples/policy.yaml", "testdata/policies/default.yaml", "testdata/policies/audit.yaml", "testdata/policies/cn.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(header + "region: us-west-2\nrules: {x: {mode: y}}\noverrides: [{namespaces: ['['], rules: [1]}]\n"))
	f.Add([]byte(`{"apiVersion":"privateguard.io/v1alpha1","kind":"Policy","region":"us-west-2","registries":{"allowed":[null]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned a policy with an error")
			}
			return
		}
		p.EvaluatePod(podOf(ctr("app", "nginx:1.27")), nil, Facts{Namespace: "default", ServiceAccountIRSA: IRSAYes})
	})
}

// FuzzRewrite checks image-rewrite on arbitrary references: a rewritten image always
// parses, lies in an allowed registry, keeps tag and digest, and is never rewritten again.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"nginx", "nginx:1.27", "nginx@" + testDigest, "nginx:1.27@" + testDigest, "registry-1.docker.io/nginx",
		"index.docker.io/library/nginx", "bitnami/redis:7", "REGISTRY.K8S.IO/pause:3.10", "localhost:5000/a",
		"602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1", "709825985650.dkr.ecr.us-east-1.amazonaws.com/x:1",
		"Nginx", "", "a/b/c/d/e:tag",
	} {
		f.Add(s)
	}
	p := testPolicy(f, func(f *File) {
		f.Rewrite.Rules = append(f.Rewrite.Rules,
			RewriteRule{From: "docker.io/bitnami", To: testECR + "/bitnami"},
			RewriteRule{From: "docker.io/library/nginx", To: testECR})
	})
	f.Fuzz(func(t *testing.T, raw string) {
		ic := p.classify(raw)
		if ic.err != nil || ic.rewritten == "" {
			return
		}
		img := ic.img
		to, err := parseImage(ic.rewritten)
		if err != nil {
			t.Fatalf("rewrite(%q) = %q, which does not parse: %v", raw, ic.rewritten, err)
		}
		if to.String() != ic.rewritten {
			t.Fatalf("rewrite(%q) = %q, which parses back as %q", raw, ic.rewritten, to)
		}
		if to.tag != img.tag || to.digest != img.digest {
			t.Fatalf("rewrite(%q) = %q lost the tag or digest", raw, to)
		}
		if !p.isAllowed(to.host, to.path) {
			t.Fatalf("rewrite(%q) = %q, outside the allowed registries", raw, to)
		}
		if twice := p.classify(ic.rewritten).rewritten; twice != "" {
			t.Fatalf("rewrite is not idempotent: %q → %q → %q", raw, to, twice)
		}
	})
}

// FuzzEvaluatePod judges arbitrary pods (JSON) with arbitrary facts: it must never panic,
// and mutating must converge in one pass.
func FuzzEvaluatePod(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/scenarios/*/input.yaml")
	for _, path := range dirs {
		var sc struct {
			Object json.RawMessage `json:"object"`
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &sc); err == nil {
			f.Add([]byte(sc.Object), true, "default")
		}
	}
	p, err := Load("testdata/policies/default.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, irsa bool, namespace string) {
		var pod corev1.Pod
		if json.Unmarshal(data, &pod) != nil {
			return
		}
		facts := Facts{Namespace: namespace, ServiceAccountIRSA: IRSAOf(irsa)}
		d := p.EvaluatePod(&pod, nil, facts)
		p.ValidatePod(&pod, nil, facts)
		d.Allowed()
		after := mutated(p, &pod, facts)
		if again := p.MutatePod(after, nil, facts); len(again.Enforced()) != 0 {
			t.Fatalf("a second mutation pass changes %q", summary(again))
		}
	})
}

// FuzzCommandLine reads arbitrary command lines and shell scripts: it must never panic,
// and a command line without a shell has its tokens as they are.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"--enable-waf=false", "sh\x00-c\x00exec ./ca --cloud-provider=aws", "bash\x00-ec\x00'unterminated", "busybox\x00sh\x00-c\x00$(x) --a=${b:-c}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tokens := strings.Split(s, "\x00")
		cl := parseCommandLine(tokens, nil, field.NewPath("spec"))
		cl.flag("cloud-provider", false)
		cl.boolFlag("enable-waf")
		if !shells[path.Base(tokens[0])] && len(cl.tokens) != len(tokens) {
			t.Fatalf("tokens %q read as %q", tokens, cl.tokens)
		}
	})
}
