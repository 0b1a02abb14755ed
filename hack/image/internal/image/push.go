package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push uploads idx and every image and layer it holds to ref, and returns the digest the
// tag now points at. Credentials come from keychain; authn.DefaultKeychain reads the
// Docker config (~/.docker/config.json, or $DOCKER_CONFIG) as crane and docker do, so
// `crane auth login`, `docker login` and credential helpers such as
// docker-credential-ecr-login all work.
func Push(ctx context.Context, idx v1.ImageIndex, ref name.Reference, keychain authn.Keychain) (v1.Hash, error) {
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return idx.Digest()
}
