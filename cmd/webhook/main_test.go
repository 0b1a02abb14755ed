package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	badPolicy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(badPolicy, []byte("kind: Policy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no command prints the usage and is bad usage", wantCode: 2, wantStderr: "Usage:"},
		{name: "version prints the version", args: []string{"version"}, wantStdout: "privateguard dev\n"},
		{name: "--version prints the version", args: []string{"--version"}, wantStdout: "privateguard dev\n"},
		{name: "help lists the commands", args: []string{"help"}, wantStdout: "Available Commands:\n  audit "},
		{name: "--help lists the commands", args: []string{"--help"}, wantStdout: "  explain      Say what the policy does with images, and why\n"},
		{name: "an unknown command is bad usage", args: []string{"deploy"}, wantCode: 2,
			wantStderr: "error: unknown command \"deploy\" for \"privateguard\"\nRun 'privateguard -h' for usage.\n"},
		{name: "audit without --config is bad usage", args: []string{"audit"}, wantCode: 2, wantStderr: "--config is required"},
		{name: "serve without --config is bad usage", args: []string{"serve"}, wantCode: 2,
			wantStderr: "error: --config is required: the policy file\nRun 'privateguard serve -h' for usage.\n"},
		{name: "serve with an unknown flag is bad usage", args: []string{"serve", "--nope"}, wantCode: 2, wantStderr: "error: unknown flag: --nope\n"},
		{name: "serve with an argument is bad usage", args: []string{"serve", "policy.yaml"}, wantCode: 2, wantStderr: "error: unexpected argument \"policy.yaml\""},
		{name: "serve -h lists the server's and zap's flags", args: []string{"serve", "-h"}, wantStdout: "--service-accounts"},
		{name: "serve --help lists zap's flags", args: []string{"serve", "--help"}, wantStdout: "--zap-log-level"},
		{name: "serve with a bad policy fails naming it", args: []string{"serve", "--config", badPolicy, "--service-accounts=false"},
			wantCode: 1, wantStderr: "invalid policy " + badPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			a := app{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}
			code := a.run(context.Background(), tt.args)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
