package helm_test

import (
	"encoding/base64"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// webhook is what the mutating and the validating webhook have in common.
type webhook struct {
	Name                    string
	ClientConfig            admissionregistrationv1.WebhookClientConfig
	Rules                   []admissionregistrationv1.RuleWithOperations
	FailurePolicy           *admissionregistrationv1.FailurePolicyType
	MatchPolicy             *admissionregistrationv1.MatchPolicyType
	NamespaceSelector       *metav1.LabelSelector
	ObjectSelector          *metav1.LabelSelector
	SideEffects             *admissionregistrationv1.SideEffectClass
	TimeoutSeconds          *int32
	AdmissionReviewVersions []string
	MatchConditions         []admissionregistrationv1.MatchCondition
}

// webhookConfigurations decodes the chart's two webhook configurations.
func webhookConfigurations(t *testing.T, r *renderedChart) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	t.Helper()
	mutating, validating := r.ofKind("MutatingWebhookConfiguration"), r.ofKind("ValidatingWebhookConfiguration")
	if len(mutating) != 1 || len(validating) != 1 {
		t.Fatalf("chart renders mutating %v and validating %v webhook configurations, want one of each", mutating, validating)
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	r.decode(t, "MutatingWebhookConfiguration", mutating[0], &m)
	r.decode(t, "ValidatingWebhookConfiguration", validating[0], &v)
	// The main entry, and kube-system's own entry unless webhook.kubeSystem is off.
	if len(m.Webhooks) < 1 || len(m.Webhooks) > 2 || len(v.Webhooks) != len(m.Webhooks) {
		t.Fatalf("got %d mutating and %d validating webhooks, want the main entry (and kube-system's) in each", len(m.Webhooks), len(v.Webhooks))
	}
	return &m, &v
}

// commonWebhooks returns the main webhook of each configuration in their common form.
func commonWebhooks(t *testing.T, r *renderedChart) (mutating, validating webhook) {
	t.Helper()
	m, v := webhookConfigurations(t, r)
	return commonMutating(m.Webhooks[0]), commonValidating(v.Webhooks[0])
}

// kubeSystemWebhooks returns kube-system's entry of each configuration; ok is false when
// the chart renders none.
func kubeSystemWebhooks(t *testing.T, r *renderedChart) (mutating, validating webhook, ok bool) {
	t.Helper()
	m, v := webhookConfigurations(t, r)
	if len(m.Webhooks) < 2 {
		return webhook{}, webhook{}, false
	}
	return commonMutating(m.Webhooks[1]), commonValidating(v.Webhooks[1]), true
}

func commonMutating(mw admissionregistrationv1.MutatingWebhook) webhook {
	return webhook{mw.Name, mw.ClientConfig, mw.Rules, mw.FailurePolicy, mw.MatchPolicy, mw.NamespaceSelector,
		mw.ObjectSelector, mw.SideEffects, mw.TimeoutSeconds, mw.AdmissionReviewVersions, mw.MatchConditions}
}

func commonValidating(vw admissionregistrationv1.ValidatingWebhook) webhook {
	return webhook{vw.Name, vw.ClientConfig, vw.Rules, vw.FailurePolicy, vw.MatchPolicy, vw.NamespaceSelector,
		vw.ObjectSelector, vw.SideEffects, vw.TimeoutSeconds, vw.AdmissionReviewVersions, vw.MatchConditions}
}

func excludedNamespaces(t *testing.T, w webhook) []string {
	t.Helper()
	sel := w.NamespaceSelector
	if sel == nil || len(sel.MatchLabels) != 0 || len(sel.MatchExpressions) != 1 {
		t.Fatalf("webhook %s namespaceSelector = %+v, want one matchExpression", w.Name, sel)
	}
	e := sel.MatchExpressions[0]
	if e.Key != corev1.LabelMetadataName || e.Operator != metav1.LabelSelectorOpNotIn {
		t.Fatalf("webhook %s namespaceSelector expression %+v, want %s NotIn", w.Name, e, corev1.LabelMetadataName)
	}
	return e.Values
}

func deployment(t *testing.T, r *renderedChart) *appsv1.Deployment {
	t.Helper()
	names := r.ofKind("Deployment")
	if len(names) != 1 {
		t.Fatalf("chart renders deployments %v, want exactly one", names)
	}
	var d appsv1.Deployment
	r.decode(t, "Deployment", names[0], &d)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment has %d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	return &d
}

// flagValue returns the value of --name=value in args, and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q (ports %+v)", c.Name, name, c.Ports)
	return 0
}

func volume(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("pod spec has no volume %q", name)
	return corev1.Volume{}
}

// testCABundle is a base64 PEM certificate, as `base64 -w0 ca.crt` prints it.
var testCABundle = base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2FidW5kbGU=\n-----END CERTIFICATE-----\n"))

// userTLSValues installs without cert-manager, with the user's TLS secret and CA bundle.
var userTLSValues = `
certManager:
  enabled: false
tls:
  secretName: privateguard-user-tls
  caBundle: ` + testCABundle + `
`
