package main

import (
	"path/filepath"
	"testing"
)

func TestLintGolden(t *testing.T) {
	got := cliRun(t, "", "lint", "--config", filepath.Join("testdata", "lint", "warnings.yaml"))
	if got.code != exitOK || got.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want exit 0 (warnings alone), no stderr", got.code, got.stderr)
	}
	checkGolden(t, "lint-warnings.txt", got.stdout)
}

func TestLintExitCodes(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFiles(t, map[string]string{
		"bad.yaml": "apiVersion: privateguard.io/v1alpha1\nkind: Policy\nmode: strict\nrewrite:\n  rules:\n  - {from: docker.io, to: ghcr.io/mirror}\n",
	})
	examples := filepath.Join(packageDir, "..", "..", "examples", "policy.yaml")
	warnings := filepath.Join(packageDir, "testdata", "lint", "warnings.yaml")
	for _, tc := range []struct {
		name                   string
		args                   []string
		want                   int
		wantStdout, wantStderr string
	}{
		{name: "a clean policy exits 0", args: []string{"--config", examples}, want: exitOK,
			wantStdout: examples + ": valid, 0 warnings\n"},
		{name: "a clean policy exits 0 under --strict", args: []string{"--config", examples, "--strict"}, want: exitOK,
			wantStdout: examples + ": valid, 0 warnings\n"},
		{name: "warnings exit 1 under --strict", args: []string{"--config", warnings, "--strict"}, want: exitFailed},
		{name: "every error is reported at once, exit 2", args: []string{"--config", "bad.yaml"}, want: exitError,
			wantStderr: "error: invalid policy bad.yaml:\n" +
				"  region: Required value: the cluster's AWS region, such as us-west-2\n" +
				"  mode: Unsupported value: \"strict\": supported values: \"enforce\", \"audit\", \"off\"\n" +
				"  rewrite.rules[0].to: Invalid value: \"ghcr.io/mirror\": not under registries.allowed (none): rewritten images would be denied\n"},
		{name: "a missing file exits 2", args: []string{"--config", "nope.yaml"}, want: exitError,
			wantStderr: "error: read policy: open nope.yaml: no such file or directory\n"},
		{name: "no --config is bad usage", want: exitError,
			wantStderr: "error: --config is required: the policy file to check\nRun 'privateguard lint -h' for usage.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cliRun(t, "", append([]string{"lint"}, tc.args...)...)
			if got.code != tc.want || got.stderr != tc.wantStderr || tc.wantStdout != "" && got.stdout != tc.wantStdout {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr, tc.want, tc.wantStdout, tc.wantStderr)
			}
		})
	}
}
