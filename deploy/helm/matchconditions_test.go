package helm_test

import (
	"context"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	apiserverwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook"
	predicaterules "k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules"
	"k8s.io/apiserver/pkg/cel/environment"
)

// admissionCase is one request the API server could send, and whether the chart's
// matchConditions let it through to the webhook.
type admissionCase struct {
	name        string
	object      runtime.Object
	resource    schema.GroupVersionResource
	subresource string
	operation   admission.Operation
	wantSent    bool
}

// TestMatchConditionsSkipOnlyMirrorPods evaluates the rendered matchConditions with the
// API server's own CEL compiler and matcher, as the webhook dispatcher does: mirror pods
// are skipped, and every other object (with or without annotations, pod or not) is sent.
// An expression error would make the API server deny the request, so none may occur.
func TestMatchConditionsSkipOnlyMirrorPods(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	m, v := webhookConfigurations(t, r)
	compiler := plugincel.NewConditionCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	accessors := []apiserverwebhook.WebhookAccessor{
		apiserverwebhook.NewMutatingWebhookAccessor("mutating", m.Name, &m.Webhooks[0]),
		apiserverwebhook.NewValidatingWebhookAccessor("validating", v.Name, &v.Webhooks[0]),
	}

	pods := corev1.SchemeGroupVersion.WithResource("pods")
	mirror := map[string]string{corev1.MirrorPodAnnotationKey: "0123456789abcdef"}
	cases := []admissionCase{
		{"a pod without annotations is sent", pod(nil), pods, "", admission.Create, true},
		{"a pod with other annotations is sent", pod(map[string]string{"example.com/owner": "team-a"}), pods, "", admission.Create, true},
		{"a mirror pod is skipped on create", pod(mirror), pods, "", admission.Create, false},
		{"a mirror pod is skipped on update", pod(mirror), pods, "", admission.Update, false},
		{"kubectl debug on a pod is sent", pod(nil), pods, "ephemeralcontainers", admission.Update, true},
		{"a deployment without annotations is sent", deploymentObject(nil), appsv1.SchemeGroupVersion.WithResource("deployments"), "", admission.Create, true},
		{"a deployment carrying the mirror annotation is still sent", deploymentObject(mirror), appsv1.SchemeGroupVersion.WithResource("deployments"), "", admission.Update, true},
		{"a cronjob is sent", cronJob(), batchv1.SchemeGroupVersion.WithResource("cronjobs"), "", admission.Create, true},
		{"an annotated ingress is sent", ingress(), networkingv1.SchemeGroupVersion.WithResource("ingresses"), "", admission.Create, true},
	}

	for _, acc := range accessors {
		matcher := acc.GetCompiledMatcher(compiler)
		for _, tc := range cases {
			t.Run(acc.GetType()+": "+tc.name, func(t *testing.T) {
				gvk := tc.object.GetObjectKind().GroupVersionKind()
				meta := tc.object.(metav1.Object)
				var old runtime.Object
				if tc.operation == admission.Update {
					old = tc.object
				}
				attr := admission.NewAttributesRecord(tc.object, old, gvk, meta.GetNamespace(), meta.GetName(),
					tc.resource, tc.subresource, tc.operation, nil, false, nil)
				versioned, err := admission.NewVersionedAttributes(attr, gvk, nil)
				if err != nil {
					t.Fatal(err)
				}
				result := matcher.Match(context.Background(), versioned, nil, nil)
				if result.Error != nil {
					t.Fatalf("match condition failed (the API server would deny the request): %v", result.Error)
				}
				if result.Matches != tc.wantSent {
					t.Errorf("sent to the webhook = %t, want %t (failed condition %q)", result.Matches, tc.wantSent, result.FailedConditionName)
				}
			})
		}
	}
}

// ruleCovers reports whether the API server's rule matcher sends the operation on
// resource/subresource of a namespaced object to a webhook with rules.
func ruleCovers(rules []admissionregistrationv1.RuleWithOperations, op admission.Operation, gvr schema.GroupVersionResource, subresource string) bool {
	attr := admission.NewAttributesRecord(nil, nil, schema.GroupVersionKind{}, "default", "web", gvr, subresource, op, nil, false, nil)
	for _, r := range rules {
		if (&predicaterules.Matcher{Rule: r, Attr: attr}).Matches() {
			return true
		}
	}
	return false
}

// TestStatusUpdatesOfRunningPodsAreNotSent: SPEC section 4 requires that status and label
// updates of running pods keep working; pods/status is not in the rules, and DELETE is not
// either.
func TestStatusUpdatesOfRunningPodsAreNotSent(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	m, v := webhookConfigurations(t, r)
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	for name, rules := range map[string][]admissionregistrationv1.RuleWithOperations{
		"mutating": m.Webhooks[0].Rules, "validating": v.Webhooks[0].Rules,
	} {
		if ruleCovers(rules, admission.Update, pods, "status") {
			t.Errorf("%s webhook receives pods/status updates", name)
		}
		if ruleCovers(rules, admission.Delete, pods, "") {
			t.Errorf("%s webhook receives pod deletions", name)
		}
		if !ruleCovers(rules, admission.Update, pods, "ephemeralcontainers") {
			t.Errorf("%s webhook misses kubectl debug (pods/ephemeralcontainers)", name)
		}
	}
	if ruleCovers(m.Webhooks[0].Rules, admission.Create, appsv1.SchemeGroupVersion.WithResource("deployments"), "") {
		t.Errorf("the mutating webhook receives deployments: templates must never be mutated")
	}
}

func pod(annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
	}
}

func deploymentObject(annotations map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: annotations},
	}
}

func cronJob() *batchv1.CronJob {
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default"},
		Spec:       batchv1.CronJobSpec{Schedule: "0 3 * * *"},
	}
}

func ingress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{
			"alb.ingress.kubernetes.io/scheme": "internal",
		}},
	}
}
