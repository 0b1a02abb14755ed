package image_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/privateguard/privateguard/hack/image/internal/image"
)

func TestBuildWantsTheStampsOfTheSources(t *testing.T) {
	complete := image.Options{ModuleDir: ".", Version: "0.1.0", Revision: "0123456789abcdef", Created: time.Unix(1, 0)}
	for name, clear := range map[string]func(*image.Options){
		"without the module":   func(o *image.Options) { o.ModuleDir = "" },
		"without a version":    func(o *image.Options) { o.Version = "" },
		"without a revision":   func(o *image.Options) { o.Revision = "" },
		"without a time stamp": func(o *image.Options) { o.Created = time.Time{} },
	} {
		t.Run(name+" nothing is built", func(t *testing.T) {
			opts := complete
			clear(&opts)
			if _, err := image.Build(context.Background(), opts); !errors.Is(err, image.ErrMissingOption) {
				t.Errorf("Build = %v, want %v", err, image.ErrMissingOption)
			}
		})
	}
}

func TestBinaryVersionNamesTheCommit(t *testing.T) {
	const rev = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"
	for _, tc := range []struct{ version, want string }{
		{"0.1.0", "0.1.0+1a2b3c4d5e6f"},
		{"v0.1.0-3-g1a2b3c4", "v0.1.0-3-g1a2b3c4"},
		{"v0.1.0-3-g1a2b3c4-dirty", "v0.1.0-3-g1a2b3c4-dirty"},
		{"1a2b3c4", "1a2b3c4"},
		{"dev", "dev+1a2b3c4d5e6f"},
	} {
		t.Run(tc.version+" is stamped as "+tc.want, func(t *testing.T) {
			if got := image.BinaryVersion(tc.version, rev); got != tc.want {
				t.Errorf("BinaryVersion(%q) = %q, want %q", tc.version, got, tc.want)
			}
		})
	}
}

func TestLabelsOmitWhatIsNotKnown(t *testing.T) {
	opts := image.Options{Version: "0.1.0", Revision: "abc", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))}
	want := map[string]string{
		image.LabelTitle:    "privateguard",
		image.LabelVersion:  "0.1.0",
		image.LabelRevision: "abc",
		image.LabelCreated:  "2026-01-02T02:04:05Z",
	}
	if got := image.Labels(opts); !maps.Equal(got, want) {
		t.Errorf("without source and licenses: %v, want %v", got, want)
	}
	opts.Source, opts.Licenses = "https://example.com/src", "Apache-2.0"
	want[image.LabelSource], want[image.LabelLicenses] = opts.Source, opts.Licenses
	if got := image.Labels(opts); !maps.Equal(got, want) {
		t.Errorf("with source and licenses: %v, want %v", got, want)
	}
}
