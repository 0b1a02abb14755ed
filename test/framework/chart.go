package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RenderChart renders the chart at dir as `helm install --dry-run` would, through the Helm
// SDK, and returns its objects in manifest order.
func RenderChart(dir, release, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	chart, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.ReleaseName = release
	install.Namespace = namespace
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}
	rel, err := install.Run(chart, values)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", dir, err)
	}
	objs, err := DecodeManifest([]byte(rel.Manifest))
	if err != nil {
		return nil, fmt.Errorf("rendered manifest: %w", err)
	}
	return objs, nil
}

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

// ApplyOptions changes the rendered objects before they are created.
type ApplyOptions struct {
	// WebhookURL, when set, points each webhook's clientConfig at WebhookURL + its
	// service path (the webhook runs on 127.0.0.1, not behind the chart's Service), with
	// CABundle as its CA.
	WebhookURL string
	CABundle   []byte
}

// Apply creates every object in the API server, in order, and returns the first error
// naming the object. Webhook configurations are redirected as opts says.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, opts ApplyOptions) error {
	for _, obj := range objs {
		obj = obj.DeepCopy()
		if opts.WebhookURL != "" {
			if err := redirectWebhooks(obj, opts); err != nil {
				return err
			}
		}
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("create %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

func redirectWebhooks(obj *unstructured.Unstructured, opts ApplyOptions) error {
	switch obj.GetKind() {
	case "MutatingWebhookConfiguration":
		var cfg admissionregistrationv1.MutatingWebhookConfiguration
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cfg); err != nil {
			return err
		}
		for i := range cfg.Webhooks {
			redirect(&cfg.Webhooks[i].ClientConfig, opts)
		}
		return toUnstructured(&cfg, obj)
	case "ValidatingWebhookConfiguration":
		var cfg admissionregistrationv1.ValidatingWebhookConfiguration
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cfg); err != nil {
			return err
		}
		for i := range cfg.Webhooks {
			redirect(&cfg.Webhooks[i].ClientConfig, opts)
		}
		return toUnstructured(&cfg, obj)
	}
	return nil
}

func redirect(cc *admissionregistrationv1.WebhookClientConfig, opts ApplyOptions) {
	path := ""
	if cc.Service != nil && cc.Service.Path != nil {
		path = *cc.Service.Path
	}
	url := opts.WebhookURL + path
	cc.Service, cc.URL, cc.CABundle = nil, &url, opts.CABundle
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
