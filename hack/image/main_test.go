package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/privateguard/privateguard/hack/image/internal/image"
)

func TestPushUploadsTheLayoutToTheNamedTag(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	idx, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	if err := image.WriteLayout(dir, idx, "0.1.0"); err != nil {
		t.Fatal(err)
	}
	target := strings.TrimPrefix(srv.URL, "http://") + "/privateguard:0.1.0"

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"push", "-layout", dir, target}, &stdout, &stderr); err != nil {
		t.Fatalf("push: %v\n%s", err, &stderr)
	}
	want, _ := idx.Digest()
	ref, err := name.ParseReference(target)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != want {
		t.Errorf("%s is %s, want the layout's index %s", target, desc.Digest, want)
	}
	if !strings.Contains(stdout.String(), "pushed "+target+"@"+want.String()) {
		t.Errorf("output %q does not say what was pushed", &stdout)
	}
}

func TestUsageMistakesAreErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no command":                      nil,
		"an unknown command":              {"publish"},
		"build without an output":         {"build", "-version", "1"},
		"push without a layout":           {"push", "example.com/privateguard:0.1.0"},
		"push without a registry and tag": {"push", "-layout", "x", "privateguard"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
				t.Errorf("run(%q) succeeded", args)
			}
		})
	}
}
