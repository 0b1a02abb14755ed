package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// requirementsRun runs the command as `privateguard requirements args...` with stdin.
func requirementsRun(t *testing.T, c app, stdin string, args ...string) output {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = strings.NewReader(stdin), &stdout, &stderr
	code := c.run(context.Background(), append([]string{"requirements"}, args...))
	return output{code, stdout.String(), stderr.String()}
}

// requirementsFormats are the output formats of requirements with goldens.
var requirementsGoldens = map[string]string{"text": ".txt", "json": ".json", "terraform": ".tf"}

func TestRequirementsGolden(t *testing.T) {
	for _, tc := range []struct{ name, policy, manifests string }{
		{"examples", "../../examples/policy.yaml", "../../examples/workloads"},
		{"addons", "testdata/requirements/policy.yaml", "testdata/requirements/addons.yaml"},
	} {
		for format, ext := range requirementsGoldens {
			t.Run(tc.name+" as "+format, func(t *testing.T) {
				got := requirementsRun(t, app{}, "", "--config", tc.policy, "-f", tc.manifests, "-o", format)
				if got.code != exitOK || got.stderr != "" {
					t.Fatalf("exit %d, stderr %q; want exit 0", got.code, got.stderr)
				}
				checkGolden(t, "requirements-"+tc.name+ext, got.stdout)
				if format == "terraform" {
					if _, diags := hclsyntax.ParseConfig([]byte(got.stdout), "requirements.tf", hcl.InitialPos); diags.HasErrors() {
						t.Errorf("the Terraform output does not parse: %v", diags)
					}
				}
			})
		}
	}
}

func TestRequirementsCluster(t *testing.T) {
	var kubeconfig string
	c := app{NewClient: func(path string) (client.Reader, error) {
		kubeconfig = path
		return fakeCluster(t), nil
	}}
	got := requirementsRun(t, c, "", "--config", "testdata/policy.yaml", "--cluster", "--kubeconfig", "/etc/kube/config")
	if got.code != exitOK || got.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want exit 0", got.code, got.stderr)
	}
	if kubeconfig != "/etc/kube/config" {
		t.Errorf("client made with kubeconfig %q, want --kubeconfig's", kubeconfig)
	}
	checkGolden(t, "requirements-cluster.txt", got.stdout)
}

func TestRequirementsStdin(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx:1.27}]}\n"
	got := requirementsRun(t, app{}, pod, "--config", "../../examples/policy.yaml", "-f", "-", "-n", "shop")
	for _, want := range []string{"com.amazonaws.us-west-2.ecr.dkr (Interface)", "Pod shop/web (stdin:1): pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27"} {
		if got.code != exitOK || !strings.Contains(got.stdout, want) {
			t.Errorf("exit %d, stdout does not contain %q:\n%s%s", got.code, want, got.stdout, got.stderr)
		}
	}
}

func TestRequirementsErrors(t *testing.T) {
	writePolicy := func(t *testing.T, rules string) string {
		t.Helper()
		t.Chdir(t.TempDir())
		writeFiles(t, map[string]string{
			"policy.yaml": "apiVersion: privateguard.io/v1alpha1\nkind: Policy\nregion: us-west-2\n" +
				"registries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com, mirror.example.com]}\nrewrite:\n  rules:\n" + rules,
			"pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx:1.27}]}\n",
		})
		return "policy.yaml"
	}
	for _, tc := range []struct {
		name  string
		rules string
		args  []string
		want  string
	}{
		{name: "an upstream ECR cannot cache", rules: "    - {from: docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub}\n    - {from: gcr.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/gcr}\n",
			want: `error: invalid policy policy.yaml:` + "\n" + `  rewrite.rules[1].from: Invalid value: "gcr.io": ECR pull-through cache cannot cache this registry (it caches public.ecr.aws, registry.k8s.io, quay.io, docker.io, ghcr.io, *.azurecr.io, registry.gitlab.com, cgr.dev, <account>.dkr.ecr.<region>.amazonaws.com); copy the images into ECR and set pullThroughCache: false, or remove the rule` + "\n"},
		{name: "a cache outside ECR", rules: "    - {from: quay.io, to: mirror.example.com/quay}\n",
			want: `rewrite.rules[0].to: Invalid value: "mirror.example.com/quay": a pull-through cache is an ECR private registry`},
		{name: "a bad policy", rules: "    - {from: quay.io}\n", want: "error: invalid policy policy.yaml:"},
		{name: "a missing manifest", rules: "", args: []string{"-f", "absent.yaml"}, want: "absent.yaml"},
		{name: "audit's formats are not requirements'", rules: "", args: []string{"-o", "sarif"}, want: `-o must be one of text, json, terraform, not "sarif"`},
		{name: "no input", rules: "", args: []string{"--config", "policy.yaml"}, want: "give -f PATH (manifests) or --cluster"},
		{name: "both inputs", rules: "", args: []string{"--cluster"}, want: "give either -f or --cluster, not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := writePolicy(t, tc.rules)
			args := tc.args
			if len(args) == 0 || args[0] != "--config" {
				args = append([]string{"--config", config, "-f", "pod.yaml"}, args...)
			}
			got := requirementsRun(t, app{}, "", args...)
			if got.code != exitError || !strings.Contains(got.stderr, tc.want) || got.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q", got.code, got.stdout, got.stderr, tc.want)
			}
		})
	}
}

// TestRequirementsREADME keeps the example of README's "What the AWS side needs" what
// the command prints.
func TestRequirementsREADME(t *testing.T) {
	t.Chdir(filepath.Join(packageDir, "..", ".."))
	got := requirementsRun(t, app{}, "", "--config", "examples/policy.yaml", "-f", "examples/workloads/")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if got.code != exitOK || !strings.Contains(string(readme), "```\n"+got.stdout+"```\n") {
		t.Errorf("README.md does not show the output of requirements over examples/ (exit %d):\n%s", got.code, got.stdout)
	}
}
