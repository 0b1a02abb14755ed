package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/privateguard/privateguard/hack/image/internal/image"
	"github.com/privateguard/privateguard/internal/imageconfig"
)

// moduleDir is the privateguard module, whose binary the tests put in the image.
const moduleDir = "../../../.."

// testOptions builds from this checkout with fixed stamps and a test CA bundle.
func testOptions(t *testing.T) image.Options {
	t.Helper()
	dir, err := filepath.Abs(moduleDir)
	if err != nil {
		t.Fatal(err)
	}
	if gomod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err != nil || !bytes.HasPrefix(gomod, []byte("module github.com/privateguard/privateguard\n")) {
		t.Fatalf("%s is not the privateguard module: %v", dir, err)
	}
	return image.Options{
		ModuleDir: dir,
		Version:   "v0.0.0-test",
		Revision:  "0123456789abcdef0123456789abcdef01234567",
		Created:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Source:    "https://github.com/privateguard/privateguard",
		CABundle:  "testdata/ca.pem",
	}
}

// built is the first build of the test binary's run: the tests that only look at the
// image share it, since compiling for two architectures is the slow part.
var built struct {
	once sync.Once
	idx  v1.ImageIndex
	err  error
}

func builtIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	built.once.Do(func() { built.idx, built.err = image.Build(context.Background(), testOptions(t)) })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.idx
}

// authRegistry is an in-process registry on 127.0.0.1 that wants HTTP basic credentials,
// as ECR does after `aws ecr get-login-password`.
func authRegistry(t *testing.T, user, password string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// dockerLogin writes a Docker config holding credentials for host, as `crane auth login`
// or `docker login` would, and points DOCKER_CONFIG at it.
func dockerLogin(t *testing.T, host, user, password string) {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	config := `{"auths": {"` + host + `": {"auth": "` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// layerFile is one entry of an image's file system.
type layerFile struct {
	header *tar.Header
	data   []byte
}

func filesOf(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files["/"+strings.TrimSuffix(h.Name, "/")] = layerFile{h, data}
	}
}

func TestImageRoundTripsThroughARegistry(t *testing.T) {
	opts := testOptions(t)
	idx := builtIndex(t)

	// `make push` pushes what `make image` wrote, so this pushes the index read back
	// from the OCI layout.
	layoutDir := filepath.Join(t.TempDir(), "oci")
	if err := image.WriteLayout(layoutDir, idx, opts.Version); err != nil {
		t.Fatal(err)
	}
	fromLayout, err := image.ReadLayout(layoutDir)
	if err != nil {
		t.Fatal(err)
	}

	host := authRegistry(t, "AWS", "token")
	ref, err := name.ParseReference(host+"/privateguard:0.1.0", name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a push without credentials is refused", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		if _, err := image.Push(context.Background(), fromLayout, ref, authn.DefaultKeychain); err == nil {
			t.Fatal("push without credentials succeeded")
		}
	})
	dockerLogin(t, host, "AWS", "token")
	pushed, err := image.Push(context.Background(), fromLayout, ref, authn.DefaultKeychain)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if got, _ := pulled.Digest(); got != want || pushed != want {
		t.Fatalf("the registry holds %s (push reported %s), want the built index %s", got, pushed, want)
	}

	m, err := pulled.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("it is an OCI index of one image per EKS node architecture", func(t *testing.T) {
		if m.MediaType != types.OCIImageIndex {
			t.Errorf("index media type %s, want %s", m.MediaType, types.OCIImageIndex)
		}
		var platforms []string
		for _, d := range m.Manifests {
			platforms = append(platforms, d.Platform.String())
		}
		if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
		}
		if !maps.Equal(m.Annotations, image.Labels(opts)) {
			t.Errorf("index annotations %v, want the labels %v", m.Annotations, image.Labels(opts))
		}
	})

	var baseLayers []v1.Hash
	for _, desc := range m.Manifests {
		img, err := pulled.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		arch := desc.Platform.Architecture
		t.Run(desc.Platform.String()+" runs the binary as the chart's user", func(t *testing.T) {
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
				t.Errorf("manifest media type %s, want %s", mt, types.OCIManifestSchema1)
			}
			if cfg.OS != desc.Platform.OS || cfg.Architecture != arch {
				t.Errorf("config platform %s/%s, index says %s", cfg.OS, cfg.Architecture, desc.Platform)
			}
			if cfg.Config.User != imageconfig.UserSpec() {
				t.Errorf("user %q, want %q", cfg.Config.User, imageconfig.UserSpec())
			}
			if !slices.Equal(cfg.Config.Entrypoint, imageconfig.Entrypoint()) || !slices.Equal(cfg.Config.Cmd, imageconfig.Cmd()) {
				t.Errorf("entrypoint %q cmd %q, want %q %q", cfg.Config.Entrypoint, cfg.Config.Cmd, imageconfig.Entrypoint(), imageconfig.Cmd())
			}
			wantLabels := map[string]string{
				image.LabelTitle:    "privateguard",
				image.LabelSource:   "https://github.com/privateguard/privateguard",
				image.LabelRevision: opts.Revision,
				image.LabelVersion:  opts.Version,
				image.LabelCreated:  "2026-01-02T03:04:05Z",
			}
			if !maps.Equal(cfg.Config.Labels, wantLabels) {
				t.Errorf("labels %v, want %v", cfg.Config.Labels, wantLabels)
			}
			if !cfg.Created.Equal(opts.Created) {
				t.Errorf("created %s, want the commit time %s", cfg.Created, opts.Created)
			}
			layers, err := img.Layers()
			if err != nil || len(layers) != 2 {
				t.Fatalf("layers %v (%v), want the base and the binary", layers, err)
			}
			d, _ := layers[0].Digest()
			baseLayers = append(baseLayers, d)
		})

		files := filesOf(t, img)
		t.Run(desc.Platform.String()+" holds the binary, the CA bundle and the accounts, none writable", func(t *testing.T) {
			wantPaths := []string{"/etc", "/etc/group", "/etc/passwd", "/etc/ssl", "/etc/ssl/certs", image.DefaultCABundle, imageconfig.Binary}
			if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, wantPaths) {
				t.Errorf("files %q, want exactly %q", got, wantPaths)
			}
			for p, f := range files {
				h := f.header
				mode := fs.FileMode(h.Mode)
				writable := h.Uid == imageconfig.User && mode&0o200 != 0 ||
					h.Gid == imageconfig.Group && mode&0o020 != 0 ||
					mode&0o002 != 0
				if writable {
					t.Errorf("%s (%d:%d %v) is writable by %s", p, h.Uid, h.Gid, mode, imageconfig.UserSpec())
				}
				if h.Mode&(0o4000|0o2000|0o1000) != 0 {
					t.Errorf("%s has mode %o: set-uid, set-gid or sticky", p, h.Mode)
				}
				if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
					t.Errorf("%s is owned by %d:%d (%q:%q), want 0:0 without names", p, h.Uid, h.Gid, h.Uname, h.Gname)
				}
				if !h.ModTime.Equal(opts.Created) {
					t.Errorf("%s has time %s, want %s", p, h.ModTime, opts.Created)
				}
			}
			if !bytes.Contains(files["/etc/passwd"].data, []byte("\nnonroot:x:65532:65532:")) {
				t.Errorf("/etc/passwd has no nonroot 65532 entry:\n%s", files["/etc/passwd"].data)
			}
			if !bytes.Contains(files["/etc/group"].data, []byte("\nnonroot:x:65532:")) {
				t.Errorf("/etc/group has no nonroot 65532 entry:\n%s", files["/etc/group"].data)
			}
			if ca, _ := os.ReadFile(opts.CABundle); !bytes.Equal(files[image.DefaultCABundle].data, ca) {
				t.Errorf("%s is not the build's CA bundle", image.DefaultCABundle)
			}
			if files[imageconfig.Binary].header.Mode&0o111 == 0 {
				t.Errorf("%s is not executable", imageconfig.Binary)
			}
		})

		bin := files[imageconfig.Binary].data
		t.Run(desc.Platform.String()+" binary is static and built for its platform", func(t *testing.T) {
			f, err := elf.NewFile(bytes.NewReader(bin))
			if err != nil {
				t.Fatal(err)
			}
			wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
			if f.Machine != wantMachine {
				t.Errorf("ELF machine %s, want %s", f.Machine, wantMachine)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("the binary has a dynamic loader (PT_INTERP): it is not static")
				}
			}
		})
		if arch != runtime.GOARCH || runtime.GOOS != "linux" {
			continue
		}
		t.Run(desc.Platform.String()+" binary prints its version and commit", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "privateguard")
			if err := os.WriteFile(path, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "version").CombinedOutput()
			if err != nil {
				t.Fatalf("privateguard version: %v\n%s", err, out)
			}
			want := "privateguard " + image.BinaryVersion(opts.Version, opts.Revision) + "\n"
			if string(out) != want || !strings.Contains(string(out), opts.Revision[:12]) {
				t.Errorf("privateguard version printed %q, want %q with the commit", out, want)
			}
		})
	}
	if len(baseLayers) == 2 && baseLayers[0] != baseLayers[1] {
		t.Errorf("base layers %v differ between platforms; the registry would store the same files twice", baseLayers)
	}
}

func TestRebuildGivesTheSameDigests(t *testing.T) {
	opts := testOptions(t)
	first := builtIndex(t)
	second, err := image.Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var summaries [2]bytes.Buffer
	for i, idx := range []v1.ImageIndex{first, second} {
		if err := image.WriteSummary(&summaries[i], idx); err != nil {
			t.Fatal(err)
		}
	}
	if summaries[0].String() != summaries[1].String() {
		t.Fatalf("two builds of the same sources differ:\n%s\n%s", &summaries[0], &summaries[1])
	}
	t.Logf("digests and sizes:\n%s", &summaries[0])

	t.Run("the OCI archives are byte for byte the same", func(t *testing.T) {
		var sums [2][sha256.Size]byte
		for i, idx := range []v1.ImageIndex{first, second} {
			dir := t.TempDir()
			if err := image.WriteLayout(filepath.Join(dir, "oci"), idx, opts.Version); err != nil {
				t.Fatal(err)
			}
			archive := filepath.Join(dir, "privateguard-oci.tar")
			if err := image.WriteArchive(archive, filepath.Join(dir, "oci"), opts.Created); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(archive)
			if err != nil {
				t.Fatal(err)
			}
			sums[i] = sha256.Sum256(b)
			if i == 0 {
				checkArchive(t, b, idx)
			}
		}
		if sums[0] != sums[1] {
			t.Errorf("archive sha256 %x and %x differ", sums[0], sums[1])
		}
	})
}

// checkArchive asserts that an OCI archive holds a layout naming the index.
func checkArchive(t *testing.T, archive []byte, idx v1.ImageIndex) {
	t.Helper()
	d, _ := idx.Digest()
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
	for _, want := range []string{"oci-layout", "index.json", "blobs/sha256/" + d.Hex} {
		if !names[want] {
			t.Errorf("OCI archive has no %s (has %v)", want, slices.Sorted(maps.Keys(names)))
		}
	}
}
