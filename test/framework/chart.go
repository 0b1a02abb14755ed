package framework

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// DecodeManifest splits multi-document YAML (or JSON) into objects, skipping empty
// documents.
func DecodeManifest(manifest []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(obj) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: obj})
	}
}

// redirectWebhooks points each service webhook of a webhook configuration at url + its
// service path, with no caBundle of its own; other objects are left alone.
func redirectWebhooks(obj *unstructured.Unstructured, url string) error {
	switch obj.GetKind() {
	case "MutatingWebhookConfiguration":
		var cfg admissionregistrationv1.MutatingWebhookConfiguration
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cfg); err != nil {
			return err
		}
		for i := range cfg.Webhooks {
			redirect(&cfg.Webhooks[i].ClientConfig, url)
		}
		return toUnstructured(&cfg, obj)
	case "ValidatingWebhookConfiguration":
		var cfg admissionregistrationv1.ValidatingWebhookConfiguration
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cfg); err != nil {
			return err
		}
		for i := range cfg.Webhooks {
			redirect(&cfg.Webhooks[i].ClientConfig, url)
		}
		return toUnstructured(&cfg, obj)
	}
	return nil
}

// redirect points a service clientConfig at base + the service's path; a URL one is left
// as it is.
func redirect(cc *admissionregistrationv1.WebhookClientConfig, base string) {
	if cc.Service == nil {
		return
	}
	path := ""
	if cc.Service.Path != nil {
		path = *cc.Service.Path
	}
	url := base + path
	cc.Service, cc.URL, cc.CABundle = nil, &url, nil
}

func toUnstructured(in runtime.Object, out *unstructured.Unstructured) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(in)
	if err != nil {
		return err
	}
	out.Object = m
	out.SetAPIVersion(admissionregistrationv1.SchemeGroupVersion.String())
	return nil
}
