package framework

import (
	"bytes"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const renderedChart = `---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: pg-ca, namespace: pg}
spec: {isCA: true, secretName: pg-ca}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: pg-serving, namespace: pg}
spec:
  secretName: pg-tls
  dnsNames: [pg.pg.svc]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: pg
  annotations: {cert-manager.io/inject-ca-from: pg/pg-serving}
webhooks:
  - name: validate.privateguard.io
    clientConfig:
      service: {name: pg, namespace: pg, path: /validate, port: 443}
    sideEffects: None
    admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: pg
  annotations: {cert-manager.io/inject-ca-from: pg/pg-serving}
webhooks:
  - name: mutate.privateguard.io
    clientConfig:
      service: {name: pg, namespace: pg, path: /mutate, port: 443}
    sideEffects: None
    admissionReviewVersions: [v1]
`

func TestLocalWebhookPostRenderer(t *testing.T) {
	p := &LocalWebhookPostRenderer{URL: "https://127.0.0.1:9443"}
	out, err := p.Run(bytes.NewBufferString(renderedChart))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeManifest(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 4 {
		t.Fatalf("post-rendering kept %d objects, want 4", len(objs))
	}
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		byName[o.GetKind()+"/"+o.GetName()] = o
	}

	t.Run("the serving certificate also names 127.0.0.1, the CA does not", func(t *testing.T) {
		ips, _, _ := unstructured.NestedStringSlice(byName["Certificate/pg-serving"].Object, "spec", "ipAddresses")
		if len(ips) != 1 || ips[0] != "127.0.0.1" {
			t.Errorf("serving ipAddresses = %v, want [127.0.0.1]", ips)
		}
		dns, _, _ := unstructured.NestedStringSlice(byName["Certificate/pg-serving"].Object, "spec", "dnsNames")
		if len(dns) != 1 {
			t.Errorf("dnsNames changed: %v", dns)
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(byName["Certificate/pg-ca"].Object, "spec", "ipAddresses"); found {
			t.Error("the CA Certificate was given an IP address")
		}
	})
	t.Run("each webhook calls the local URL with its service path and keeps the injector annotation", func(t *testing.T) {
		for key, want := range map[string]string{
			"ValidatingWebhookConfiguration/pg": "https://127.0.0.1:9443/validate",
			"MutatingWebhookConfiguration/pg":   "https://127.0.0.1:9443/mutate",
		} {
			obj := byName[key]
			hooks, _, _ := unstructured.NestedSlice(obj.Object, "webhooks")
			cc := hooks[0].(map[string]any)["clientConfig"].(map[string]any)
			if cc["url"] != want || cc["service"] != nil || cc["caBundle"] != nil {
				t.Errorf("%s clientConfig = %v, want only url %s", key, cc, want)
			}
			if obj.GetAnnotations()["cert-manager.io/inject-ca-from"] != "pg/pg-serving" {
				t.Errorf("%s lost its inject-ca-from annotation: %v", key, obj.GetAnnotations())
			}
		}
	})
	t.Run("post-rendering twice changes nothing more", func(t *testing.T) {
		again, err := p.Run(bytes.NewBuffer(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if again.String() != out.String() {
			t.Errorf("second post-render differs:\n%s\nvs\n%s", again, out)
		}
	})
}
