// Package image builds privateguard's container image without Docker: a multi-platform
// OCI image index of the static binary on a base made here, written as an OCI layout and
// an OCI archive, and pushed to a registry the way crane pushes.
//
// A private EKS cluster cannot pull from a public registry, so every user copies the image
// into their own ECR first; building it from source must therefore need nothing but Go.
// The base holds only what the static binary needs at run time: the CA certificates (to
// reach the AWS APIs the lookups call) and /etc/passwd and /etc/group naming the non-root
// user of imageconfig.User. Every file belongs to root and is read-only for that user.
//
// The build is reproducible: with the same sources, Go toolchain, CA bundle and Options,
// every digest is the same. The binaries are built with -trimpath and without VCS stamps,
// every timestamp is Options.Created (the commit time, or SOURCE_DATE_EPOCH), tar entries
// are sorted and have fixed owners and modes, and gzip carries no time or name.
package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/privateguard/privateguard/internal/imageconfig"
)

// OCI annotation keys used as image labels (OCI image spec, annotations.md).
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelLicenses = "org.opencontainers.image.licenses"
	LabelCreated  = "org.opencontainers.image.created"
	LabelTitle    = "org.opencontainers.image.title"
)

// DefaultCABundle is where Debian, Ubuntu, Alpine and Arch keep the system's CA bundle,
// and the first place Go's crypto/x509 looks on Linux; the image keeps it there too.
const DefaultCABundle = "/etc/ssl/certs/ca-certificates.crt"

// DefaultPlatforms are the platforms of the index: EKS node groups run on x86 and on
// Graviton (arm64) instances.
var DefaultPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// Options says what to build. Version, Revision and Created are required.
type Options struct {
	// ModuleDir is the root of the privateguard module (the directory of its go.mod).
	ModuleDir string
	// Package is the main package of the binary, relative to ModuleDir. Default
	// "./cmd/webhook".
	Package string
	// Go is the go command. Default "go" from PATH.
	Go string
	// Platforms of the index, in order. Default DefaultPlatforms.
	Platforms []v1.Platform

	// Version is the release, e.g. "0.1.0" or `git describe` output: the version label,
	// and stamped into the binary (with Revision, see BinaryVersion).
	Version string
	// Revision is the full commit hash of the sources: the revision label.
	Revision string
	// Created is every timestamp in the image: the config's, the history's and each
	// file's. Use the commit time (or SOURCE_DATE_EPOCH) so a rebuild is identical.
	Created time.Time
	// Source is the URL of the source repository (the source label); empty omits it.
	Source string
	// Licenses is an SPDX license expression (the licenses label); empty omits it.
	Licenses string

	// CABundle is the PEM file of CA certificates copied into the image. Default
	// DefaultCABundle.
	CABundle string
}

// Errors of Build.
var (
	// ErrMissingOption means a required Options field is empty.
	ErrMissingOption = errors.New("missing option")
)

func (o *Options) defaults() error {
	if o.Package == "" {
		o.Package = "./cmd/webhook"
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if len(o.Platforms) == 0 {
		o.Platforms = DefaultPlatforms
	}
	if o.CABundle == "" {
		o.CABundle = DefaultCABundle
	}
	switch {
	case o.ModuleDir == "":
		return fmt.Errorf("%w: the module directory (the one holding go.mod)", ErrMissingOption)
	case o.Version == "":
		return fmt.Errorf("%w: the version (e.g. git describe --tags --always --dirty)", ErrMissingOption)
	case o.Revision == "":
		return fmt.Errorf("%w: the revision (git rev-parse HEAD)", ErrMissingOption)
	case o.Created.IsZero():
		return fmt.Errorf("%w: the creation time (the commit time or SOURCE_DATE_EPOCH)", ErrMissingOption)
	}
	o.Created = o.Created.UTC().Truncate(time.Second)
	return nil
}

// Build compiles the binary for every platform and returns the image index: one image per
// platform, each the shared base layer and a layer holding the binary.
func Build(ctx context.Context, opts Options) (v1.ImageIndex, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	base, err := baseLayer(opts.CABundle, opts.Created)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "privateguard-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	labels := Labels(opts)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range opts.Platforms {
		bin := filepath.Join(work, "privateguard-"+p.OS+"-"+p.Architecture)
		if err := buildBinary(ctx, opts, p, bin); err != nil {
			return nil, err
		}
		img, err := platformImage(opts, p, labels, base, bin)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return mutate.Annotations(idx, labels).(v1.ImageIndex), nil
}

// Labels are the image's OCI labels, also set as the index's annotations so that a
// registry shows them for the multi-platform tag.
func Labels(opts Options) map[string]string {
	labels := map[string]string{
		LabelTitle:    "privateguard",
		LabelVersion:  opts.Version,
		LabelRevision: opts.Revision,
		LabelCreated:  opts.Created.UTC().Format(time.RFC3339),
	}
	if opts.Source != "" {
		labels[LabelSource] = opts.Source
	}
	if opts.Licenses != "" {
		labels[LabelLicenses] = opts.Licenses
	}
	return labels
}

// platformImage is the image of one platform: its config says who runs what, and its
// layers are the base and the binary.
func platformImage(opts Options, p v1.Platform, labels map[string]string, base v1.Layer, binary string) (v1.Image, error) {
	bin, err := binaryLayer(binary, opts.Created)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: opts.Created}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      created,
		Config: v1.Config{
			User:       imageconfig.UserSpec(),
			Entrypoint: imageconfig.Entrypoint(),
			Cmd:        imageconfig.Cmd(),
			WorkingDir: "/",
			Labels:     labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img, err := mutate.ConfigFile(mutate.MediaType(empty.Image, types.OCIManifestSchema1), cfg)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "privateguard base: CA certificates, /etc/passwd and /etc/group for " + imageconfig.UserName,
		}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "privateguard " + BinaryVersion(opts.Version, opts.Revision) + " at " + imageconfig.Binary,
		}},
	)
}
