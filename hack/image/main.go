// Command image builds privateguard's multi-platform container image without Docker and
// pushes it; `make image` and `make push` run it. The work is done by package
// internal/image; main only reads flags.
//
//	go run . build -module ../.. -out ../../bin/image -version V -revision SHA -created UNIX [-source URL] [-licenses SPDX]
//	go run . push -layout ../../bin/image/oci REGISTRY/REPOSITORY:TAG
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/privateguard/privateguard/hack/image/internal/image"
)

const usage = `usage:
  image build -module DIR -out DIR -version V -revision SHA -created UNIX-SECONDS [flags]
  image push -layout DIR REGISTRY/REPOSITORY:TAG
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch args[0] {
	case "build":
		return build(ctx, args[1:], stdout, stderr)
	case "push":
		return push(ctx, args[1:], stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

func build(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts image.Options
	var out, platforms string
	var created int64
	fs.StringVar(&opts.ModuleDir, "module", "", "root of the privateguard module")
	fs.StringVar(&out, "out", "", "output directory: the OCI layout goes to OUT/oci, the OCI archive to OUT/privateguard-oci.tar")
	fs.StringVar(&opts.Version, "version", "", "version label, stamped into the binary")
	fs.StringVar(&opts.Revision, "revision", "", "full commit hash")
	fs.Int64Var(&created, "created", 0, "every timestamp in the image, in Unix seconds (commit time or SOURCE_DATE_EPOCH)")
	fs.StringVar(&opts.Source, "source", "", "source repository URL label")
	fs.StringVar(&opts.Licenses, "licenses", "", "SPDX license expression label (omitted when empty)")
	fs.StringVar(&opts.CABundle, "ca-bundle", image.DefaultCABundle, "PEM CA certificates to put in the image")
	fs.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated OS/ARCH list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if out == "" || fs.NArg() != 0 {
		return fmt.Errorf("build wants -out and no arguments\n%s", usage)
	}
	for _, p := range strings.Split(platforms, ",") {
		platform, err := v1.ParsePlatform(p)
		if err != nil {
			return err
		}
		opts.Platforms = append(opts.Platforms, *platform)
	}
	if created > 0 {
		opts.Created = time.Unix(created, 0)
	}

	idx, err := image.Build(ctx, opts)
	if err != nil {
		return err
	}
	layoutDir := filepath.Join(out, "oci")
	if err := image.WriteLayout(layoutDir, idx, opts.Version); err != nil {
		return err
	}
	archive := filepath.Join(out, "privateguard-oci.tar")
	if err := image.WriteArchive(archive, layoutDir, opts.Created); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", layoutDir, archive)
	return image.WriteSummary(stdout, idx)
}

func push(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "", "the OCI layout `make image` wrote")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *layoutDir == "" || fs.NArg() != 1 {
		return fmt.Errorf("push wants -layout and one image reference\n%s", usage)
	}
	ref, err := name.ParseReference(fs.Arg(0), name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image %q: %w (want REGISTRY/REPOSITORY:TAG, e.g. 111122223333.dkr.ecr.us-west-2.amazonaws.com/privateguard:0.1.0)", fs.Arg(0), err)
	}
	idx, err := image.ReadLayout(*layoutDir)
	if err != nil {
		return err
	}
	digest, err := image.Push(ctx, idx, ref, authn.DefaultKeychain)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed %s@%s\n", ref, digest)
	return image.WriteSummary(stdout, idx)
}
