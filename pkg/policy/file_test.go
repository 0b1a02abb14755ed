package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadExamplePolicy(t *testing.T) {
	p, err := Load("../../examples/policy.yaml")
	if err != nil {
		t.Fatalf("examples/policy.yaml must load: %v", err)
	}
	if p.Region() != "us-west-2" {
		t.Errorf("Region() = %q, want us-west-2", p.Region())
	}
	if got := p.Mode(RuleALBCertificateDiscovery, "default"); got != ModeAudit {
		t.Errorf("alb-certificate-discovery mode = %q, want audit (rules setting)", got)
	}
	if got := p.Mode(RuleImageRegistry, "legacy-billing"); got != ModeAudit {
		t.Errorf("image-registry mode in legacy-billing = %q, want audit (override)", got)
	}
	if got := p.Mode(RuleClusterAutoscalerStaticInstanceList, "kube-system"); got != ModeEnforce {
		t.Errorf("cluster-autoscaler-static-instance-list in kube-system = %q, want enforce: the add-on rules must reach kube-system", got)
	}
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse([]byte("apiVersion: privateguard.io/v1alpha1\nkind: Policy\nregion: eu-south-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules {
		if got := p.Mode(r, "default"); got != ModeEnforce {
			t.Errorf("default mode of %s = %q, want enforce", r, got)
		}
	}
	if !p.allowEKSAddons || !p.eksAddonsToRegion || !p.injectRegion || !p.rules.fix(RuleClusterAutoscalerStaticInstanceList) || !p.rules.fix(RuleLBControllerWAFShield) {
		t.Errorf("allowEKSAddons, eksAddonsToRegion, injectRegion and both fixes must default to true: %+v", p)
	}
	if p.addonRegistry != "590381155156.dkr.ecr.eu-south-1.amazonaws.com" {
		t.Errorf("addon registry = %q, want eu-south-1's special account", p.addonRegistry)
	}
	if len(p.marketplace) != 1 || p.marketplace[0].String() != DefaultMarketplace[0] {
		t.Errorf("marketplace = %v, want the default list when the field is absent", p.marketplace)
	}
	p, err = Parse([]byte("apiVersion: privateguard.io/v1alpha1\nkind: Policy\nregion: eu-south-1\nregistries: {marketplace: []}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.marketplace) != 0 {
		t.Errorf("marketplace: [] must mean no Marketplace registries, got %v", p.marketplace)
	}
}

func TestParseJSON(t *testing.T) {
	_, err := Parse([]byte(`{"apiVersion":"privateguard.io/v1alpha1","kind":"Policy","region":"us-east-1","registries":{"allowed":["111122223333.dkr.ecr.us-east-1.amazonaws.com"]}}`))
	if err != nil {
		t.Fatalf("a JSON policy must load: %v", err)
	}
}

const header = "apiVersion: privateguard.io/v1alpha1\nkind: Policy\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // every line must appear in the error
	}{
		{"a missing region is required", header, []string{"region: Required value"}},
		{"a bad region is named", header + "region: uswest\n", []string{`region: Invalid value: "uswest": not an AWS region name`}},
		{"a wrong kind", "apiVersion: privateguard.io/v1alpha1\nkind: Config\nregion: us-west-2\n", []string{`kind: Unsupported value: "Config"`}},
		{"a wrong apiVersion", "apiVersion: v1\nkind: Policy\nregion: us-west-2\n", []string{`apiVersion: Unsupported value: "v1"`}},
		{"an unknown top-level field", header + "region: us-west-2\nregistry: {}\n", []string{"registry: Forbidden: unknown field"}},
		{"an unknown nested field names its path", header + "region: us-west-2\nrewrite:\n  rules:\n  - {from: docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/hub, into: x}\nregistries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]}\n",
			[]string{"rewrite.rules[0].into: Forbidden: unknown field"}},
		{"a duplicate field", header + "region: us-west-2\nregistries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]}\nrewrite: {eksAddonsToRegion: true, eksAddonsToRegion: false}\n",
			[]string{`line 5: key "eksAddonsToRegion" already set in map`}},
		{"a duplicate field in JSON", `{"apiVersion": "privateguard.io/v1alpha1", "kind": "Policy", "region": "us-west-2", "region": "us-east-1"}`,
			[]string{`line 1: key "region" already set in map`}},
		{"an unknown field lists the known ones", header + "region: us-west-2\nirsa: {injectRegions: true}\n", []string{"irsa.injectRegions: Forbidden: unknown field (known: injectRegion)"}},
		{"an unknown pinnedDigests", header + "region: us-west-2\nrewrite: {pinnedDigests: drop}\n", []string{`rewrite.pinnedDigests: Unsupported value: "drop": supported values: "keep", "dropWhenTagged"`}},
		{"an add-on registry override that is not an ECR host", header + "region: us-west-2\nregistries: {eksAddonRegistry: ghcr.io}\n", []string{`registries.eksAddonRegistry: Invalid value: "ghcr.io": must be an ECR registry host`}},
		{"an add-on registry override of another region", header + "region: us-west-2\nregistries: {eksAddonRegistry: 602401143452.dkr.ecr.us-east-1.amazonaws.com}\n", []string{`registries.eksAddonRegistry: Invalid value: "602401143452.dkr.ecr.us-east-1.amazonaws.com": an ECR registry of region us-east-1, but region is us-west-2`}},
		{"an exception without a reason, rules or namespaces", header + "region: us-west-2\nexceptions: [{name: x, reason: ' '}]\n", []string{
			"exceptions[0].namespaces: Required value", "exceptions[0].rules: Required value", "exceptions[0].reason: Required value"}},
		{"an exception of an unknown rule, kind and date", header + "region: us-west-2\nexceptions: [{name: x, namespaces: [a], kinds: [Deploy], rules: [image-registries], reason: r, expires: 31/03/2027}]\n", []string{
			`exceptions[0].kinds[0]: Unsupported value: "Deploy"`, `exceptions[0].rules[0]: Unsupported value: "image-registries"`, `exceptions[0].expires: Invalid value: "31/03/2027": not a date such as 2027-03-31`}},
		{"two exceptions of one name", header + "region: us-west-2\nexceptions: [{name: x, namespaces: [a], rules: [image-registry], reason: r}, {name: x, namespaces: [b], rules: [image-region], reason: r}]\n", []string{
			`exceptions[1].name: Duplicate value: "x (also exceptions[0].name)"`}},
		{"an unknown mode", header + "region: us-west-2\nmode: dryrun\n", []string{`mode: Unsupported value: "dryrun": supported values: "enforce", "audit", "off"`}},
		{"an unknown rule id", header + "region: us-west-2\nrules: {image-registries: {mode: audit}}\n", []string{`rules[image-registries]: Unsupported value: "image-registries"`}},
		{"an unknown rule mode", header + "region: us-west-2\nrules: {image-registry: {mode: warn}}\n", []string{`rules[image-registry].mode: Unsupported value: "warn"`}},
		{"fix on a rule without it", header + "region: us-west-2\nrules: {image-rewrite: {fix: false}}\n", []string{"rules[image-rewrite].fix: Forbidden"}},
		{"a bad glob", header + "region: us-west-2\nexclude: {namespaces: ['team-[']}\n", []string{`exclude.namespaces[0]: Invalid value: "team-[": bad glob`}},
		{"a bad image glob", header + "region: us-west-2\nexclude: {images: ['[']}\n", []string{`exclude.images[0]: Invalid value: "[": bad glob`}},
		{"a bad rewrite target names the rule index", header + "region: us-west-2\nregistries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]}\nrewrite:\n  rules:\n  - {from: docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/hub}\n  - {from: quay.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/quay}\n  - {from: ghcr.io, to: 'not a host'}\n",
			[]string{`rewrite.rules[2].to: Invalid value: "not a host": "not a host" is not a registry host`}},
		{"a mirror outside the allowed registries", header + "region: us-west-2\nrewrite: {rules: [{from: docker.io, to: 999999999999.dkr.ecr.us-west-2.amazonaws.com/hub}]}\n",
			[]string{"rewrite.rules[0].to: Invalid value", "not under registries.allowed"}},
		{"a Marketplace mirror", header + "region: us-east-1\nregistries: {allowed: [709825985650.dkr.ecr.us-east-1.amazonaws.com]}\nrewrite: {rules: [{from: docker.io, to: 709825985650.dkr.ecr.us-east-1.amazonaws.com/hub}]}\n",
			[]string{"rewrite.rules[0].to: Invalid value", "Marketplace registry cannot be a mirror"}},
		{"a duplicate from", header + "region: us-west-2\nregistries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]}\nrewrite: {rules: [{from: docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/a}, {from: index.docker.io, to: 111122223333.dkr.ecr.us-west-2.amazonaws.com/b}]}\n",
			[]string{"rewrite.rules[1].from: Duplicate value"}},
		{"an allowed ECR registry of another region", header + "region: us-west-2\nregistries: {allowed: [111122223333.dkr.ecr.us-east-1.amazonaws.com]}\n",
			[]string{"registries.allowed[0]: Invalid value", "ECR registry of region us-east-1, but region is us-west-2"}},
		{"an override without namespaces or a valid rule", header + "region: us-west-2\noverrides: [{mode: audit, rules: [nope]}]\n",
			[]string{"overrides[0].namespaces: Required value", `overrides[0].rules[0]: Unsupported value: "nope"`}},
		{"a field of the wrong type", header + "region: us-west-2\nregistries: {allowed: docker.io}\n", []string{"registries.allowed: Invalid value", "must be of type list"}},
		{"not YAML", "region: [us-west-2\n", []string{"not YAML or JSON"}},
		{"not an object", "- a\n- b\n", []string{"must be a YAML or JSON object"}},
		{"every problem at once", header + "mode: x\nfoo: 1\nexclude: {namespaces: ['[']}\n",
			[]string{"region: Required value", "mode: Unsupported value", "foo: Forbidden", "exclude.namespaces[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.doc)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error %v does not wrap ErrInvalidPolicy", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(header), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), "invalid policy "+path+":\n  region: Required value") {
		t.Errorf("Load error = %v, want it to name %s and the field", err, path)
	}
	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") || errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("Load of a missing file = %v, want a read error naming it", err)
	}
}

func TestUnquotedOffIsOff(t *testing.T) {
	p, err := Parse([]byte(header + "region: us-west-2\nmode: off\nrules: {image-registry: {mode: enforce}}\noverrides: [{namespaces: [x], mode: off}]\n"))
	if err != nil {
		t.Fatalf("YAML's unquoted off must load as the mode off: %v", err)
	}
	if p.Mode(RuleImageRewrite, "default") != ModeOff || p.Mode(RuleImageRegistry, "default") != ModeEnforce || p.Mode(RuleImageRegistry, "x") != ModeOff {
		t.Errorf("rule settings: %v", p.rules)
	}
	if _, err := Parse([]byte(header + "region: us-west-2\nmode: on\n")); err == nil || !strings.Contains(err.Error(), `mode: Unsupported value: "true": supported values: "enforce", "audit", "off"`) {
		t.Errorf("mode: on (true) must be rejected naming the field, got %v", err)
	}
}
