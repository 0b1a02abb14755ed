package framework

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/yaml"
)

// HelmRelease installs, upgrades and uninstalls the chart with the Helm SDK's actions
// against the test API server, as `helm install/upgrade/uninstall` would; the release
// record is kept in a Secret in the release namespace, Helm's default.
type HelmRelease struct {
	cfg       *action.Configuration
	chart     *chart.Chart
	name      string
	namespace string
	// PostRenderer adapts the rendered manifests before they are applied, as
	// `helm --post-renderer` does; nil applies them as rendered.
	PostRenderer *LocalWebhookPostRenderer
}

// NewHelmRelease loads the chart at chartDir for release name in namespace, reaching the
// API server through kubeconfig.
func NewHelmRelease(kubeconfig, chartDir, name, namespace string) (*HelmRelease, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", chartDir, err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	flags.Namespace = &namespace
	cfg := &action.Configuration{}
	if err := cfg.Init(flags, namespace, "secret", func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return &HelmRelease{cfg: cfg, chart: ch, name: name, namespace: namespace}, nil
}

// Install is `helm install NAME CHART -n NAMESPACE` with values; it does not wait for the
// Deployment (there is no kubelet to run its pods).
func (h *HelmRelease) Install(ctx context.Context, values map[string]any) (*release.Release, error) {
	install := action.NewInstall(h.cfg)
	install.ReleaseName, install.Namespace = h.name, h.namespace
	install.Timeout = time.Minute
	if h.PostRenderer != nil {
		install.PostRenderer = h.PostRenderer
	}
	rel, err := install.RunWithContext(ctx, h.chart, values)
	if err != nil {
		return nil, fmt.Errorf("helm install %s: %w", h.name, err)
	}
	return rel, nil
}

// Upgrade is `helm upgrade NAME CHART` with values (not reused: the caller passes them
// all).
func (h *HelmRelease) Upgrade(ctx context.Context, values map[string]any) (*release.Release, error) {
	upgrade := action.NewUpgrade(h.cfg)
	upgrade.Namespace = h.namespace
	upgrade.Timeout = time.Minute
	if h.PostRenderer != nil {
		upgrade.PostRenderer = h.PostRenderer
	}
	rel, err := upgrade.RunWithContext(ctx, h.name, h.chart, values)
	if err != nil {
		return nil, fmt.Errorf("helm upgrade %s: %w", h.name, err)
	}
	return rel, nil
}

// Uninstall is `helm uninstall NAME`: it deletes the release's objects and its record.
func (h *HelmRelease) Uninstall() error {
	uninstall := action.NewUninstall(h.cfg)
	uninstall.Timeout = time.Minute
	if _, err := uninstall.Run(h.name); err != nil {
		return fmt.Errorf("helm uninstall %s: %w", h.name, err)
	}
	return nil
}

// LocalWebhookPostRenderer is a Helm post-renderer for a webhook that runs as a local
// process on 127.0.0.1 instead of behind the chart's Service (no kubelet, no pod network
// here). It changes two things and leaves everything else as rendered, the
// cert-manager.io/inject-ca-from annotations included:
//
//   - each webhook's service clientConfig becomes URL + the service's path, with no
//     caBundle of its own: cert-manager's CA injector fills it, as in a cluster;
//   - the serving Certificate (the one that is not a CA) also names IP address
//     127.0.0.1, so the API server can verify the certificate cert-manager issues
//     against that URL.
//
// A post-renderer rather than a patch after install: the release's stored manifest is
// what was applied, so an upgrade and an uninstall track the same objects, and there is
// no moment when the webhooks point at a Service nothing answers.
type LocalWebhookPostRenderer struct {
	// URL is https://127.0.0.1:PORT of the local webhook.
	URL string
}

// Run rewrites the rendered manifests.
func (p *LocalWebhookPostRenderer) Run(rendered *bytes.Buffer) (*bytes.Buffer, error) {
	objs, err := DecodeManifest(rendered.Bytes())
	if err != nil {
		return nil, fmt.Errorf("post-render: %w", err)
	}
	var out bytes.Buffer
	for _, obj := range objs {
		switch obj.GetKind() {
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			if err := redirectWebhooks(obj, p.URL); err != nil {
				return nil, fmt.Errorf("post-render %s %s: %w", obj.GetKind(), obj.GetName(), err)
			}
		case "Certificate":
			if isCA, _, _ := unstructured.NestedBool(obj.Object, "spec", "isCA"); !isCA {
				if err := addIPAddress(obj, "127.0.0.1"); err != nil {
					return nil, fmt.Errorf("post-render Certificate %s: %w", obj.GetName(), err)
				}
			}
		}
		doc, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(doc)
	}
	return &out, nil
}

func addIPAddress(crt *unstructured.Unstructured, ip string) error {
	if net.ParseIP(ip) == nil {
		return fmt.Errorf("%q is not an IP address", ip)
	}
	ips, _, _ := unstructured.NestedStringSlice(crt.Object, "spec", "ipAddresses")
	for _, have := range ips {
		if strings.TrimSpace(have) == ip {
			return nil
		}
	}
	return unstructured.SetNestedStringSlice(crt.Object, append(ips, ip), "spec", "ipAddresses")
}
