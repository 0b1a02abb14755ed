package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"slices"
	"testing"
	"time"
)

func TestLayerTarIsTheSameWhateverTheOrderOfItsFiles(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	files := []file{
		{Path: "/privateguard", Mode: execMode, Data: []byte("binary")},
		{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: dataMode, Data: []byte("pem")},
		{Path: "/etc/passwd", Mode: dataMode, Data: []byte("passwd")},
	}
	a, err := layerTar(files, mtime)
	if err != nil {
		t.Fatal(err)
	}
	reversed := slices.Clone(files)
	slices.Reverse(reversed)
	b, err := layerTar(reversed, mtime)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same files in another order give another tar")
	}

	var names []string
	tr := tar.NewReader(bytes.NewReader(a))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag == tar.TypeDir && h.Mode != int64(dirMode) {
			t.Errorf("directory %s has mode %o, want %o", h.Name, h.Mode, dirMode)
		}
	}
	want := []string{"etc/", "etc/passwd", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt", "privateguard"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want the files and their directories, sorted: %q", names, want)
	}
}

func TestLayerTarRefusesWhatItCannotWriteFaithfully(t *testing.T) {
	for name, files := range map[string][]file{
		"a relative path":      {{Path: "etc/passwd", Mode: dataMode}},
		"an unclean path":      {{Path: "/etc/../passwd", Mode: dataMode}},
		"the root":             {{Path: "/", Mode: dirMode}},
		"a set-uid file":       {{Path: "/privateguard", Mode: execMode | fs.ModeSetuid}},
		"a file given twice":   {{Path: "/a", Mode: dataMode}, {Path: "/a", Mode: dataMode}},
		"a file under a file":  {{Path: "/a", Mode: dataMode}, {Path: "/a/b", Mode: dataMode}},
		"a file that is a dir": {{Path: "/a/b", Mode: dataMode}, {Path: "/a", Mode: dataMode}},
	} {
		t.Run(name+" is an error", func(t *testing.T) {
			if _, err := layerTar(files, time.Unix(0, 0)); err == nil {
				t.Error("no error")
			}
		})
	}
}
