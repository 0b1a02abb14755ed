package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/privateguard/privateguard/pkg/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// output is what a user sees of one run.
type output struct {
	code           int
	stdout, stderr string
}

// auditRun runs the command as `privateguard audit args...` with stdin.
func auditRun(t *testing.T, c app, stdin string, args ...string) output {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = strings.NewReader(stdin), &stdout, &stderr
	code := c.run(context.Background(), append([]string{"audit"}, args...))
	return output{code, stdout.String(), stderr.String()}
}

// checkGolden compares got with testdata/golden/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join(goldenDir(), name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update to accept it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// goldenFormats are the output formats with goldens, and their files' extensions.
var goldenFormats = map[string]string{"text": ".txt", "json": ".json", "junit": ".xml", "sarif": ".sarif"}

// goldenDir is testdata/golden, absolute: some tests change directory.
func goldenDir() string { return filepath.Join(packageDir, "testdata", "golden") }

// warningsPod is admitted with warnings: a pinned digest rewritten to a pull-through
// cache, an add-on image moved across partitions.
const warningsPod = `apiVersion: v1
kind: Pod
metadata: {namespace: shop, name: pinned}
spec:
  containers:
  - name: pause
    image: registry.k8s.io/pause:3.10@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a
  - name: coredns
    image: 918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/eks/coredns:v1.11.1
`

// auditModePod is allowed with findings of rules in audit mode (legacy-* namespaces).
const auditModePod = `apiVersion: v1
kind: Pod
metadata: {namespace: legacy-billing, name: old}
spec:
  containers:
  - name: app
    image: nginx:1.27
`

// exemptCronJob's violation of image-registry is waived by an exception of
// testdata/policy-exceptions.yaml; its pod, owned by the Job, matches by the Job's name.
const exemptCronJob = `apiVersion: batch/v1
kind: CronJob
metadata: {namespace: batch, name: report-nightly}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: renderer
            image: vendor.example.com/reports/renderer:4.2
---
apiVersion: v1
kind: Pod
metadata:
  namespace: batch
  name: report-nightly-28012345-x7k2p
  ownerReferences:
  - {apiVersion: batch/v1, kind: Job, name: report-nightly-28012345, uid: 0c1d2e3f-0000-4000-8000-000000000001}
spec:
  restartPolicy: Never
  containers:
  - name: renderer
    image: vendor.example.com/reports/renderer:4.2
`

func TestRunGolden(t *testing.T) {
	pods, err := os.ReadFile("testdata/manifests/01-pods.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		dir      string // to run in, relative to the package
		stdin    string
		args     []string
		wantCode int
	}{
		{
			name:     "manifests",
			args:     []string{"--config", "testdata/policy.yaml", "-f", "testdata/manifests"},
			wantCode: exitFailed,
		},
		{
			name:     "stdin",
			stdin:    string(pods),
			args:     []string{"--config", "testdata/policy.yaml", "-f", "-", "-n", "staging"},
			wantCode: exitFailed,
		},
		{
			name:     "files-and-stdin",
			stdin:    "apiVersion: v1\nkind: Pod\nmetadata: {name: from-stdin}\nspec:\n  containers: [{name: a, image: nginx}]\n",
			args:     []string{"--config", "testdata/policy.yaml", "-f", "testdata/manifests/irsa/deployment.yaml", "-f", "-", "-f", "testdata/manifests/irsa/serviceaccount.yaml"},
			wantCode: exitOK,
		},
		{
			name:     "examples",
			dir:      "../..",
			args:     []string{"--config", "examples/policy.yaml", "-f", "examples/"},
			wantCode: exitFailed,
		},
		{
			name:     "warnings",
			dir:      "../..",
			stdin:    warningsPod,
			args:     []string{"--config", "examples/policy.yaml", "-f", "-"},
			wantCode: exitOK,
		},
		{
			name:     "exceptions",
			stdin:    exemptCronJob,
			args:     []string{"--config", "testdata/policy-exceptions.yaml", "-f", "-"},
			wantCode: exitOK,
		},
		{
			name:     "warnings-fail-on-warn",
			dir:      "../..",
			stdin:    warningsPod + "---\n" + auditModePod,
			args:     []string{"--config", "examples/policy.yaml", "-f", "-", "--fail-on", "warn"},
			wantCode: exitFailed,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dir != "" {
				t.Chdir(tc.dir)
			}
			for format, ext := range goldenFormats {
				got := auditRun(t, app{}, tc.stdin, append(tc.args, "-o", format)...)
				if got.code != tc.wantCode || got.stderr != "" {
					t.Fatalf("-o %s: exit %d, stderr %q; want exit %d and no stderr", format, got.code, got.stderr, tc.wantCode)
				}
				checkGolden(t, tc.name+ext, got.stdout)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"nothing would be denied exits 0", []string{"-f", "testdata/manifests/irsa"}, exitOK},
		{"an object that would be denied exits 1", []string{"-f", "testdata/manifests/04-podlist.json"}, exitFailed},
		{"warnings alone exit 0", []string{"-f", "testdata/manifests/03-list.yaml"}, exitOK},
		{"warnings exit 1 with --fail-on warn", []string{"-f", "testdata/manifests/03-list.yaml", "--fail-on", "warn"}, exitFailed},
		{"nothing to warn about exits 0 with --fail-on warn", []string{"-f", "testdata/manifests/irsa/serviceaccount.yaml", "--fail-on", "warn"}, exitOK},
		{"--fail-on deny is the default", []string{"-f", "testdata/manifests/03-list.yaml", "--fail-on", "deny"}, exitOK},
		{"bad input exits 2", []string{"-f", "testdata/missing.yaml"}, exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := auditRun(t, app{}, "", append([]string{"--config", "testdata/policy.yaml"}, tc.args...)...)
			if got.code != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", got.code, tc.want, got.stderr)
			}
		})
	}
}

func TestRunUsageErrors(t *testing.T) {
	const hint = "Run 'privateguard audit -h' for usage.\n"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a missing --config is an error", []string{"-f", "x.yaml"},
			"error: --config is required: the policy file to audit against\n" + hint},
		{"neither -f nor --cluster is an error", []string{"--config", "p.yaml"},
			"error: give -f PATH (manifests) or --cluster\n" + hint},
		{"both -f and --cluster is an error", []string{"--config", "p.yaml", "-f", "x.yaml", "--cluster"},
			"error: give either -f or --cluster, not both\n" + hint},
		{"an unknown output format is an error", []string{"--config", "p.yaml", "-f", "x.yaml", "-o", "yaml"},
			"error: -o must be one of text, json, junit, sarif, not \"yaml\"\n" + hint},
		{"an unknown --fail-on is an error", []string{"--config", "p.yaml", "-f", "x.yaml", "--fail-on", "never"},
			"error: --fail-on must be deny or warn, not \"never\"\n" + hint},
		{"an unknown flag is an error", []string{"--config", "p.yaml", "--color"},
			"error: unknown flag: --color\n" + hint},
		{"-f without a path is an error", []string{"--config", "p.yaml", "-f"},
			"error: flag needs an argument: 'f' in -f\n" + hint},
		{"--kubeconfig without --cluster is an error", []string{"--config", "p.yaml", "-f", "x.yaml", "--kubeconfig", "k"},
			"error: --kubeconfig needs --cluster\n" + hint},
		{"a positional argument is an error", []string{"--config", "p.yaml", "-f", "x.yaml", "y.yaml"},
			"error: unexpected argument \"y.yaml\" (manifests are given with -f)\n" + hint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := auditRun(t, app{}, "", tc.args...)
			if got.code != exitError || got.stderr != tc.want || got.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2, no stdout, stderr:\n%s", got.code, got.stdout, got.stderr, tc.want)
			}
		})
	}

	t.Run("-h prints the usage and exits 0", func(t *testing.T) {
		got := auditRun(t, app{}, "", "-h")
		for _, want := range []string{
			"privateguard audit --config FILE -f PATH [-f PATH ...] [-n NAMESPACE] [-o text|json|junit|sarif] [--fail-on deny|warn]",
			"privateguard audit --config FILE --cluster [--kubeconfig FILE] [-n NAMESPACE] [-o text|json|junit|sarif] [--fail-on deny|warn]",
			"Exit codes: 0 nothing would be denied, 1 something would be denied, 2 bad usage, policy or input.",
			"--kubeconfig file",
			"-f, --filename path",
		} {
			if !strings.Contains(got.stdout, want) {
				t.Errorf("usage lacks %q:\n%s", want, got.stdout)
			}
		}
		if got.code != exitOK {
			t.Errorf("exit %d, want 0", got.code)
		}
	})
}

func TestRunBadPolicy(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFiles(t, map[string]string{
		"pod.yaml":    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: nginx}]\n",
		"policy.yaml": "apiVersion: privateguard.io/v1alpha1\nkind: Policy\nmode: strict\n",
	})
	for _, tc := range []struct {
		name, config, want string
	}{
		{"a policy file that does not exist is an error", "nope.yaml",
			"error: read policy: open nope.yaml: no such file or directory\n"},
		{"an invalid policy is an error naming every field", "policy.yaml",
			"error: invalid policy policy.yaml:\n" +
				"  region: Required value: the cluster's AWS region, such as us-west-2\n" +
				"  mode: Unsupported value: \"strict\": supported values: \"enforce\", \"audit\", \"off\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := auditRun(t, app{}, "", "--config", tc.config, "-f", "pod.yaml")
			if got.code != exitError || got.stderr != tc.want || got.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2, stderr:\n%s", got.code, got.stdout, got.stderr, tc.want)
			}
		})
	}
}

func TestRunBadInput(t *testing.T) {
	const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [{name: a, image: nginx}]\n"
	for _, tc := range []struct {
		name  string
		files map[string]string // written in a temporary directory, the working directory
		stdin string
		args  []string // after --config policy.yaml
		want  string
	}{
		{
			name:  "a YAML syntax error names the file and document",
			files: map[string]string{"web.yaml": pod + "---\nmetadata:\n  name: b: c\n"},
			args:  []string{"-f", "web.yaml"},
			want:  "error: web.yaml: document 2: invalid YAML: yaml: line 2: mapping values are not allowed in this context\n",
		},
		{
			name:  "a YAML syntax error does not hide the problems of the documents after it",
			files: map[string]string{"web.yaml": "metadata:\n  name: b: c\n---\n" + pod + "---\nkind: Pod\n"},
			args:  []string{"-f", "web.yaml"},
			want: "error: web.yaml: document 1: invalid YAML: yaml: line 2: mapping values are not allowed in this context\n" +
				"error: web.yaml: document 3: missing apiVersion: every document must be a Kubernetes object with apiVersion and kind\n",
		},
		{
			name:  "a document without kind is an error; comment-only documents count but are skipped",
			files: map[string]string{"web.yaml": pod + "---\n# nothing here\n---\napiVersion: v1\nmetadata: {name: b}\n"},
			args:  []string{"-f", "web.yaml"},
			want:  "error: web.yaml: document 3: missing kind: every document must be a Kubernetes object with apiVersion and kind\n",
		},
		{
			name:  "a document without apiVersion is an error",
			files: map[string]string{"web.yaml": "kind: Pod\nmetadata: {name: b}\n"},
			args:  []string{"-f", "web.yaml"},
			want:  "error: web.yaml: document 1: missing apiVersion: every document must be a Kubernetes object with apiVersion and kind\n",
		},
		{
			name:  "a misspelt field is an error, not a pod without containers",
			files: map[string]string{"web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      contianers: [{name: a, image: nginx}]\n"},
			args:  []string{"-f", "web.yaml"},
			want:  "error: web.yaml: document 1: Deployment \"web\": strict decoding error: unknown field \"spec.template.spec.contianers\"\n",
		},
		{
			name:  "a duplicated key is an error",
			files: map[string]string{"web.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: a\n    image: nginx\n    image: ghcr.io/x/y\n"},
			args:  []string{"-f", "web.yaml"},
			want:  "error: web.yaml: document 1: invalid YAML: yaml: unmarshal errors:\n  line 8: key \"image\" already set in map\n",
		},
		{
			name:  "a document that is not an object is an error",
			files: map[string]string{"web.yaml": "- apiVersion: v1\n  kind: Pod\n"},
			args:  []string{"-f", "web.yaml"},
			want:  "error: web.yaml: document 1: not a Kubernetes object\n",
		},
		{
			name:  "a List item without kind is an error naming the item",
			files: map[string]string{"list.yaml": "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- metadata: {name: b}\n"},
			args:  []string{"-f", "list.yaml"},
			want:  "error: list.yaml: document 1: items[1]: missing kind: every document must be a Kubernetes object with apiVersion and kind\n",
		},
		{
			name:  "a null List item is an error",
			files: map[string]string{"pods.yaml": "apiVersion: v1\nkind: PodList\nitems:\n-\n"},
			args:  []string{"-f", "pods.yaml"},
			want:  "error: pods.yaml: document 1: items[0]: not a Kubernetes object\n",
		},
		{
			name:  "field names are case-sensitive, as for the API server",
			files: map[string]string{"web.yaml": "apiVersion: v1\nKind: Pod\nmetadata: {name: a}\n"},
			args:  []string{"-f", "web.yaml"},
			want:  "error: web.yaml: document 1: missing kind: every document must be a Kubernetes object with apiVersion and kind\n",
		},
		{
			name:  "a broken JSON stream names the document",
			files: map[string]string{"pods.json": `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}` + "\n" + `{"apiVersion": "v1", "kind": `},
			args:  []string{"-f", "pods.json"},
			want:  "error: pods.json: document 2: invalid JSON: unexpected EOF\n",
		},
		{
			name: "a file that does not exist is an error",
			args: []string{"-f", "missing.yaml"},
			want: "error: missing.yaml: no such file or directory\n",
		},
		{
			name:  "a file of a directory that cannot be read is an error",
			files: map[string]string{"manifests/ok.yaml": pod, "manifests/broken.yaml -> gone.yaml": ""},
			args:  []string{"-f", "manifests"},
			want:  "error: manifests/broken.yaml: no such file or directory\n",
		},
		{
			name:  "a directory without manifests is an error",
			files: map[string]string{"charts/README.md": "# not a manifest\n"},
			args:  []string{"-f", "charts"},
			want:  "error: charts: no *.yaml, *.yml or *.json files\n",
		},
		{
			name:  "stdin read twice is an error",
			stdin: pod,
			args:  []string{"-f", "-", "-f", "-"},
			want:  "error: stdin: stdin (-) can be read only once\n",
		},
		{
			name:  "bad stdin is named stdin",
			stdin: pod + "---\nkind: Pod\n",
			args:  []string{"-f", "-"},
			want:  "error: stdin: document 2: missing apiVersion: every document must be a Kubernetes object with apiVersion and kind\n",
		},
		{
			name: "every problem of every input is reported",
			files: map[string]string{
				"a.yaml": "kind: Pod\n",
				"b.yaml": pod + "---\n{\n",
			},
			args: []string{"-f", "a.yaml", "-f", "b.yaml", "-f", "c.yaml"},
			want: "error: a.yaml: document 1: missing apiVersion: every document must be a Kubernetes object with apiVersion and kind\n" +
				"error: b.yaml: document 2: invalid YAML: yaml: line 1: did not find expected node content\n" +
				"error: c.yaml: no such file or directory\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			writeFiles(t, tc.files)
			policy, err := os.ReadFile(filepath.Join(packageDir, "testdata", "policy.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, map[string]string{"policy.yaml": string(policy)})
			got := auditRun(t, app{}, tc.stdin, append([]string{"--config", "policy.yaml"}, tc.args...)...)
			if got.code != exitError || got.stderr != tc.want || got.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2, no stdout, stderr:\n%s", got.code, got.stdout, got.stderr, tc.want)
			}
		})
	}
}

func TestRunClusterConnectionError(t *testing.T) {
	c := app{NewClient: func(string) (client.Reader, error) {
		return nil, errors.New("kubeconfig: no configuration has been provided")
	}}
	got := auditRun(t, c, "", "--config", "testdata/policy.yaml", "--cluster")
	if want := "error: kubeconfig: no configuration has been provided\n"; got.code != exitError || got.stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 2, stderr %q", got.code, got.stderr, want)
	}
}

func TestRunClusterGolden(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"cluster", nil, exitFailed},
		{"cluster-namespace", []string{"-n", "orders"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for format, ext := range goldenFormats {
				var kubeconfig string
				c := app{NewClient: func(path string) (client.Reader, error) {
					kubeconfig = path
					return fakeCluster(t), nil
				}}
				args := append([]string{"--config", "testdata/policy.yaml", "--cluster", "--kubeconfig", "/etc/kube/config", "-o", format}, tc.args...)
				got := auditRun(t, c, "", args...)
				if got.code != tc.wantCode || got.stderr != "" {
					t.Fatalf("-o %s: exit %d, stderr %q; want exit %d", format, got.code, got.stderr, tc.wantCode)
				}
				if kubeconfig != "/etc/kube/config" {
					t.Errorf("client made with kubeconfig %q, want --kubeconfig's", kubeconfig)
				}
				checkGolden(t, tc.name+ext, got.stdout)
			}
		})
	}
}

// fakeCluster is a fake cluster of the objects of testdata/cluster.yaml.
func fakeCluster(t *testing.T) client.Reader {
	t.Helper()
	resources, err := (&audit.ManifestReader{}).Read([]string{filepath.Join(packageDir, "testdata", "cluster.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(audit.Scheme())
	for _, r := range resources {
		b = b.WithRuntimeObjects(r.Object)
	}
	return b.Build()
}

func TestRunReadsJSONDocumentsOfAYAMLStream(t *testing.T) {
	// Valid for kubectl apply -f; once rejected as invalid JSON with exit 2.
	t.Chdir(t.TempDir())
	writeFiles(t, map[string]string{"pods.yaml": `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "app", "image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1"}]}}` +
		"\n---\n" + `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": [{"name": "app", "image": "ghcr.io/x/y:1"}]}}` + "\n"})
	got := auditRun(t, app{}, "", "--config", filepath.Join(packageDir, "testdata", "policy.yaml"), "-f", "pods.yaml")
	if got.code != exitFailed || got.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want exit 1 (pod b is denied), no stderr", got.code, got.stderr)
	}
	for _, want := range []string{"Pod default/a (pods.yaml): allowed\n", "Pod default/b (pods.yaml): DENIED\n", "2 resources: 1 denied"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, got.stdout)
		}
	}
}

// TestAuditReadsStdinLikeFiles gives the IRSA fixtures through stdin, the service
// accounts after the workloads that use them: stdin is read in both passes, so the
// results are those of the same documents given as files.
func TestAuditReadsStdinLikeFiles(t *testing.T) {
	var stdin strings.Builder
	for _, name := range []string{"deployment.yaml", "serviceaccount.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata/manifests/irsa", name))
		if err != nil {
			t.Fatal(err)
		}
		stdin.WriteString(string(data) + "\n---\n")
	}
	results := func(o output) []map[string]any {
		t.Helper()
		var report struct {
			Results []map[string]any `json:"results"`
		}
		if err := json.Unmarshal([]byte(o.stdout), &report); err != nil {
			t.Fatalf("%v in %q (stderr %q)", err, o.stdout, o.stderr)
		}
		for _, r := range report.Results {
			delete(r, "source")
			delete(r, "line")
		}
		return report.Results
	}
	files := auditRun(t, app{}, "", "--config", "testdata/policy.yaml", "-o", "json",
		"-f", "testdata/manifests/irsa/deployment.yaml", "-f", "testdata/manifests/irsa/serviceaccount.yaml")
	fromStdin := auditRun(t, app{}, stdin.String(), "--config", "testdata/policy.yaml", "-o", "json", "-f", "-")
	if fromStdin.code != files.code || !reflect.DeepEqual(results(fromStdin), results(files)) {
		t.Errorf("from stdin: exit %d, results %v\nfrom files: exit %d, results %v", fromStdin.code, results(fromStdin), files.code, results(files))
	}
	if len(results(files)) == 0 {
		t.Error("the fixtures gave no result to compare")
	}
}

func TestSpoolKeepsStdinForBothPasses(t *testing.T) {
	for _, tmp := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		t.Setenv("TMPDIR", tmp) // the second cannot hold a file: stdin is kept in memory
		r, done, err := spool(strings.NewReader("kind: Pod\n"))
		if err != nil {
			t.Fatal(err)
		}
		for pass := 1; pass <= 2; pass++ {
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			if data, _ := io.ReadAll(r); string(data) != "kind: Pod\n" {
				t.Errorf("TMPDIR %s, pass %d read %q", tmp, pass, data)
			}
		}
		done()
		if left, _ := filepath.Glob(filepath.Join(tmp, "privateguard-audit-stdin-*")); len(left) != 0 {
			t.Errorf("spool files left behind: %v", left)
		}
	}
}
