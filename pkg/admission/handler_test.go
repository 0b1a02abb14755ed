package admission

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/policy"
	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

var update = flag.Bool("update", false, "rewrite the golden answers in testdata/want")

// fakeServiceAccounts answers from a map of namespace/name → IRSA, opts out of the
// regional endpoint for the names in optOut, fails for the names in errs, and records the
// lookups made.
type fakeServiceAccounts struct {
	irsa   map[string]bool
	optOut map[string]bool
	errs   map[string]error

	mu      sync.Mutex
	lookups []string
}

var _ serviceaccount.ServiceAccounts = (*fakeServiceAccounts)(nil)

func (f *fakeServiceAccounts) Lookup(_ context.Context, namespace, name string) (serviceaccount.Facts, error) {
	key := namespace + "/" + name
	f.mu.Lock()
	f.lookups = append(f.lookups, key)
	f.mu.Unlock()
	if err := f.errs[key]; err != nil {
		return serviceaccount.Facts{}, err
	}
	return serviceaccount.Facts{IRSA: f.irsa[key], RegionalOptOut: f.optOut[key]}, nil
}

func (f *fakeServiceAccounts) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lookups...)
}

// testServiceAccounts are the service accounts the fixtures run as.
func testServiceAccounts() *fakeServiceAccounts {
	return &fakeServiceAccounts{
		irsa:   map[string]bool{"team-a/app": true, "legacy-app/app": true, "team-a/legacy-global": true},
		optOut: map[string]bool{"team-a/legacy-global": true},
		errs:   map[string]error{"team-a/flaky": errors.New("look up service account team-a/flaky: api server answered 503 ServiceUnavailable")},
	}
}

// staticPolicy is a PolicySource that never reloads.
type staticPolicy struct{ p *policy.Policy }

func (s staticPolicy) Current() *policy.Policy { return s.p }

func loadTestPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Load(filepath.Join("testdata", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture is one AdmissionReview of testdata/reviews.
type fixture struct {
	name string
	raw  []byte
	req  admission.Request
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "reviews", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []fixture
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(raw, &review); err != nil || review.Request == nil {
			t.Fatalf("%s: not an AdmissionReview with a request: %v", path, err)
		}
		out = append(out, fixture{
			name: strings.TrimSuffix(filepath.Base(path), ".json"),
			raw:  raw,
			req:  admission.Request{AdmissionRequest: *review.Request},
		})
	}
	return out
}

// answerView is what a client sees of a response, and the object after its patch.
type answerView struct {
	Allowed          bool              `json:"allowed"`
	Code             int32             `json:"code"`
	Message          string            `json:"message,omitempty"`
	Warnings         []string          `json:"warnings,omitempty"`
	AuditAnnotations map[string]string `json:"auditAnnotations,omitempty"`
	Patch            any               `json:"patch,omitempty"`
	Patched          any               `json:"patched,omitempty"`
}

type goldenAnswers struct {
	Mutate   answerView `json:"mutate"`
	Validate answerView `json:"validate"`
}

// view completes resp as the webhook server does and applies its patch to the request's
// object.
func view(t *testing.T, req admission.Request, resp admission.Response) (answerView, []byte) {
	t.Helper()
	if err := resp.Complete(req); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if resp.UID != req.UID {
		t.Errorf("response uid = %q, want the request's %q", resp.UID, req.UID)
	}
	v := answerView{
		Allowed: resp.Allowed, Code: resp.Result.Code, Message: resp.Result.Message,
		Warnings: resp.Warnings, AuditAnnotations: resp.AuditAnnotations,
	}
	var patched []byte
	if len(resp.Patch) > 0 {
		if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
			t.Fatalf("patch type = %v, want JSONPatch", resp.PatchType)
		}
		patch, err := jsonpatchapply.DecodePatch(resp.Patch)
		if err != nil {
			t.Fatalf("decode patch: %v", err)
		}
		patched, err = patch.Apply(req.Object.Raw)
		if err != nil {
			t.Fatalf("apply patch %s: %v", resp.Patch, err)
		}
		v.Patch = mustGeneric(t, resp.Patch)
		v.Patched = mustGeneric(t, patched)
	}
	return v, patched
}

func mustGeneric(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestHandlersAnswerTheFixtures sends every fixture to both webhooks and compares what a
// client would see — allowed, status code, message, warnings, audit annotations, the
// patch and the object after it — with testdata/want/<fixture>.json (-update rewrites
// them).
func TestHandlersAnswerTheFixtures(t *testing.T) {
	p := staticPolicy{loadTestPolicy(t)}
	sas := testServiceAccounts()
	mutator := &Mutator{Sources{Policies: p, ServiceAccounts: sas}}
	validator := &Validator{Sources{Policies: p, ServiceAccounts: sas}}

	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			ctx := context.Background()
			mutated, patched := view(t, fx.req, mutator.Handle(ctx, fx.req))
			validated, _ := view(t, fx.req, validator.Handle(ctx, fx.req))
			got := goldenAnswers{Mutate: mutated, Validate: validated}

			if !mutated.Allowed {
				t.Errorf("/mutate denied (%d %s); it must never deny", mutated.Code, mutated.Message)
			}
			if validated.Allowed != (validated.Code == http.StatusOK) || (!validated.Allowed && validated.Code != http.StatusForbidden) {
				t.Errorf("/validate allowed=%v with code %d; want 200 when allowed and 403 when denied", validated.Allowed, validated.Code)
			}
			if patched != nil {
				assertPatchIsTheEngineDecision(t, p.p, sas, fx.req, patched)
			}

			path := filepath.Join("testdata", "want", fx.name+".json")
			if *update {
				out, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no golden answer (run go test -update): %v", err)
			}
			var want goldenAnswers
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			// Compare in the generic form both sides decode to.
			gotData, _ := json.Marshal(got)
			var gotGeneric goldenAnswers
			if err := json.Unmarshal(gotData, &gotGeneric); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, gotGeneric); diff != "" {
				t.Errorf("answers differ from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// assertPatchIsTheEngineDecision checks that the patched object is exactly the request's
// pod as the engine mutates it (policy.MutatedPod).
func assertPatchIsTheEngineDecision(t *testing.T, p *policy.Policy, sas *fakeServiceAccounts, req admission.Request, patched []byte) {
	t.Helper()
	var pod, old *corev1.Pod
	pod = &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		t.Fatal(err)
	}
	if req.Operation == admissionv1.Update {
		old = &corev1.Pod{}
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			t.Fatal(err)
		}
	}
	ns := pod.Namespace
	facts := policy.Facts{Namespace: ns}
	if old == nil {
		f, err := sas.Lookup(context.Background(), ns, policy.ServiceAccountName(&pod.Spec))
		facts.ServiceAccountIRSA, facts.ServiceAccountRegionalOptOut = policy.IRSAOf(f.IRSA), f.RegionalOptOut
		if err != nil {
			facts.ServiceAccountIRSA = policy.IRSAUnknown
		}
	}
	want, _ := p.MutatedPod(pod, old, facts)

	var got corev1.Pod
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(want, &got) {
		t.Errorf("patched pod differs from the engine's decision (-engine +patched):\n%s", cmp.Diff(want, &got))
	}
}

// TestDryRunGetsTheSameAnswer flips dryRun on every fixture: the webhook has no side
// effects, so the answer must not change.
func TestDryRunGetsTheSameAnswer(t *testing.T) {
	p := staticPolicy{loadTestPolicy(t)}
	handlers := map[string]admission.Handler{
		"mutate":   &Mutator{Sources{Policies: p, ServiceAccounts: testServiceAccounts()}},
		"validate": &Validator{Sources{Policies: p, ServiceAccounts: testServiceAccounts()}},
	}
	for _, fx := range loadFixtures(t) {
		for name, h := range handlers {
			t.Run(fx.name+" on "+name+" answers a dry run as a real request", func(t *testing.T) {
				wet := h.Handle(context.Background(), fx.req)
				dryReq := fx.req
				dry := true
				dryReq.DryRun = &dry
				got := h.Handle(context.Background(), dryReq)
				if diff := cmp.Diff(wet, got); diff != "" {
					t.Errorf("dry-run answer differs (-real +dry):\n%s", diff)
				}
			})
		}
	}
}

func fixtureNamed(t *testing.T, name string) fixture {
	t.Helper()
	for _, fx := range loadFixtures(t) {
		if fx.name == name {
			return fx
		}
	}
	t.Fatalf("no fixture %s", name)
	return fixture{}
}

func TestServiceAccountLookups(t *testing.T) {
	p := staticPolicy{loadTestPolicy(t)}
	tests := []struct {
		name    string
		fixture string
		sas     *fakeServiceAccounts
		noSAs   bool
		// wantLookups are the lookups made by both webhooks together.
		wantLookups []string
		// wantInjected: /mutate adds AWS_STS_REGIONAL_ENDPOINTS to the app container.
		wantInjected bool
		// wantSTSViolation: /validate reports sts-regional-endpoint.
		wantSTSViolation bool
	}{
		{
			name: "an IRSA service account gets its pod the regional STS endpoint", fixture: "pod-create-enforce",
			sas: testServiceAccounts(), wantLookups: []string{"team-a/app", "team-a/app"},
			wantInjected: true, wantSTSViolation: true,
		},
		{
			name: "a failed lookup still injects the regional endpoint, and the validating webhook does not deny for the unknown", fixture: "pod-create-enforce",
			sas:         &fakeServiceAccounts{errs: map[string]error{"team-a/app": errors.New("connection refused")}},
			wantLookups: []string{"team-a/app", "team-a/app"}, wantInjected: true,
		},
		{
			name: "without service accounts an IRSA pod is still recognised from its env", fixture: "pod-create-irsa-env-enforce",
			noSAs: true, wantInjected: true, wantSTSViolation: true,
		},
		{
			name: "a pod UPDATE looks nothing up: env cannot change on a running pod", fixture: "pod-update-image-enforce",
			sas: testServiceAccounts(),
		},
		{
			name: "an excluded namespace looks nothing up", fixture: "pod-create-excluded-namespace",
			sas: testServiceAccounts(),
		},
		{
			name: "an Ingress looks nothing up", fixture: "ingress-create-enforce",
			sas: testServiceAccounts(),
		},
		{
			name: "a workload template is judged with its service account", fixture: "deployment-create-enforce",
			sas: testServiceAccounts(), wantLookups: []string{"team-a/app"}, wantSTSViolation: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := fixtureNamed(t, tt.fixture)
			var sas serviceaccount.ServiceAccounts
			if !tt.noSAs {
				sas = tt.sas
			}
			mresp := (&Mutator{Sources{Policies: p, ServiceAccounts: sas}}).Handle(context.Background(), fx.req)
			vresp := (&Validator{Sources{Policies: p, ServiceAccounts: sas}}).Handle(context.Background(), fx.req)
			if !tt.noSAs {
				if diff := cmp.Diff(tt.wantLookups, tt.sas.calls()); diff != "" {
					t.Errorf("lookups (-want +got):\n%s", diff)
				}
			}
			injected := false
			for _, op := range mresp.Patches {
				if b, _ := json.Marshal(op.Value); strings.Contains(string(b), "AWS_STS_REGIONAL_ENDPOINTS") {
					injected = true
				}
			}
			if injected != tt.wantInjected {
				t.Errorf("AWS_STS_REGIONAL_ENDPOINTS injected = %v, want %v (patch %v)", injected, tt.wantInjected, mresp.Patches)
			}
			msg := ""
			if vresp.Result != nil {
				msg = vresp.Result.Message
			}
			if got := strings.Contains(msg, "[sts-regional-endpoint]"); got != tt.wantSTSViolation {
				t.Errorf("sts-regional-endpoint violation = %v, want %v; message:\n%s", got, tt.wantSTSViolation, msg)
			}
		})
	}
}

func TestRequestsThatCannotBeJudged(t *testing.T) {
	p := staticPolicy{loadTestPolicy(t)}
	base := fixtureNamed(t, "pod-update-image-enforce").req
	tests := []struct {
		name   string
		edit   func(r *admission.Request)
		want   string
		wantIn []string // webhooks that must refuse; both when empty
	}{
		{name: "a review without a request is refused", edit: func(r *admission.Request) { *r = admission.Request{} },
			want: "has no request"},
		{name: "a CREATE without an object is refused", edit: func(r *admission.Request) {
			r.Operation = admissionv1.Create
			r.Object.Raw = nil
		}, want: "request.object: object missing"},
		{name: "an UPDATE without the old object is refused", edit: func(r *admission.Request) { r.OldObject.Raw = nil },
			want: "request.oldObject: object missing"},
		{name: "an object that is not JSON is refused", edit: func(r *admission.Request) { r.Object.Raw = []byte("{not json") },
			want: "decode request.object as a Pod"},
		{name: "a Deployment sent as a Pod is refused", edit: func(r *admission.Request) {
			r.Object.Raw = []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}`)
		}, want: "request.object is a apps/v1 Deployment, but the request is for a v1 Pod"},
		{name: "a pod whose containers are not a list is refused", edit: func(r *admission.Request) {
			r.Object.Raw = []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":"nginx"}}`)
		}, want: "decode request.object as a Pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			req.Object.Raw = append([]byte(nil), base.Object.Raw...)
			tt.edit(&req)
			for name, h := range map[string]admission.Handler{
				"mutate":   &Mutator{Sources{Policies: p}},
				"validate": &Validator{Sources{Policies: p}},
			} {
				resp := h.Handle(context.Background(), req)
				if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusBadRequest {
					t.Errorf("/%s: allowed=%v result=%+v, want refused with 400", name, resp.Allowed, resp.Result)
					continue
				}
				if !strings.Contains(resp.Result.Message, tt.want) {
					t.Errorf("/%s message = %q, want it to contain %q", name, resp.Result.Message, tt.want)
				}
			}
		})
	}
}

// panickingPolicy makes the handler panic where it reads the policy.
type panickingPolicy struct{}

func (panickingPolicy) Current() *policy.Policy { panic("boom") }

func TestAPanicIsAnsweredWith500(t *testing.T) {
	fx := fixtureNamed(t, "pod-create-enforce")
	for name, h := range map[string]admission.Handler{
		"mutate":   &Mutator{Sources{Policies: panickingPolicy{}}},
		"validate": &Validator{Sources{Policies: panickingPolicy{}}},
	} {
		t.Run("/"+name+" answers a panic with 500 and no details", func(t *testing.T) {
			resp := h.Handle(context.Background(), fx.req)
			if resp.Allowed || resp.Result.Code != http.StatusInternalServerError {
				t.Fatalf("allowed=%v code=%d, want refused with 500", resp.Allowed, resp.Result.Code)
			}
			if strings.Contains(resp.Result.Message, "boom") {
				t.Errorf("message %q leaks the panic", resp.Result.Message)
			}
		})
	}
}

// fakeIngressClasses answers from a fixed set of classes, or fails.
type fakeIngressClasses struct {
	classes map[string]*networkingv1.IngressClass
	err     error
}

func (f *fakeIngressClasses) For(context.Context) policy.IngressClasses { return f }

func (f *fakeIngressClasses) IngressClass(name string) (*networkingv1.IngressClass, bool, error) {
	c, ok := f.classes[name]
	return c, ok, f.err
}

func (f *fakeIngressClasses) DefaultIngressClass() (string, error) { return "", f.err }

func (f *fakeIngressClasses) IngressClassParams(string) (*policy.IngressClassParams, bool, error) {
	return nil, false, f.err
}

func TestIngressClassLookups(t *testing.T) {
	p := staticPolicy{loadTestPolicy(t)}
	base := fixtureNamed(t, "ingress-create-enforce").req
	withClass := func(class string) admission.Request {
		req := base
		var obj map[string]any
		if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
			t.Fatal(err)
		}
		obj["spec"].(map[string]any)["ingressClassName"] = class
		req.Object.Raw, _ = json.Marshal(obj)
		return req
	}
	albInternal := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb-internal"}, Spec: networkingv1.IngressClassSpec{Controller: policy.ALBController}}
	tests := []struct {
		name       string
		class      string
		lookup     IngressClassLookup
		wantDenied bool
	}{
		{"a class of another name served by the ALB controller is ALB", "alb-internal", &fakeIngressClasses{classes: map[string]*networkingv1.IngressClass{"alb-internal": albInternal}}, true},
		{"without lookups only the class name alb counts", "alb-internal", nil, false},
		{"a failed lookup falls back to the class name", "alb", &fakeIngressClasses{err: errors.New("connection refused")}, true},
		{"a class named alb of another controller is not ALB", "alb", &fakeIngressClasses{classes: map[string]*networkingv1.IngressClass{"alb": {ObjectMeta: metav1.ObjectMeta{Name: "alb"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Validator{Sources{Policies: p, IngressClasses: tt.lookup}}
			resp := v.Handle(context.Background(), withClass(tt.class))
			if denied := !resp.Allowed; denied != tt.wantDenied {
				t.Errorf("denied = %v, want %v (%+v)", denied, tt.wantDenied, resp.Result)
			}
			if tt.wantDenied && !strings.Contains(resp.Result.Message, "[alb-certificate-discovery]") {
				t.Errorf("message %q does not name the rule", resp.Result.Message)
			}
		})
	}
}

func TestAnExceptionAllowsWithoutAWarningAndIsCounted(t *testing.T) {
	p := staticPolicy{loadTestPolicy(t)}
	counter := metrics.Exempted.WithLabelValues("image-registry", "vendor-batch")
	before := testutil.ToFloat64(counter)
	resp := (&Validator{Sources{Policies: p}}).Handle(context.Background(), fixtureNamed(t, "pod-create-exempt-enforce").req)
	if !resp.Allowed || len(resp.Warnings) != 0 {
		t.Errorf("allowed %v with warnings %q; an exempt violation is allowed without a warning", resp.Allowed, resp.Warnings)
	}
	if got := testutil.ToFloat64(counter) - before; got != 1 {
		t.Errorf("privateguard_exempted_total{rule=image-registry,exception=vendor-batch} grew by %v, want 1", got)
	}
}
