package helm_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/privateguard/privateguard/pkg/policy"
)

// Rules of SPEC section 4: pods (and kubectl debug's ephemeral containers) are mutated and
// validated; workloads and Ingresses are validated only.
var (
	wantMutatingRules = []admissionregistrationv1.RuleWithOperations{
		rule([]string{""}, "pods", "pods/ephemeralcontainers"),
	}
	wantValidatingRules = []admissionregistrationv1.RuleWithOperations{
		rule([]string{""}, "pods", "pods/ephemeralcontainers", "replicationcontrollers"),
		rule([]string{"apps"}, "deployments", "statefulsets", "daemonsets", "replicasets"),
		rule([]string{"batch"}, "jobs", "cronjobs"),
		rule([]string{"networking.k8s.io"}, "ingresses"),
	}
)

func rule(groups []string, resources ...string) admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.NamespacedScope
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups:   groups,
			APIVersions: []string{"v1"},
			Resources:   resources,
			Scope:       &scope,
		},
	}
}

func TestWebhookConfigurations(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	m, v := webhookConfigurations(t, r)
	mutating, validating := commonWebhooks(t, r)

	t.Run("they are named as the README's break-glass commands say", func(t *testing.T) {
		if m.Name != "privateguard" || v.Name != "privateguard" {
			t.Errorf("names %q and %q, want privateguard", m.Name, v.Name)
		}
		if mutating.Name != "mutate.privateguard.io" || validating.Name != "validate.privateguard.io" {
			t.Errorf("webhook names %q and %q", mutating.Name, validating.Name)
		}
	})

	t.Run("rules cover the kinds and operations of SPEC section 4", func(t *testing.T) {
		if diff := cmp.Diff(wantMutatingRules, mutating.Rules); diff != "" {
			t.Errorf("mutating rules (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantValidatingRules, validating.Rules); diff != "" {
			t.Errorf("validating rules (-want +got):\n%s", diff)
		}
	})

	t.Run("the API server calls the chart's Service on the paths of SPEC section 4", func(t *testing.T) {
		var svc corev1.Service
		r.decode(t, "Service", "privateguard", &svc)
		for w, path := range map[*webhook]string{&mutating: "/mutate", &validating: "/validate"} {
			s := w.ClientConfig.Service
			if s == nil || s.Name != svc.Name || s.Namespace != "privateguard" || s.Path == nil || *s.Path != path {
				t.Errorf("%s clientConfig.service = %+v, want %s/%s%s", w.Name, s, "privateguard", svc.Name, path)
				continue
			}
			if s.Port == nil || *s.Port != svc.Spec.Ports[0].Port {
				t.Errorf("%s calls port %v, the Service's https port is %d", w.Name, s.Port, svc.Spec.Ports[0].Port)
			}
			if w.ClientConfig.URL != nil {
				t.Errorf("%s has a URL as well as a service", w.Name)
			}
		}
	})

	t.Run("failure policies: validating fails closed, mutating fails open", func(t *testing.T) {
		if p := validating.FailurePolicy; p == nil || *p != admissionregistrationv1.Fail {
			t.Errorf("validating failurePolicy = %v, want Fail", p)
		}
		if p := mutating.FailurePolicy; p == nil || *p != admissionregistrationv1.Ignore {
			t.Errorf("mutating failurePolicy = %v, want Ignore", p)
		}
	})

	t.Run("reinvocation, side effects, review versions and timeout", func(t *testing.T) {
		if p := m.Webhooks[0].ReinvocationPolicy; p == nil || *p != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("mutating reinvocationPolicy = %v, want IfNeeded", p)
		}
		for _, w := range []webhook{mutating, validating} {
			if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
				t.Errorf("%s sideEffects = %v, want None", w.Name, w.SideEffects)
			}
			if !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
				t.Errorf("%s admissionReviewVersions = %v, want [v1]", w.Name, w.AdmissionReviewVersions)
			}
			if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 10 {
				t.Errorf("%s timeoutSeconds = %v, want 10", w.Name, w.TimeoutSeconds)
			}
			if w.MatchPolicy == nil || *w.MatchPolicy != admissionregistrationv1.Equivalent {
				t.Errorf("%s matchPolicy = %v, want Equivalent", w.Name, w.MatchPolicy)
			}
			if w.ObjectSelector != nil && (len(w.ObjectSelector.MatchLabels) != 0 || len(w.ObjectSelector.MatchExpressions) != 0) {
				t.Errorf("%s has an objectSelector %+v: a label would let any pod skip the policy", w.Name, w.ObjectSelector)
			}
		}
	})

	t.Run("the main entries never receive kube-system (it has its own), kube-node-lease or the release namespace", func(t *testing.T) {
		want := []string{"kube-system", "kube-node-lease", "privateguard"}
		for _, w := range []webhook{mutating, validating} {
			if diff := cmp.Diff(want, excludedNamespaces(t, w)); diff != "" {
				t.Errorf("%s excluded namespaces (-want +got):\n%s", w.Name, diff)
			}
		}
	})

	t.Run("mirror pods are skipped by a match condition", func(t *testing.T) {
		for _, w := range []webhook{mutating, validating} {
			if len(w.MatchConditions) != 1 || w.MatchConditions[0].Name != "skip-mirror-pods" ||
				!strings.Contains(w.MatchConditions[0].Expression, "kubernetes.io/config.mirror") {
				t.Errorf("%s matchConditions = %+v, want skip-mirror-pods on kubernetes.io/config.mirror", w.Name, w.MatchConditions)
			}
		}
	})

	t.Run("cert-manager injects the CA of the serving certificate into both", func(t *testing.T) {
		for _, meta := range []metav1.ObjectMeta{m.ObjectMeta, v.ObjectMeta} {
			if got := meta.Annotations["cert-manager.io/inject-ca-from"]; got != "privateguard/privateguard-serving" {
				t.Errorf("%s inject-ca-from = %q, want privateguard/privateguard-serving", meta.Name, got)
			}
		}
		if !r.has("Certificate", "privateguard-serving") {
			t.Errorf("the Certificate named by inject-ca-from is not rendered")
		}
		for _, w := range []webhook{mutating, validating} {
			if len(w.ClientConfig.CABundle) != 0 {
				t.Errorf("%s has a caBundle although cert-manager injects it", w.Name)
			}
		}
	})
}

// webhookResource is one resource or subresource a webhook rule sends, as
// "group/version resource" ("v1 pods/ephemeralcontainers" for the core group).
type webhookResource string

func resourceOf(gv schema.GroupVersion, resource string) webhookResource {
	return webhookResource(gv.String() + " " + resource)
}

// kindResources lists what the webhook of the kinds for which judged is true must
// receive: each kind's resource and its subresources, at the kind's group and version.
func kindResources(kinds []policy.Kind, judged func(*policy.Kind) bool) []webhookResource {
	var want []webhookResource
	for i := range kinds {
		k := &kinds[i]
		if !judged(k) {
			continue
		}
		gv := k.GVK.GroupVersion()
		want = append(want, resourceOf(gv, k.Resource))
		for _, sub := range k.Subresources {
			want = append(want, resourceOf(gv, k.Resource+"/"+sub))
		}
	}
	return want
}

// ruleResources lists what rules send, each with the operations it is sent for.
func ruleResources(rules []admissionregistrationv1.RuleWithOperations) map[webhookResource][]admissionregistrationv1.OperationType {
	got := map[webhookResource][]admissionregistrationv1.OperationType{}
	for _, r := range rules {
		for _, group := range r.APIGroups {
			for _, version := range r.APIVersions {
				for _, resource := range r.Resources {
					key := resourceOf(schema.GroupVersion{Group: group, Version: version}, resource)
					got[key] = append(got[key], r.Operations...)
				}
			}
		}
	}
	return got
}

// missingAndExtra compares what rules send with want.
func missingAndExtra(rules []admissionregistrationv1.RuleWithOperations, want []webhookResource) (missing, extra []webhookResource) {
	got := ruleResources(rules)
	for _, w := range want {
		if _, ok := got[w]; !ok {
			missing = append(missing, w)
		}
	}
	for g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	slices.Sort(extra)
	return missing, extra
}

// TestWebhookRulesAreTheEnginesKinds ties the chart's webhook rules to policy.Kinds, the
// table the admission handlers route by: the mutating webhook receives exactly the kinds
// the engine mutates and the validating webhook exactly those it validates, on CREATE and
// UPDATE. A kind added to the table and not to the chart (or the reverse) fails here
// instead of being silently never admitted.
func TestWebhookRulesAreTheEnginesKinds(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.decode(t, "MutatingWebhookConfiguration", "privateguard", &m)
	r.decode(t, "ValidatingWebhookConfiguration", "privateguard", &v)

	if len(m.Webhooks) == 0 || len(v.Webhooks) == 0 {
		t.Fatalf("chart renders %d mutating and %d validating webhooks, want at least one of each", len(m.Webhooks), len(v.Webhooks))
	}
	// Every webhook of a configuration receives the same kinds; they differ only in the
	// namespaces they select and how they fail.
	webhooks := map[string][]admissionregistrationv1.RuleWithOperations{}
	for _, w := range m.Webhooks {
		webhooks["mutating webhook "+w.Name] = w.Rules
	}
	for _, w := range v.Webhooks {
		webhooks["validating webhook "+w.Name] = w.Rules
	}
	mutated := kindResources(policy.Kinds, (*policy.Kind).Mutated)
	validated := kindResources(policy.Kinds, (*policy.Kind).Validated)
	wantOps := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}

	for name, rules := range webhooks {
		t.Run(name, func(t *testing.T) {
			want, what := validated, "validates"
			if strings.HasPrefix(name, "mutating") {
				want, what = mutated, "mutates"
			}
			missing, extra := missingAndExtra(rules, want)
			for _, res := range missing {
				t.Errorf("rules lack %s: policy.Kinds says the engine %s it", res, what)
			}
			for _, res := range extra {
				t.Errorf("rules send %s: policy.Kinds says the engine never %s it", res, what)
			}
			for res, ops := range ruleResources(rules) {
				ops = slices.Clone(ops)
				slices.Sort(ops)
				if !slices.Equal(ops, wantOps) {
					t.Errorf("rules send %s on %v, want %v", res, ops, wantOps)
				}
			}
		})
	}

	t.Run("a kind added to the table is named when the chart lacks it", func(t *testing.T) {
		kinds := append(slices.Clone(policy.Kinds), policy.Kind{
			GVK:      schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ControllerRevision"},
			Resource: "controllerrevisions", Role: policy.RoleWorkload,
			Subresources: []string{"scale"},
		})
		missing, extra := missingAndExtra(v.Webhooks[0].Rules, kindResources(kinds, (*policy.Kind).Validated))
		want := []webhookResource{"apps/v1 controllerrevisions", "apps/v1 controllerrevisions/scale"}
		if !slices.Equal(missing, want) || len(extra) != 0 {
			t.Errorf("missing %v extra %v, want missing %v", missing, extra, want)
		}
	})
}

// TestKubeSystemHasItsOwnEntries checks SPEC section 7: kube-system, where the add-ons of
// the AWS guide run, gets its own entry in each configuration, which fails open whatever
// the main entries do, while the main entries keep excluding it.
func TestKubeSystemHasItsOwnEntries(t *testing.T) {
	kubeSystemOnly := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: []string{"kube-system"},
	}}}
	t.Run("by default both configurations cover kube-system alone, failing open", func(t *testing.T) {
		r := mustRender(t, defaultRelease, withRegion("webhook: {failurePolicy: {mutating: Fail, validating: Fail}}\n"))
		mainM, mainV := commonWebhooks(t, r)
		m, v, ok := kubeSystemWebhooks(t, r)
		if !ok {
			t.Fatal("no kube-system entries")
		}
		for _, pair := range [][2]webhook{{m, mainM}, {v, mainV}} {
			ks, main := pair[0], pair[1]
			if p := ks.FailurePolicy; p == nil || *p != admissionregistrationv1.Ignore {
				t.Errorf("%s failurePolicy = %v, want Ignore although the main entry fails closed", ks.Name, p)
			}
			if diff := cmp.Diff(kubeSystemOnly, ks.NamespaceSelector); diff != "" {
				t.Errorf("%s namespaceSelector (-want +got):\n%s", ks.Name, diff)
			}
			if !slices.Contains(excludedNamespaces(t, main), "kube-system") {
				t.Errorf("%s does not exclude kube-system: it would be called twice there, once failing closed", main.Name)
			}
			// Everything else is the main entry's: the same rules, server and conditions.
			ks.Name, ks.FailurePolicy, ks.NamespaceSelector = main.Name, main.FailurePolicy, main.NamespaceSelector
			if diff := cmp.Diff(main, ks); diff != "" {
				t.Errorf("kube-system's entry differs from the main one beyond name, failure policy and selector (-main +kube-system):\n%s", diff)
			}
		}
		if m.Name != "mutate.kube-system.privateguard.io" || v.Name != "validate.kube-system.privateguard.io" {
			t.Errorf("kube-system entries are named %q and %q", m.Name, v.Name)
		}
		mc, _ := webhookConfigurations(t, r)
		if p := mc.Webhooks[1].ReinvocationPolicy; p == nil || *p != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("kube-system mutating reinvocationPolicy = %v, want IfNeeded", p)
		}
	})
	t.Run("webhook.kubeSystem.enabled=false leaves kube-system out entirely", func(t *testing.T) {
		r := mustRender(t, defaultRelease, withRegion("webhook: {kubeSystem: {enabled: false}}\n"))
		if _, _, ok := kubeSystemWebhooks(t, r); ok {
			t.Error("kube-system entries rendered although webhook.kubeSystem.enabled is false")
		}
		m, _ := commonWebhooks(t, r)
		if !slices.Contains(excludedNamespaces(t, m), "kube-system") {
			t.Error("the main entry does not exclude kube-system")
		}
	})
	t.Run("a release installed in kube-system never judges its own namespace", func(t *testing.T) {
		r := mustRender(t, release{name: "privateguard", namespace: "kube-system"}, withRegion(""))
		if _, _, ok := kubeSystemWebhooks(t, r); ok {
			t.Error("kube-system entries rendered for a release in kube-system: the webhook would judge its own pods")
		}
	})
}
