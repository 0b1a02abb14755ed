package helm_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/privateguard/privateguard/pkg/policy"
)

// schemaError is how Helm introduces a values.schema.json violation.
const schemaError = "values don't meet the specifications of the schema"

// TestLintIsClean runs `helm lint --strict` for the default install and the variations
// a user is likely to choose: no warnings, no errors.
func TestLintIsClean(t *testing.T) {
	for name, snippet := range map[string]string{
		"defaults":              withRegion(""),
		"without cert-manager":  withRegion(userTLSValues),
		"with a ServiceMonitor": withRegion("metrics:\n  serviceMonitor:\n    enabled: true\n"),
		"audit mode":            "policy:\n  region: eu-west-1\n  mode: audit\n",
		"exceptions": withRegion("  exceptions:\n  - name: vendor-batch\n    namespaces: [batch]\n    kinds: [CronJob, Job, Pod]\n" +
			"    names: [report-*]\n    rules: [image-registry]\n    reason: vendor image, mirrored under INC-1234\n    expires: \"2027-03-31\"\n"),
		"alerts and dashboard": withRegion("prometheusRule: {enabled: true}\ngrafana: {dashboard: {enabled: true}}\n"),
	} {
		t.Run(name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = defaultRelease.namespace
			lint.KubeVersion = minKubeVersion
			result := lint.Run([]string{chartDir}, values(t, snippet))
			if result.TotalChartsLinted != 1 {
				t.Errorf("linted %d charts, want 1", result.TotalChartsLinted)
			}
			for _, err := range result.Errors {
				t.Errorf("lint error: %v", err)
			}
			for _, msg := range result.Messages {
				if msg.Severity > support.InfoSev {
					t.Errorf("lint: %s", msg)
				}
			}
		})
	}

	t.Run("lint without a region reports the schema violation", func(t *testing.T) {
		lint := action.NewLint()
		lint.KubeVersion = minKubeVersion
		result := lint.Run([]string{chartDir}, values(t, ""))
		if len(result.Errors) == 0 {
			t.Fatalf("lint passed without policy.region")
		}
		var all strings.Builder
		for _, err := range result.Errors {
			all.WriteString(err.Error())
		}
		if !strings.Contains(all.String(), "missing property 'region'") {
			t.Errorf("lint errors do not name the missing region: %s", all.String())
		}
	})
}

// TestSchemaRejectsBadValues: a bad value stops `helm install` before anything reaches the
// cluster, with an error naming the value.
func TestSchemaRejectsBadValues(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   []string // substrings of the error
	}{
		{
			name:   "missing policy.region",
			values: "",
			want:   []string{schemaError, "'/policy'", "missing property 'region'"},
		},
		{
			name:   "a region that is not an AWS region",
			values: "policy:\n  region: US West 2\n",
			want:   []string{schemaError, "'/policy/region'"},
		},
		{
			name:   "unknown policy mode",
			values: withRegion("  mode: block\n"),
			want:   []string{schemaError, "'/policy/mode'", "'enforce', 'audit', 'off'"},
		},
		{
			name:   "unquoted off, which YAML reads as false",
			values: withRegion("  mode: off\n"),
			want:   []string{schemaError, "'/policy/mode'"},
		},
		{
			name:   "unknown rule id",
			values: withRegion("  rules:\n    image-registy: {mode: audit}\n"),
			want:   []string{schemaError, "'/policy/rules'", "image-registy"},
		},
		{
			name:   "unknown mode of one rule",
			values: withRegion("  rules:\n    image-region: {mode: warn}\n"),
			want:   []string{schemaError, "'/policy/rules/image-region/mode'"},
		},
		{
			name:   "fix on a rule that has nothing to fix",
			values: withRegion("  rules:\n    image-registry: {fix: true}\n"),
			want:   []string{schemaError, "'/policy/rules/image-registry'", "fix"},
		},
		{
			name:   "unknown policy field",
			values: withRegion("  registry:\n    allowed: [example.com]\n"),
			want:   []string{schemaError, "'/policy'", "registry"},
		},
		{
			name:   "rewrite rule without a target",
			values: withRegion("  rewrite:\n    rules:\n      - from: docker.io\n"),
			want:   []string{schemaError, "'/policy/rewrite/rules/0'", "missing property 'to'"},
		},
		{
			name:   "override without a mode",
			values: withRegion("  overrides:\n    - namespaces: [legacy]\n"),
			want:   []string{schemaError, "'/policy/overrides/0'", "missing property 'mode'"},
		},
		{
			name:   "bad validating failurePolicy",
			values: withRegion("webhook:\n  failurePolicy:\n    validating: Deny\n"),
			want:   []string{schemaError, "'/webhook/failurePolicy/validating'", "'Fail', 'Ignore'"},
		},
		{
			name:   "bad mutating failurePolicy",
			values: withRegion("webhook:\n  failurePolicy:\n    mutating: fail\n"),
			want:   []string{schemaError, "'/webhook/failurePolicy/mutating'", "'Fail', 'Ignore'"},
		},
		{
			name:   "timeout above the API server's 30 seconds",
			values: withRegion("webhook:\n  timeoutSeconds: 31\n"),
			want:   []string{schemaError, "'/webhook/timeoutSeconds'"},
		},
		{
			name:   "excluded namespace that cannot exist",
			values: withRegion("webhook:\n  excludeNamespaces: [Kube_System]\n"),
			want:   []string{schemaError, "'/webhook/excludeNamespaces/0'"},
		},
		{
			name:   "no replicas",
			values: withRegion("replicaCount: 0\n"),
			want:   []string{schemaError, "'/replicaCount'"},
		},
		{
			name:   "misspelled top-level key",
			values: withRegion("replicas: 2\n"),
			want:   []string{schemaError, "replicas"},
		},
		{
			name:   "cert-manager off without a TLS secret",
			values: withRegion("certManager:\n  enabled: false\ntls:\n  caBundle: " + testCABundle + "\n"),
			want:   []string{schemaError, "'/tls/secretName'"},
		},
		{
			name:   "cert-manager off without a CA bundle",
			values: withRegion("certManager:\n  enabled: false\ntls:\n  secretName: privateguard-user-tls\n"),
			want:   []string{schemaError, "'/tls/caBundle'"},
		},
		{
			name:   "image digest that is not a digest",
			values: withRegion("image:\n  digest: latest\n"),
			want:   []string{schemaError, "'/image/digest'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderChart(defaultRelease, values(t, tt.values))
			if err == nil {
				t.Fatalf("chart rendered with bad values:\n%s", tt.values)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
}

// TestSchemaAcceptsEveryRuleID: each rule id the engine knows may be configured.
func TestSchemaAcceptsEveryRuleID(t *testing.T) {
	var snippet strings.Builder
	snippet.WriteString("policy:\n  region: us-gov-west-1\n  rules:\n")
	for _, id := range policy.Rules {
		snippet.WriteString("    " + string(id) + ": {mode: audit}\n")
	}
	r := mustRender(t, defaultRelease, snippet.String())
	p := renderedPolicyOf(t, r, "privateguard-policy")
	for _, id := range policy.Rules {
		if p.Rules[id].Mode != "audit" {
			t.Errorf("rule %s mode = %q in the rendered policy, want audit", id, p.Rules[id].Mode)
		}
	}
}

// TestChartRefusesKubernetesWithoutMatchConditions: before 1.30 the API server would drop
// matchConditions and send mirror pods to the webhook.
func TestChartRefusesKubernetesWithoutMatchConditions(t *testing.T) {
	kube129 := &chartutil.KubeVersion{Version: "v1.29.9", Major: "1", Minor: "29"}
	_, err := renderChartFor(kube129, defaultRelease, values(t, withRegion("")))
	if err == nil || !strings.Contains(err.Error(), "kubeVersion") {
		t.Errorf("rendering for Kubernetes 1.29: err = %v, want a kubeVersion error", err)
	}
}

// TestSchemaKnowsEveryPolicyField walks the policy file's Go type and the chart's schema
// of `policy` together: the schema refuses unknown fields, so a field the engine reads
// and the schema lacks is a policy the server accepts and `helm install` refuses.
func TestSchemaKnowsEveryPolicyField(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	definitions, _ := schema["definitions"].(map[string]any)
	resolve := func(node map[string]any) map[string]any {
		if ref, ok := node["$ref"].(string); ok {
			def, _ := definitions[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
			return def
		}
		return node
	}
	// The policy refuses fix for the rules it means nothing to, and so does the schema.
	fixable := map[string]bool{
		"policy.rules." + string(policy.RuleClusterAutoscalerStaticInstanceList) + ".fix": true,
		"policy.rules." + string(policy.RuleLBControllerWAFShield) + ".fix":               true,
	}
	report := func(path string) {
		if strings.HasPrefix(path, "policy.rules.") && strings.HasSuffix(path, ".fix") && !fixable[path] {
			return
		}
		t.Errorf("%s: not in values.schema.json", path)
	}
	var walk func(path string, typ reflect.Type, node map[string]any)
	walk = func(path string, typ reflect.Type, node map[string]any) {
		node = resolve(node)
		if node == nil {
			report(path)
			return
		}
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch typ.Kind() {
		case reflect.Struct:
			properties, _ := node["properties"].(map[string]any)
			for i := range typ.NumField() {
				name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
				if name == "" || name == "-" {
					continue
				}
				child, _ := properties[name].(map[string]any)
				walk(path+"."+name, typ.Field(i).Type, child)
			}
		case reflect.Slice:
			items, _ := node["items"].(map[string]any)
			walk(path+"[]", typ.Elem(), items)
		case reflect.Map: // rules: every rule id has the settings' fields
			properties, _ := node["properties"].(map[string]any)
			for _, id := range policy.Rules {
				child, _ := properties[string(id)].(map[string]any)
				walk(path+"."+string(id), typ.Elem(), child)
			}
		}
	}
	policySchema, _ := schema["properties"].(map[string]any)["policy"].(map[string]any)
	walk("policy", reflect.TypeOf(policy.File{}), policySchema)
}
