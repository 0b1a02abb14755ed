package policy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/policy/policytest"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files of testdata/scenarios")

// scenarioResult is the golden want.json: the decision as a user sees it.
type scenarioResult struct {
	Description string             `json:"description"`
	Allowed     bool               `json:"allowed"`
	Changes     []policy.Change    `json:"changes"`
	Violations  []policy.Violation `json:"violations"`
	Warnings    []policy.Warning   `json:"warnings,omitempty"`
	Exempt      []policy.Exemption `json:"exempt,omitempty"`
	// WithoutMutation is the validating webhook's answer for a pod the mutating webhook
	// did not see.
	WithoutMutation *asIsResult `json:"withoutMutation,omitempty"`
}

type asIsResult struct {
	Allowed    bool     `json:"allowed"`
	Violations []string `json:"violations"`
}

func TestScenarios(t *testing.T) {
	scenarios := policytest.Scenarios(t)
	if len(scenarios) < 30 {
		t.Fatalf("want at least 30 scenarios, found %d", len(scenarios))
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			got := runScenario(t, policytest.Policy(t, sc.Policy), &sc)
			got.Description = sc.Description
			compareGolden(t, filepath.Join(sc.Dir, "want.json"), got)
		})
	}
}

func runScenario(t *testing.T, p *policy.Policy, sc *policytest.Scenario) scenarioResult {
	facts := sc.Facts()
	var d policy.Decision
	var res scenarioResult
	switch sc.Kind() {
	case "Pod":
		pod, old := policytest.Decode[corev1.Pod](t, sc.Object), policytest.Decode[corev1.Pod](t, sc.Old)
		d = p.EvaluatePod(pod, old, facts)
		asIs := p.ValidatePod(pod, old, facts)
		res.WithoutMutation = &asIsResult{Allowed: asIs.Allowed(), Violations: []string{}}
		for _, v := range asIs.Violations {
			res.WithoutMutation.Violations = append(res.WithoutMutation.Violations, fmt.Sprintf("%s %s %s", v.Rule, v.Mode, v.Path))
		}
		checkMutationIsStable(t, p, pod, old, facts, d)
	case "Deployment":
		dep := policytest.Decode[appsv1.Deployment](t, sc.Object)
		before := dep.DeepCopy()
		d = p.EvaluateWorkload(policy.KindFor(appsv1.SchemeGroupVersion.WithKind("Deployment")), dep, nil, facts)
		if !reflect.DeepEqual(before, dep) {
			t.Error("a workload template must never be mutated")
		}
	case "CronJob":
		cj := policytest.Decode[batchv1.CronJob](t, sc.Object)
		d = p.EvaluateWorkload(policy.KindFor(batchv1.SchemeGroupVersion.WithKind("CronJob")), cj, nil, facts)
	case "Ingress":
		d = p.ValidateIngress(policytest.Decode[networkingv1.Ingress](t, sc.Object), facts)
	default:
		t.Fatalf("scenario kind %q is not handled", sc.Kind())
	}
	res.Allowed, res.Changes, res.Violations, res.Warnings, res.Exempt = d.Allowed(), d.Changes, d.Violations, d.Warnings, d.Exempt
	if res.Changes == nil {
		res.Changes = []policy.Change{}
	}
	if res.Violations == nil {
		res.Violations = []policy.Violation{}
	}
	return res
}

// checkMutationIsStable asserts, for every scenario pod, that the engine's mutated pod
// agrees with its decision, that mutating the mutated pod changes nothing, and that the
// validating webhook's verdict on the mutated pod is the engine's verdict after mutation.
func checkMutationIsStable(t *testing.T, p *policy.Policy, pod, old *corev1.Pod, facts policy.Facts, d policy.Decision) {
	t.Helper()
	after, md := p.MutatedPod(pod, old, facts)
	if !slices.Equal(lines(md.Changes, nil), lines(d.Changes, nil)) {
		t.Errorf("MutatedPod's changes %q differ from EvaluatePod's %q", lines(md.Changes, nil), lines(d.Changes, nil))
	}
	if len(d.Enforced()) == 0 {
		if !reflect.DeepEqual(after, pod) {
			t.Error("MutatedPod changed a pod without enforced changes")
		}
		return
	}
	if again := p.MutatePod(after, old, facts); len(again.Enforced()) != 0 {
		t.Errorf("mutation is not idempotent, a second pass changes %q", lines(again.Enforced(), nil))
	}
	final := p.ValidatePod(after, old, facts)
	if got, want := lines(nil, final.Violations), lines(nil, d.Violations); !slices.Equal(got, want) {
		t.Errorf("the mutated pod validates to %q, the engine said %q", got, want)
	}
}

// lines is a decision as short lines: what the user would see, in order.
func lines(changes []policy.Change, violations []policy.Violation) []string {
	var out []string
	for _, c := range changes {
		out = append(out, fmt.Sprintf("change %s %s %s %s", c.Rule, c.Mode, c.Path, c.Description()))
	}
	for _, v := range violations {
		out = append(out, fmt.Sprintf("%s %s %s", v.Rule, v.Mode, v.Path))
	}
	return out
}

func compareGolden(t *testing.T, path string, got any) {
	t.Helper()
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, data, want)
	}
}
