package admission

import (
	"encoding/json"
	"regexp"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/policy/policytest"
)

// fieldPatchPath is the only shape of path a patch may touch: one field of one container,
// never a whole container list.
var fieldPatchPath = regexp.MustCompile(`^/spec/(initContainers|containers|ephemeralContainers)/[0-9]+/(image|env|env/-|args|args/-)$`)

// TestPatchGivesTheEngineMutatedPod feeds every pod of the engine's scenarios
// (pkg/policy/testdata/scenarios) through the real patch builder, applies the patch to
// the scenario's original JSON, and compares the result with the engine's own mutated pod
// (policy.MutatedPod): the patch is the only reader of the engine's changes.
func TestPatchGivesTheEngineMutatedPod(t *testing.T) {
	pods := 0
	for _, sc := range policytest.Scenarios(t) {
		if sc.Kind() != "Pod" {
			continue
		}
		pods++
		t.Run(sc.Name, func(t *testing.T) {
			p := policytest.Policy(t, sc.Policy)
			pod, old := policytest.Decode[corev1.Pod](t, sc.Object), policytest.Decode[corev1.Pod](t, sc.Old)
			want, d := p.MutatedPod(pod, old, sc.Facts())
			ops, err := podPatch(&pod.Spec, d.Changes)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Enforced()) > 0 && len(ops) == 0 {
				t.Errorf("no patch for %d enforced changes", len(d.Enforced()))
			}
			for _, op := range ops {
				if !fieldPatchPath.MatchString(op.Path) {
					t.Errorf("operation %s %s touches more than one container field", op.Operation, op.Path)
				}
			}
			got := applyPatch(t, string(sc.Object), ops)
			if !equality.Semantic.DeepEqual(want, got) {
				t.Fatalf("patched pod differs from the engine's mutated pod (-engine +patched):\n%s", cmp.Diff(want, got))
			}
		})
	}
	if pods < 20 {
		t.Errorf("only %d scenario pods; the patch must be checked on all of them", pods)
	}
}

// TestPatchShapes checks the operations the patch builder chooses for the shapes of env
// and args the scenarios do not all have (absent, null, empty, present), then that the
// patched pod is the engine's mutated pod, that mutating again changes nothing and that
// the mutated pod validates.
func TestPatchShapes(t *testing.T) {
	p := loadTestPolicy(t)
	const ecr = "111122223333.dkr.ecr.us-west-2.amazonaws.com"
	tests := []struct {
		name string
		// pod is the original JSON; old, when set, makes it an UPDATE.
		pod, old string
		irsa     bool
		wantOps  int
	}{
		{
			name:    "env absent is added as one array",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"` + ecr + `/app:1"}]}}`,
			irsa:    true,
			wantOps: 1,
		},
		{
			name:    "an empty env array is replaced by one array",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"` + ecr + `/app:1","env":[]}]}}`,
			irsa:    true,
			wantOps: 1,
		},
		{
			name:    "a null env is replaced by one array",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"` + ecr + `/app:1","env":null}]}}`,
			irsa:    true,
			wantOps: 1,
		},
		{
			name:    "present env gets one append per variable and keeps its entries",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"` + ecr + `/app:1","env":[{"name":"SECRET","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}]}]}}`,
			irsa:    true,
			wantOps: 3,
		},
		{
			name:    "a container that sets its region only gets the STS variable",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"` + ecr + `/app:1","env":[{"name":"AWS_REGION","value":"us-west-2"}]}]}}`,
			irsa:    true,
			wantOps: 1,
		},
		{
			name: "init containers and containers are patched each at their own index",
			pod: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{
				"initContainers":[{"name":"init","image":"busybox:1.36"},{"name":"init2","image":"` + ecr + `/init:2","env":[{"name":"X","value":"1"}]}],
				"containers":[{"name":"app","image":"registry.k8s.io/pause:3.9"},{"name":"side","image":"nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}}`,
			irsa:    true,
			wantOps: 3 + 1 + 3 + 1 + 1, // three images; env arrays for three containers, appends for init2
		},
		{
			name:    "args absent are added as one array",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"ca","image":"` + ecr + `/autoscaling/cluster-autoscaler:v1.30.0","command":["./cluster-autoscaler","--cloud-provider=aws"]}]}}`,
			wantOps: 1,
		},
		{
			name:    "all three controller flags absent are added as one array",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"lbc","image":"` + ecr + `/amazon/aws-load-balancer-controller:v2.8.0","args":null}]}}`,
			wantOps: 1,
		},
		{
			name:    "present args get one append per flag",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"lbc","image":"` + ecr + `/amazon/aws-load-balancer-controller:v2.8.0","args":["--cluster-name=prod"]}]}}`,
			wantOps: 3,
		},
		{
			name:    "an image rewrite keeps tag and digest",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"docker.io/bitnami/redis:7.2@sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}}`,
			wantOps: 1,
		},
		{
			name:    "an ephemeral container added by kubectl debug is rewritten alone",
			old:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"nginx:1.27"}]}}`,
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"team-a"},"spec":{"containers":[{"name":"app","image":"nginx:1.27"}],"ephemeralContainers":[{"name":"debug","image":"busybox","targetContainerName":"app"}]}}`,
			irsa:    true,
			wantOps: 1,
		},
		{
			name:    "a namespace in audit mode gets no patch",
			pod:     `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"legacy-app"},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`,
			irsa:    true,
			wantOps: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := decodePodJSON(t, tt.pod)
			var old *corev1.Pod
			if tt.old != "" {
				old = decodePodJSON(t, tt.old)
			}
			facts := policy.Facts{Namespace: pod.Namespace, ServiceAccountIRSA: policy.IRSAOf(tt.irsa)}
			d := p.MutatePod(pod, old, facts)
			ops, err := podPatch(&pod.Spec, d.Changes)
			if err != nil {
				t.Fatal(err)
			}
			if len(ops) != tt.wantOps {
				t.Errorf("%d patch operations, want %d: %v", len(ops), tt.wantOps, ops)
			}
			for _, op := range ops {
				if !fieldPatchPath.MatchString(op.Path) {
					t.Errorf("operation %s %s touches more than one container field", op.Operation, op.Path)
				}
			}

			want, _ := p.MutatedPod(pod, old, facts)
			got := applyPatch(t, tt.pod, ops)
			if !equality.Semantic.DeepEqual(want, got) {
				t.Fatalf("patched pod differs from the engine's decision (-engine +patched):\n%s", cmp.Diff(want, got))
			}

			again := p.MutatePod(got, old, facts)
			if enforced := again.Enforced(); len(enforced) > 0 {
				t.Errorf("mutating the mutated pod changes it again: %v", enforced)
			}
			if v := p.ValidatePod(got, old, facts); !v.Allowed() {
				t.Errorf("the mutated pod is denied: %v", v.Violations)
			}
		})
	}
}

func decodePodJSON(t *testing.T, s string) *corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(s), &pod); err != nil {
		t.Fatal(err)
	}
	return &pod
}

func applyPatch(t *testing.T, original string, ops any) *corev1.Pod {
	t.Helper()
	raw, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	patch, err := jsonpatchapply.DecodePatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := patch.Apply([]byte(original))
	if err != nil {
		t.Fatalf("apply %s: %v", raw, err)
	}
	return decodePodJSON(t, string(out))
}

func TestJSONPointerEscapesReferenceTokens(t *testing.T) {
	tests := []struct {
		name   string
		tokens []string
		want   string
	}{
		{name: "plain tokens are joined with slashes", tokens: []string{"spec", "containers", "0", "image"}, want: "/spec/containers/0/image"},
		{name: "a slash in a token becomes ~1", tokens: []string{"metadata", "annotations", "eks.amazonaws.com/role-arn"}, want: "/metadata/annotations/eks.amazonaws.com~1role-arn"},
		{name: "a tilde in a token becomes ~0", tokens: []string{"a~b"}, want: "/a~0b"},
		{name: "an escaped-looking token is escaped again, not read back", tokens: []string{"~1"}, want: "/~01"},
		{name: "tilde before slash stays in order", tokens: []string{"~/"}, want: "/~0~1"},
		{name: "an empty token is kept", tokens: []string{""}, want: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := jsonPointer(tt.tokens...)
			if got != tt.want {
				t.Fatalf("jsonPointer(%q) = %q, want %q", tt.tokens, got, tt.want)
			}
			// A JSON patch implementation must read the pointer back as the same key.
			if len(tt.tokens) != 1 {
				return
			}
			patch, err := jsonpatchapply.DecodePatch([]byte(`[{"op":"add","path":` + mustJSON(t, got) + `,"value":1}]`))
			if err != nil {
				t.Fatal(err)
			}
			out, err := patch.Apply([]byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]int
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			if doc[tt.tokens[0]] != 1 {
				t.Errorf("applying add %s to {} gives %s, want the key %q", got, out, tt.tokens[0])
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPatchRefusesAChangeOutsideThePod(t *testing.T) {
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}
	changes := []policy.Change{{Rule: policy.RuleImageRewrite, Mode: policy.ModeEnforce, Kind: policy.SetImage,
		Container: policy.ContainerRef{List: policy.Containers, Index: 3}, To: "x"}}
	if _, err := podPatch(spec, changes); err == nil {
		t.Fatal("a change to a container the pod does not have gave a patch")
	}
}
