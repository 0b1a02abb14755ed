package policywatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/privateguard/privateguard/pkg/metrics"
)

const goodPolicy = `apiVersion: privateguard.io/v1alpha1
kind: Policy
region: us-west-2
registries:
  allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]
`

func policyIn(region string) string { return strings.ReplaceAll(goodPolicy, "us-west-2", region) }

const badPolicy = `apiVersion: privateguard.io/v1alpha1
kind: Policy
regon: us-east-1
`

func reloads(result string) float64 {
	return testutil.ToFloat64(metrics.ConfigReloads.WithLabelValues(result))
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsABadFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content *string
		want    string
	}{
		{name: "a missing file is an error naming it", want: "read policy"},
		{name: "an invalid policy is an error naming the file and the field", content: ptr(badPolicy), want: "regon"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "policy"+string(rune('a'+i))+".yaml")
			if tt.content != nil {
				write(t, path, *tt.content)
			}
			_, err := New(path, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("New error = %v, want one naming %s and %q", err, path, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write(t, path, goodPolicy)
	w, err := New(path, Options{})
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name        string
		content     string // written before the check; "" removes the file
		wantRegion  string
		wantSuccess float64
		wantError   float64
	}{
		{name: "an unchanged file is not reloaded", content: goodPolicy, wantRegion: "us-west-2"},
		{name: "a good new file is applied", content: policyIn("eu-west-1"), wantRegion: "eu-west-1", wantSuccess: 1},
		{name: "a bad new file is rejected and the last good policy stays", content: badPolicy, wantRegion: "eu-west-1", wantError: 1},
		{name: "the same bad file is not counted twice", content: badPolicy, wantRegion: "eu-west-1"},
		{name: "a removed file keeps the last good policy", content: "", wantRegion: "eu-west-1", wantError: 1},
		{name: "a fixed file is applied again", content: policyIn("ap-south-1"), wantRegion: "ap-south-1", wantSuccess: 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			success, failure := reloads(metrics.ReloadSuccess), reloads(metrics.ReloadError)
			if s.content == "" {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				write(t, path, s.content)
			}
			w.check()
			if got := w.Current().Region(); got != s.wantRegion {
				t.Errorf("region in force = %s, want %s", got, s.wantRegion)
			}
			if got := reloads(metrics.ReloadSuccess) - success; got != s.wantSuccess {
				t.Errorf("success reloads counted = %v, want %v", got, s.wantSuccess)
			}
			if got := reloads(metrics.ReloadError) - failure; got != s.wantError {
				t.Errorf("error reloads counted = %v, want %v", got, s.wantError)
			}
		})
	}
}

// TestReloadFollowsAConfigMapSymlinkSwap mounts the policy as the kubelet mounts a
// ConfigMap (policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>) and swaps ..data
// atomically, as the kubelet does on update.
func TestReloadFollowsAConfigMapSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	publish := func(version, content string) {
		t.Helper()
		v := filepath.Join(dir, "..v"+version)
		if err := os.Mkdir(v, 0o700); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(v, "policy.yaml"), content)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink("..v"+version, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("1", goodPolicy)
	path := filepath.Join(dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), path); err != nil {
		t.Fatal(err)
	}
	w, err := New(path, Options{Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v", err)
		}
	}()

	publish("2", policyIn("eu-central-1"))
	deadline := time.Now().Add(10 * time.Second)
	for w.Current().Region() != "eu-central-1" {
		if time.Now().After(deadline) {
			t.Fatalf("the swapped policy was not applied in 10s; region in force: %s", w.Current().Region())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
