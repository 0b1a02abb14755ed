package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BinaryVersion is what the image's binary prints for `privateguard version`: the version,
// and the commit unless the version already names it (`git describe` output such as
// v0.1.0-3-g1a2b3c4 does), so that a running image always tells which commit it is.
func BinaryVersion(version, revision string) string {
	if revision == "" || len(revision) >= 7 && strings.Contains(version, revision[:7]) {
		return version
	}
	return version + "+" + revision[:min(12, len(revision))]
}

// buildBinary compiles the static binary for platform p into out, as the Dockerfile's
// build stage does: no cgo, no build paths, symbols stripped, the version stamped. The
// microarchitecture levels are pinned to the defaults so that the binary runs on every
// node of its architecture whatever GOAMD64 or GOARM64 the build machine sets, and VCS
// stamping is off so that the binary depends on the sources alone.
func buildBinary(ctx context.Context, opts Options, p v1.Platform, out string) error {
	ldflags := "-s -w -X main.version=" + BinaryVersion(opts.Version, opts.Revision)
	cmd := exec.CommandContext(ctx, opts.Go, "build", "-trimpath", "-buildvcs=false",
		"-ldflags", ldflags, "-o", out, opts.Package)
	cmd.Dir = opts.ModuleDir
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0",
		"GOOS="+p.OS,
		"GOARCH="+p.Architecture,
		"GOAMD64=v1",
		"GOARM64=v8.0",
		"GOWORK=off",
	)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s/%s in %s: %w\n%s", opts.Package, p.OS, p.Architecture, opts.ModuleDir, err, stderr.Bytes())
	}
	return nil
}
