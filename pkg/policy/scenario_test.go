package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files of testdata/scenarios")

// scenario is testdata/scenarios/<case>/input.yaml: an object, the facts about it and the
// policy (testdata/policies/<policy>.yaml) it is judged by.
type scenario struct {
	Description string          `json:"description"`
	Policy      string          `json:"policy"`
	IRSA        bool            `json:"irsa"`
	Object      json.RawMessage `json:"object"`
	Old         json.RawMessage `json:"old,omitempty"`
}

// scenarioResult is the golden want.json: the decision as a user sees it.
type scenarioResult struct {
	Description string      `json:"description"`
	Allowed     bool        `json:"allowed"`
	Changes     []Change    `json:"changes"`
	Violations  []Violation `json:"violations"`
	// WithoutMutation is the validating webhook's answer for a pod the mutating webhook
	// did not see.
	WithoutMutation *asIsResult `json:"withoutMutation,omitempty"`
}

type asIsResult struct {
	Allowed    bool     `json:"allowed"`
	Violations []string `json:"violations"`
}

func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*")
	if err != nil || len(dirs) < 30 {
		t.Fatalf("want at least 30 scenarios, found %d (%v)", len(dirs), err)
	}
	policies := map[string]*Policy{}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var sc scenario
			readYAML(t, filepath.Join(dir, "input.yaml"), &sc)
			p, ok := policies[sc.Policy]
			if !ok {
				var err error
				if p, err = Load(filepath.Join("testdata/policies", sc.Policy+".yaml")); err != nil {
					t.Fatal(err)
				}
				policies[sc.Policy] = p
			}
			got := runScenario(t, p, &sc)
			got.Description = sc.Description
			compareGolden(t, filepath.Join(dir, "want.json"), got)
		})
	}
}

func runScenario(t *testing.T, p *Policy, sc *scenario) scenarioResult {
	var meta struct{ Kind string }
	if err := json.Unmarshal(sc.Object, &meta); err != nil {
		t.Fatal(err)
	}
	facts := Facts{ServiceAccountIRSA: sc.IRSA}
	var d Decision
	var res scenarioResult
	switch meta.Kind {
	case "Pod":
		var pod, old *corev1.Pod
		decode(t, sc.Object, &pod)
		if sc.Old != nil {
			decode(t, sc.Old, &old)
		}
		d = p.EvaluatePod(pod, old, facts)
		asIs := p.ValidatePod(pod, old, facts)
		res.WithoutMutation = &asIsResult{Allowed: asIs.Allowed(), Violations: []string{}}
		for _, v := range asIs.Violations {
			res.WithoutMutation.Violations = append(res.WithoutMutation.Violations, fmt.Sprintf("%s %s %s", v.Rule, v.Mode, v.Path))
		}
		checkMutationIsStable(t, p, pod, old, facts, d)
	case "Deployment":
		var dep *appsv1.Deployment
		decode(t, sc.Object, &dep)
		before := dep.DeepCopy()
		d = p.EvaluatePodTemplate(&dep.Spec.Template, nil, field.NewPath("spec", "template"), facts)
		if !reflect.DeepEqual(before, dep) {
			t.Error("a workload template must never be mutated")
		}
	case "CronJob":
		var cj *batchv1.CronJob
		decode(t, sc.Object, &cj)
		d = p.EvaluatePodTemplate(&cj.Spec.JobTemplate.Spec.Template, nil, field.NewPath("spec", "jobTemplate", "spec", "template"), facts)
	case "Ingress":
		var ing *networkingv1.Ingress
		decode(t, sc.Object, &ing)
		d = p.ValidateIngress(ing, facts)
	default:
		t.Fatalf("scenario kind %q is not handled", meta.Kind)
	}
	res.Allowed, res.Changes, res.Violations = d.Allowed(), d.Changes, d.Violations
	if res.Changes == nil {
		res.Changes = []Change{}
	}
	if res.Violations == nil {
		res.Violations = []Violation{}
	}
	return res
}

// checkMutationIsStable asserts, for every scenario that changes a pod, that mutating the
// mutated pod changes nothing, and that the validating webhook's verdict on the mutated
// pod is the engine's verdict after mutation.
func checkMutationIsStable(t *testing.T, p *Policy, pod, old *corev1.Pod, facts Facts, d Decision) {
	t.Helper()
	if len(d.Enforced()) == 0 {
		return
	}
	after := mutated(pod, d)
	if again := p.MutatePod(after, old, facts); len(again.Enforced()) != 0 {
		t.Errorf("mutation is not idempotent, a second pass changes %q", summary(Decision{Changes: again.Enforced()}))
	}
	final := p.ValidatePod(after, old, facts)
	if !reflect.DeepEqual(summary(Decision{Violations: final.Violations}), summary(Decision{Violations: d.Violations})) {
		t.Errorf("the mutated pod validates to %q, the engine said %q", summary(final), summary(Decision{Violations: d.Violations}))
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yamlUnmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func decode(t *testing.T, data []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("decode object: %v", err)
	}
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

func yamlUnmarshal(data []byte, into any) error { return yaml.UnmarshalStrict(data, into) }
