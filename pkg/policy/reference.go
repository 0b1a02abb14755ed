package policy

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// dockerHub is the canonical host of Docker Hub. index.docker.io and registry-1.docker.io
// name the same registry.
const dockerHub = "docker.io"

// canonicalHost lower-cases a registry host (host names compare case-insensitively; a
// port stays part of the host) and folds Docker Hub's aliases into docker.io.
func canonicalHost(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return dockerHub
	}
	return host
}

// image is a parsed container image reference, normalized the way the container runtime
// resolves it: `nginx` is docker.io/library/nginx.
type image struct {
	host   string // canonical registry host, with port
	path   string // repository path below the host
	tag    string
	digest digest.Digest
}

// parseImage parses and normalizes an image reference with distribution/reference.
func parseImage(raw string) (image, error) {
	named, err := reference.ParseNormalizedNamed(raw)
	if err != nil {
		return image{}, err
	}
	img := image{host: reference.Domain(named), path: reference.Path(named)}
	if canonical := canonicalHost(img.host); canonical != img.host {
		img.host = canonical
		// registry-1.docker.io/nginx is Docker Hub's official nginx: library/nginx.
		if canonical == dockerHub && !strings.Contains(img.path, "/") {
			img.path = "library/" + img.path
		}
	}
	if t, ok := named.(reference.Tagged); ok {
		img.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		img.digest = d.Digest()
	}
	return img, nil
}

// repository is the normalized repository name: host and path, no tag or digest.
func (i image) repository() string { return i.host + "/" + i.path }

// String is the normalized reference: repository, tag and digest as given.
func (i image) String() string {
	s := i.repository()
	if i.tag != "" {
		s += ":" + i.tag
	}
	if i.digest != "" {
		s += "@" + i.digest.String()
	}
	return s
}

// withRepository is the image moved to another repository, keeping its tag and digest.
// The new name is rebuilt and checked through distribution/reference.
func (i image) withRepository(host, repoPath string) (image, error) {
	name := host + "/" + repoPath
	if _, err := reference.WithName(name); err != nil {
		return image{}, fmt.Errorf("rewritten name %q: %w", name, err)
	}
	return image{host: host, path: repoPath, tag: i.tag, digest: i.digest}, nil
}

// registryPrefix is an entry of a registry list: a host, or a host and a repository path
// prefix that matches on path-component boundaries only.
type registryPrefix struct {
	host string // canonical host
	path string // normalized path prefix, "" for the whole registry
}

// parseRegistryPrefix parses a registry list entry such as
// "111122223333.dkr.ecr.us-west-2.amazonaws.com" or "docker.io/bitnami".
func parseRegistryPrefix(s string) (registryPrefix, error) {
	if s == "" {
		return registryPrefix{}, fmt.Errorf("must not be empty")
	}
	host, repoPath, _ := strings.Cut(s, "/")
	if !anchoredDomain.MatchString(host) {
		return registryPrefix{}, fmt.Errorf("%q is not a registry host", host)
	}
	// A registry host must look like one (a dot, a port or localhost), or reference
	// would read it as the first path component of a Docker Hub repository.
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return registryPrefix{}, fmt.Errorf("%q is not a registry host (no dot, port or localhost)", host)
	}
	p := registryPrefix{host: canonicalHost(host)}
	if repoPath == "" {
		if strings.HasSuffix(s, "/") {
			return registryPrefix{}, fmt.Errorf("must not end with /")
		}
		return p, nil
	}
	// The path is a prefix, not an image: docker.io/bitnami is the bitnami namespace, so
	// Docker Hub's library/ is not added here. The name grammar still applies.
	if strings.ContainsAny(repoPath, ":@") {
		return registryPrefix{}, fmt.Errorf("must not carry a tag or digest")
	}
	if _, err := reference.WithName(p.host + "/" + repoPath); err != nil {
		return registryPrefix{}, fmt.Errorf("repository path %q: %w (lower-case path components separated by /)", repoPath, err)
	}
	p.path = repoPath
	return p, nil
}

// anchoredDomain matches a whole registry host (with optional port) in the grammar of
// distribution/reference.
var anchoredDomain = mustAnchor(reference.DomainRegexp.String())

// String is the prefix as it is written in the policy, normalized.
func (p registryPrefix) String() string {
	if p.path == "" {
		return p.host
	}
	return p.host + "/" + p.path
}

// contains reports whether the repository host/repoPath lies under the prefix.
func (p registryPrefix) contains(host, repoPath string) bool {
	if host != p.host {
		return false
	}
	return p.path == "" || underPath(repoPath, p.path)
}

// underPath reports whether repoPath equals prefix or lies below it on a `/` boundary:
// docker.io/bitnami covers docker.io/bitnami/redis, never docker.io/bitnamilegacy/redis.
func underPath(repoPath, prefix string) bool {
	return repoPath == prefix || len(repoPath) > len(prefix) && repoPath[len(prefix)] == '/' && repoPath[:len(prefix)] == prefix
}

// matchAny reports whether s matches one of the globs (path.Match syntax, validated at load).
func matchAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

func mustAnchor(expr string) *regexp.Regexp { return regexp.MustCompile("^(?:" + expr + ")$") }
