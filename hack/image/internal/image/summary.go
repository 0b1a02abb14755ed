package image

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WriteSummary prints the index digest and, per platform, the image digest and the
// compressed size a node pulls (manifest, config and layers): what to compare a rebuild
// or a push with.
func WriteSummary(w io.Writer, idx v1.ImageIndex) error {
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "index        %s\n", d)
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		size, err := pullSize(img)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-12s %s  %.1f MB\n", desc.Platform, desc.Digest, float64(size)/1e6)
	}
	return nil
}

// pullSize is the bytes a node downloads for img.
func pullSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	size := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}
