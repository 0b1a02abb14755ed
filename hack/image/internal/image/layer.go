package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// file is a regular file of a layer. Every file and directory of a layer is owned by
// root (0:0).
type file struct {
	// Path is absolute and clean: "/etc/passwd".
	Path string
	Mode fs.FileMode
	Data []byte
}

// Modes of what the layers hold: nothing is writable by anyone but root, and nothing is
// set-uid or set-gid.
const (
	dirMode  fs.FileMode = 0o755
	dataMode fs.FileMode = 0o644
	execMode fs.FileMode = 0o755
)

// layerTar writes files as a tar stream the same way every time: the parent directories
// are added, the entries are sorted by name, and every entry has the same time, owner
// root and no user or group names.
func layerTar(files []file, mtime time.Time) ([]byte, error) {
	entries := map[string]*tar.Header{}
	data := map[string][]byte{}
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, fmt.Errorf("layer file %q: want a clean absolute path", f.Path)
		}
		if f.Mode&^fs.ModePerm != 0 {
			return nil, fmt.Errorf("layer file %s: mode %v is not a plain permission", f.Path, f.Mode)
		}
		name := strings.TrimPrefix(f.Path, "/")
		if _, dup := entries[name]; dup {
			return nil, fmt.Errorf("layer file %s: given twice", f.Path)
		}
		if _, isDir := entries[name+"/"]; isDir {
			return nil, fmt.Errorf("layer file %s: also the directory of another file", f.Path)
		}
		entries[name] = &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(f.Mode), Size: int64(len(f.Data))}
		data[name] = f.Data
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, isFile := entries[dir]; isFile {
				return nil, fmt.Errorf("layer file %s: /%s is also a file", f.Path, dir)
			}
			entries[dir+"/"] = &tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: int64(dirMode)}
		}
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		h := entries[name]
		h.ModTime = mtime.UTC().Truncate(time.Second)
		h.Format = tar.FormatUSTAR
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer file /%s: %w", name, err)
		}
		if _, err := tw.Write(data[name]); err != nil {
			return nil, fmt.Errorf("layer file /%s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// newLayer is a gzip-compressed OCI layer of files. gzip output depends only on the
// input and the level; compress/gzip writes no name and a zero time.
func newLayer(files []file, mtime time.Time) (v1.Layer, error) {
	b, err := layerTar(files, mtime)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(gzip.DefaultCompression),
		tarball.WithCompressedCaching,
	)
}
