package policy

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	testECR   = "111122223333.dkr.ecr.us-west-2.amazonaws.com"
	testAddon = "602401143452.dkr.ecr.us-west-2.amazonaws.com"
)

// testPolicy compiles the policy most tests use, after edit: region us-west-2, one
// allowed ECR registry, mirrors for docker.io and registry.k8s.io.
func testPolicy(t testing.TB, edit func(f *File)) *Policy {
	t.Helper()
	f := File{
		APIVersion: APIVersion, Kind: FileKind, Region: "us-west-2",
		Registries: Registries{Allowed: []string{testECR}},
		Rewrite: Rewrite{Rules: []RewriteRule{
			{From: "docker.io", To: testECR + "/docker-hub"},
			{From: "registry.k8s.io", To: testECR + "/kubernetes"},
		}},
	}
	if edit != nil {
		edit(&f)
	}
	p, errs := compile(&f)
	if len(errs) > 0 {
		t.Fatalf("test policy does not compile: %v", errs)
	}
	return p
}

func withMode(rule RuleID, m Mode) func(f *File) {
	return func(f *File) {
		if f.Rules == nil {
			f.Rules = map[RuleID]RuleSettings{}
		}
		s := f.Rules[rule]
		s.Mode = m
		f.Rules[rule] = s
	}
}

func ptr[T any](v T) *T { return &v }

func ctr(name, image string, env ...corev1.EnvVar) corev1.Container {
	return corev1.Container{Name: name, Image: image, Env: env}
}

func env(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }

func podOf(cs ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.PodSpec{Containers: cs}}
}

// summary is a decision as short lines a table can list: what the user would see, in
// order ("change <rule> <mode> <path> <description>", "<rule> <mode> <path>").
func summary(d Decision) []string {
	var out []string
	for _, c := range d.Changes {
		out = append(out, fmt.Sprintf("change %s %s %s %s", c.Rule, c.Mode, c.Path, c.Description()))
	}
	for _, v := range d.Violations {
		out = append(out, fmt.Sprintf("%s %s %s", v.Rule, v.Mode, v.Path))
	}
	return out
}

func assertSummary(t *testing.T, d Decision, want ...string) {
	t.Helper()
	got := summary(d)
	if !slices.Equal(got, want) {
		t.Errorf("decision:\n  got  %q\n  want %q", got, want)
	}
}

// mutated is the pod after its enforced changes (a CREATE): what the mutating webhook's
// patch gives.
func mutated(p *Policy, pod *corev1.Pod, facts Facts) *corev1.Pod {
	out, _ := p.MutatedPod(pod, nil, facts)
	return out
}
