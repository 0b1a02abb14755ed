package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// describeResources lists resources as "source: apiVersion kind namespace/name", with the
// Go type for the typed ones.
func describeResources(resources []Resource) []string {
	var out []string
	for _, r := range resources {
		gvk := r.Object.GetObjectKind().GroupVersionKind()
		m := r.Object.(metav1.Object)
		typed := "typed"
		if _, partial := r.Object.(*metav1.PartialObjectMetadata); partial {
			typed = "metadata"
		}
		out = append(out, r.Source+": "+gvk.GroupVersion().String()+" "+gvk.Kind+" "+m.GetNamespace()+"/"+m.GetName()+" ("+typed+")")
	}
	return out
}

func TestManifestReaderRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		stdin string
		paths []string
		want  []string
	}{
		{
			name:  "a directory is read recursively in lexical order, hidden entries and other extensions left out",
			files: map[string]string{"m/b.yml": pod("b"), "m/a/z.json": podJSON("z"), "m/c.YAML": pod("c"), "m/.git/x.yaml": "junk: [", "m/.hidden.yaml": "junk: [", "m/notes.txt": "junk: ["},
			paths: []string{"m"},
			want:  []string{"m/a/z.json: v1 Pod /z (typed)", "m/b.yml: v1 Pod /b (typed)", "m/c.YAML: v1 Pod /c (typed)"},
		},
		{
			name:  "paths are read in the order given, and a file named explicitly is read whatever its extension",
			files: map[string]string{"b.txt": pod("b"), "a.yaml": pod("a")},
			paths: []string{"b.txt", "a.yaml"},
			want:  []string{"b.txt: v1 Pod /b (typed)", "a.yaml: v1 Pod /a (typed)"},
		},
		{
			name:  "stdin is read for -",
			stdin: "---\n" + pod("in") + "---\n---\n# a comment\n...\n",
			paths: []string{"-"},
			want:  []string{"stdin: v1 Pod /in (typed)"},
		},
		{
			name:  "a JSON stream holds several documents",
			files: map[string]string{"pods.json": podJSON("a") + "\n" + podJSON("b") + "\nnull\n"},
			paths: []string{"pods.json"},
			want:  []string{"pods.json: v1 Pod /a (typed)", "pods.json: v1 Pod /b (typed)"},
		},
		{
			name: "a List's items are read, kinds that are not judged as metadata only",
			files: map[string]string{"list.yaml": "apiVersion: v1\nkind: List\nitems:\n" +
				"- {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: ns}, data: {a: b}}\n" +
				"- {apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}}]}\n" +
				"- {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {anything: 1}}\n"},
			paths: []string{"list.yaml"},
			want:  []string{"list.yaml: v1 ConfigMap ns/c (metadata)", "list.yaml: v1 ServiceAccount /sa (typed)", "list.yaml: example.com/v1 Widget /w (metadata)"},
		},
		{
			name:  "a typed list's items take apiVersion and kind from the list",
			files: map[string]string{"deploys.yaml": "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: d}\n  spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}\n"},
			paths: []string{"deploys.yaml"},
			want:  []string{"deploys.yaml: apps/v1 Deployment /d (typed)"},
		},
		{
			name:  "a YAML stream may hold JSON documents between --- lines, as kubectl reads it",
			files: map[string]string{"pods.yaml": podJSON("a") + "\n---\n" + podJSON("b") + "\n---\n" + pod("c") + "---\n" + podJSON("d") + "\n"},
			paths: []string{"pods.yaml"},
			want:  []string{"pods.yaml: v1 Pod /a (typed)", "pods.yaml: v1 Pod /b (typed)", "pods.yaml: v1 Pod /c (typed)", "pods.yaml: v1 Pod /d (typed)"},
		},
		{
			name:  "a document that starts with { but is a YAML flow mapping is read as YAML",
			files: map[string]string{"pod.yaml": "{apiVersion: v1, kind: Pod, metadata: {name: flow}}\n"},
			paths: []string{"pod.yaml"},
			want:  []string{"pod.yaml: v1 Pod /flow (typed)"},
		},
		{
			name:  "CRLF line ends are read, separators included",
			files: map[string]string{"pods.yaml": strings.ReplaceAll(pod("a")+"---\n"+pod("b"), "\n", "\r\n")},
			paths: []string{"pods.yaml"},
			want:  []string{"pods.yaml: v1 Pod /a (typed)", "pods.yaml: v1 Pod /b (typed)"},
		},
		{
			name:  "a UTF-8 byte order mark is dropped, before YAML or JSON",
			files: map[string]string{"a.yaml": "\ufeff" + pod("a"), "b.json": "\ufeff" + podJSON("b")},
			paths: []string{"a.yaml", "b.json"},
			want:  []string{"a.yaml: v1 Pod /a (typed)", "b.json: v1 Pod /b (typed)"},
		},
		{
			name: "a PodList's items omit apiVersion and kind and take them from the list",
			files: map[string]string{"pods.json": `{"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [` +
				`{"metadata": {"name": "a", "namespace": "ns"}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}},` +
				`{"metadata": {"name": "b"}}]}`},
			paths: []string{"pods.json"},
			want:  []string{"pods.json: v1 Pod ns/a (typed)", "pods.json: v1 Pod /b (typed)"},
		},
		{
			name:  "a comment-only document is skipped, not an error",
			files: map[string]string{"pods.yaml": "# generated\n---\n" + pod("a") + "---\n# nothing here\n# nor here\n---\n" + pod("b")},
			paths: []string{"pods.yaml"},
			want:  []string{"pods.yaml: v1 Pod /a (typed)", "pods.yaml: v1 Pod /b (typed)"},
		},
		{
			name:  "old versions of judged kinds are no longer served and are read as metadata only",
			files: map[string]string{"old.yaml": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec: {backend: {serviceName: s}}\n"},
			paths: []string{"old.yaml"},
			want:  []string{"old.yaml: extensions/v1beta1 Ingress /old (metadata)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			writeFiles(t, tc.files)
			r := ManifestReader{Stdin: strings.NewReader(tc.stdin)}
			got, err := r.Read(tc.paths)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := strings.Join(describeResources(got), "\n"), strings.Join(tc.want, "\n"); g != w {
				t.Errorf("got:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

func TestManifestReaderDecodesTypedObjects(t *testing.T) {
	r := ManifestReader{Stdin: strings.NewReader(pod("web"))}
	got, err := r.Read([]string{"-"})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := got[0].Object.(*corev1.Pod)
	if !ok || len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != "nginx:1.27" {
		t.Errorf("got %#v, want a *corev1.Pod with its container", got[0].Object)
	}
}

func TestManifestReaderErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFiles(t, map[string]string{"a.yaml": pod("a") + "---\nkind: Pod\n", "empty/README.md": ""})
	r := ManifestReader{Stdin: strings.NewReader("")}
	got, err := r.Read([]string{"a.yaml", "empty", "-", "-"})
	if got != nil {
		t.Errorf("got %d resources with an error, want none", len(got))
	}
	var ierr *InputError
	for _, tc := range []struct {
		target error
		want   string
	}{
		{ErrMissingAPIVersion, "a.yaml: document 2: missing apiVersion: every document must be a Kubernetes object with apiVersion and kind"},
		{ErrNoManifests, "empty: no *.yaml, *.yml or *.json files"},
		{ErrStdinTwice, "stdin: stdin (-) can be read only once"},
	} {
		if !errors.Is(err, tc.target) {
			t.Errorf("error does not wrap %v: %v", tc.target, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error lacks %q:\n%v", tc.want, err)
		}
	}
	if !errors.As(err, &ierr) || ierr.Source != "a.yaml" || ierr.Document != 2 {
		t.Errorf("first *InputError = %+v, want a.yaml document 2", ierr)
	}
}

func TestManifestReaderDocumentErrors(t *testing.T) {
	const missingAPIVersion = "missing apiVersion: every document must be a Kubernetes object with apiVersion and kind"
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{
			name:    "a JSON document between --- lines is numbered as a document",
			file:    "pods.yaml",
			content: podJSON("a") + "\n---\n" + `{"kind": "Pod", "metadata": {"name": "b"}}` + "\n",
			want:    "pods.yaml: document 2: " + missingAPIVersion,
		},
		{
			name:    "a broken JSON document stops only that document",
			file:    "pods.yaml",
			content: podJSON("a") + `{"apiVersion": ` + "\n---\n" + `{"kind": "Pod"}` + "\n",
			want:    "pods.yaml: document 2: invalid JSON: unexpected EOF\npods.yaml: document 3: " + missingAPIVersion,
		},
		{
			name:    "comment-only documents count in the numbering",
			file:    "pods.yaml",
			content: "# header\n---\n" + pod("a") + "---\nkind: Pod\n",
			want:    "pods.yaml: document 3: " + missingAPIVersion,
		},
		{
			name:    "CRLF line ends keep the document numbers",
			file:    "pods.yaml",
			content: strings.ReplaceAll(pod("a")+"---\nkind: Pod\n", "\n", "\r\n"),
			want:    "pods.yaml: document 2: " + missingAPIVersion,
		},
		{
			name:    "a byte order mark does not hide a misspelt field",
			file:    "pod.yaml",
			content: "\ufeffapiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {contianers: []}\n",
			want:    `pod.yaml: document 1: Pod "a": strict decoding error: unknown field "spec.contianers"`,
		},
		{
			name:    "a duplicated field of a JSON document is an error",
			file:    "pod.json",
			content: `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "app", "image": "nginx", "image": "ghcr.io/x/y"}]}}`,
			want:    `pod.json: document 1: Pod "a": strict decoding error: duplicate field "spec.containers[0].image"`,
		},
		{
			name:    "an item of a PodList names the item",
			file:    "pods.yaml",
			content: "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n  spec: {contianers: []}\n",
			want:    `pods.yaml: document 1: items[0]: Pod "a": strict decoding error: unknown field "spec.contianers"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			writeFiles(t, map[string]string{tc.file: tc.content})
			got, err := (&ManifestReader{}).Read([]string{tc.file})
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tc.want)
			}
			if got != nil {
				t.Errorf("got %d resources with an error, want none", len(got))
			}
		})
	}
}

func pod(name string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n  containers:\n    - name: app\n      image: nginx:1.27\n"
}

func podJSON(name string) string {
	return `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "` + name + `"}, "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}`
}

// FuzzReadManifest checks that any input gives objects with a kind, or errors naming
// the input, and never a panic.
func FuzzReadManifest(f *testing.F) {
	for _, seed := range []string{
		pod("a"), podJSON("a"), "---\n# comment\n---\n" + pod("b"),
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
		"apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p}\n",
		"metadata:\n  name: b: c\n", "--- x\n", "[1, 2]", "{}", "null", "kind: Pod\n",
		podJSON("a") + "\n---\n" + podJSON("b"), "\ufeff" + pod("c"), "{a: 1}\r\n---\r\n{\"a\": ",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var resources []Resource
		errs := readManifest("fuzz", bytes.NewReader(data), nil, func(r Resource) { resources = append(resources, r) })
		for _, r := range resources {
			if r.Object.GetObjectKind().GroupVersionKind().Kind == "" || r.Source != "fuzz" {
				t.Errorf("resource without kind or source: %#v", r)
			}
		}
		for _, err := range errs {
			var ierr *InputError
			if !errors.As(err, &ierr) || ierr.Source != "fuzz" {
				t.Errorf("error not naming the input: %v", err)
			}
		}
	})
}
