package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// cliRun runs `privateguard args...` with stdin.
func cliRun(t *testing.T, stdin string, args ...string) output {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := app{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr}
	code := a.run(context.Background(), args)
	return output{code, stdout.String(), stderr.String()}
}

// explainImages are images of every kind the policy tells apart.
var explainImages = []string{
	"nginx:1.27", // Docker Hub, rewritten
	"111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1.0",                                               // allowed
	"ghcr.io/acme/storefront:2.3.1",                                                                      // denied
	"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0",                                               // another region
	"709825985650.dkr.ecr.us-east-1.amazonaws.com/acme-analytics/metered-agent:3.2",                      // Marketplace
	"602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.1-eksbuild.1",                        // add-on, moved
	"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.32.0",                                // add-on registry of the region
	"918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/eks/coredns:v1.11.1",                               // add-on, across partitions
	"registry.k8s.io/pause:3.10@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a", // pinned digest
	"Not An Image",
}

func TestExplainGolden(t *testing.T) {
	t.Chdir("../..")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"explain", nil, exitFailed},
		{"explain-legacy-namespace", []string{"-n", "legacy-billing"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"explain", "--config", "examples/policy.yaml"}, tc.args...), explainImages...)
			got := cliRun(t, "", args...)
			if got.code != tc.wantCode || got.stderr != "" {
				t.Fatalf("exit %d, stderr %q; want exit %d, no stderr", got.code, got.stderr, tc.wantCode)
			}
			checkGolden(t, tc.name+".txt", got.stdout)
		})
	}
}

func TestExplainExitCodes(t *testing.T) {
	t.Chdir("../..")
	for _, tc := range []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"an allowed image exits 0", []string{"--config", "examples/policy.yaml", "nginx"}, exitOK, ""},
		{"a denied image exits 1", []string{"--config", "examples/policy.yaml", "nginx", "ghcr.io/x/y"}, exitFailed, ""},
		{"an image denied only in audit mode exits 0", []string{"--config", "examples/policy.yaml", "-n", "legacy-a", "ghcr.io/x/y"}, exitOK, ""},
		{"no image is bad usage", []string{"--config", "examples/policy.yaml"}, exitError,
			"error: give at least one IMAGE\nRun 'privateguard explain -h' for usage.\n"},
		{"no --config is bad usage", []string{"nginx"}, exitError,
			"error: --config is required: the policy file\nRun 'privateguard explain -h' for usage.\n"},
		{"a bad policy exits 2", []string{"--config", "examples/missing.yaml", "nginx"}, exitError,
			"error: read policy: open examples/missing.yaml: no such file or directory\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cliRun(t, "", append([]string{"explain"}, tc.args...)...)
			if got.code != tc.want || got.stderr != tc.wantStderr {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr %q", got.code, got.stderr, tc.want, tc.wantStderr)
			}
		})
	}
}

func TestCompletionPrintsAScriptPerShell(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "# bash completion V2 for privateguard",
		"zsh":  "#compdef privateguard",
		"fish": "# fish completion for privateguard",
	} {
		t.Run(shell, func(t *testing.T) {
			got := cliRun(t, "", "completion", shell)
			if got.code != exitOK || got.stderr != "" || !strings.Contains(got.stdout, want) {
				t.Errorf("exit %d, stderr %q, stdout starts %.80q; want exit 0 and a script with %q", got.code, got.stderr, got.stdout, want)
			}
		})
	}
	t.Run("the script completes -o's values", func(t *testing.T) {
		got := cliRun(t, "", "__complete", "audit", "-o", "")
		for _, format := range outputFormats {
			if !strings.Contains(got.stdout, format+"\n") {
				t.Errorf("completions of -o lack %q:\n%s", format, got.stdout)
			}
		}
	})
	for name, args := range map[string][]string{
		"no shell":           {"completion"},
		"an unknown shell":   {"completion", "powershell"},
		"two shells at once": {"completion", "bash", "zsh"},
	} {
		t.Run(name+" is bad usage", func(t *testing.T) {
			if got := cliRun(t, "", args...); got.code != exitError || got.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2", got.code, got.stdout, got.stderr)
			}
		})
	}
}
