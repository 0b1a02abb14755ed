// Package helm_test checks the privateguard Helm chart with the Helm SDK: it lints the
// chart, renders it as `helm template` would, decodes every rendered object strictly into
// its typed Kubernetes API struct (an unknown or misspelled field fails the test), and
// asserts the properties that SPEC section 7 promises.
package helm_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	// chartDir is the chart under test, relative to this package.
	chartDir = "privateguard"

	// testRegion is the region every render sets unless a case says otherwise.
	testRegion = "us-west-2"
)

// minKubeVersion is the oldest Kubernetes the chart supports (Chart.yaml kubeVersion):
// matchConditions on admission webhooks are GA since 1.30. Rendering for it proves the
// chart uses nothing newer.
var minKubeVersion = &chartutil.KubeVersion{Version: "v1.30.0", Major: "1", Minor: "30"}

// release names the release the way `helm install NAME CHART -n NAMESPACE` does.
type release struct {
	name      string
	namespace string
}

// defaultRelease is the README's `helm install privateguard ... -n privateguard`.
var defaultRelease = release{name: "privateguard", namespace: "privateguard"}

// renderedChart is the output of one client-side install: the manifests keyed by
// "Kind/name", the NOTES and the hooks.
type renderedChart struct {
	objects  map[string][]byte
	manifest string
	notes    string
	hooks    []string
}

// values parses a values snippet as `helm install -f` would read it.
func values(t *testing.T, snippet string) chartutil.Values {
	t.Helper()
	vals, err := chartutil.ReadValues([]byte(snippet))
	if err != nil {
		t.Fatalf("values snippet does not parse: %v\n%s", err, snippet)
	}
	return vals
}

// withRegion returns snippet with policy.region set, as every real install must. Lines
// of snippet indented by two spaces continue the policy map ("  mode: audit\n").
func withRegion(snippet string) string {
	return "policy:\n  region: " + testRegion + "\n" + snippet
}

// renderChart renders the chart like `helm template` (client-only, schema validated) for
// the oldest supported Kubernetes and returns the error Helm would print.
func renderChart(rel release, vals chartutil.Values) (*renderedChart, error) {
	return renderChartFor(minKubeVersion, rel, vals)
}

// renderChartFor renders the chart as for a cluster running kube.
func renderChartFor(kube *chartutil.KubeVersion, rel release, vals chartutil.Values) (*renderedChart, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.ClientOnly = true
	install.DryRun = true
	install.ReleaseName = rel.name
	install.Namespace = rel.namespace
	install.KubeVersion = kube
	r, err := install.RunWithContext(context.Background(), chrt, vals)
	if err != nil {
		return nil, err
	}

	out := &renderedChart{objects: map[string][]byte{}, manifest: r.Manifest, notes: r.Info.Notes}
	for _, h := range r.Hooks {
		out.hooks = append(out.hooks, h.Path)
	}
	for _, doc := range releaseutil.SplitManifests(r.Manifest) {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, fmt.Errorf("rendered document is not YAML: %w\n%s", err, doc)
		}
		if meta.Kind == "" {
			continue
		}
		key := meta.Kind + "/" + meta.Metadata.Name
		if _, dup := out.objects[key]; dup {
			return nil, fmt.Errorf("chart renders %s twice", key)
		}
		out.objects[key] = []byte(doc)
	}
	return out, nil
}

// mustRender renders the chart and fails the test if Helm refuses.
func mustRender(t *testing.T, rel release, snippet string) *renderedChart {
	t.Helper()
	out, err := renderChart(rel, values(t, snippet))
	if err != nil {
		t.Fatalf("chart does not render: %v", err)
	}
	return out
}

// has reports whether the chart rendered kind/name.
func (r *renderedChart) has(kind, name string) bool {
	_, ok := r.objects[kind+"/"+name]
	return ok
}

// keys lists "Kind/name" of every rendered object, sorted.
func (r *renderedChart) keys() []string {
	keys := make([]string, 0, len(r.objects))
	for k := range r.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ofKind lists the names of the rendered objects of kind, sorted.
func (r *renderedChart) ofKind(kind string) []string {
	var names []string
	for _, k := range r.keys() {
		if name, ok := strings.CutPrefix(k, kind+"/"); ok {
			names = append(names, name)
		}
	}
	return names
}

// decode unmarshals kind/name strictly into obj: a field the typed struct does not know
// (a typo in a template) fails the test instead of being dropped silently.
func (r *renderedChart) decode(t *testing.T, kind, name string, obj any) {
	t.Helper()
	doc, ok := r.objects[kind+"/"+name]
	if !ok {
		t.Fatalf("chart renders no %s/%s; it renders %v", kind, name, r.keys())
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s/%s does not decode strictly: %v\n%s", kind, name, err, doc)
	}
}

// metadata decodes only the object metadata of kind/name, for checks across every kind.
func (r *renderedChart) metadata(t *testing.T, kind, name string) metav1.PartialObjectMetadata {
	t.Helper()
	var obj metav1.PartialObjectMetadata
	if err := yaml.Unmarshal(r.objects[kind+"/"+name], &obj); err != nil {
		t.Fatalf("%s/%s metadata: %v", kind, name, err)
	}
	return obj
}
