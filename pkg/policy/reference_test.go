package policy

import (
	"fmt"
	"strings"
	"testing"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseImage(t *testing.T) {
	tests := []struct {
		name, raw string
		want      string // normalized
		wantErr   string
	}{
		{"an official image gains docker.io/library", "nginx", "docker.io/library/nginx", ""},
		{"a tag is kept and none is added", "nginx:1.27", "docker.io/library/nginx:1.27", ""},
		{"a digest is kept", "nginx@" + testDigest, "docker.io/library/nginx@" + testDigest, ""},
		{"tag and digest are both kept", "nginx:1.27@" + testDigest, "docker.io/library/nginx:1.27@" + testDigest, ""},
		{"index.docker.io is Docker Hub", "index.docker.io/library/nginx:1", "docker.io/library/nginx:1", ""},
		{"registry-1.docker.io is Docker Hub, with library/", "registry-1.docker.io/nginx:1", "docker.io/library/nginx:1", ""},
		{"a user repository on Docker Hub", "bitnami/redis:7", "docker.io/bitnami/redis:7", ""},
		{"an upper-case host is folded", "111122223333.DKR.ECR.US-WEST-2.AMAZONAWS.COM/app:1", "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1", ""},
		{"a port stays part of the host", "localhost:5000/app:dev", "localhost:5000/app:dev", ""},
		{"an upper-case repository does not parse", "Nginx:1", "", "must be lowercase"},
		{"an empty image does not parse", "", "", "invalid reference format"},
		{"a bad digest does not parse", "nginx@sha256:abc", "", "invalid reference format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := parseImage(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseImage(%q) error = %v, want one containing %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseImage(%q): %v", tt.raw, err)
			}
			if got := img.String(); got != tt.want {
				t.Errorf("parseImage(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseECRHost(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
		want ecrHost
	}{
		{"111122223333.dkr.ecr.us-west-2.amazonaws.com", true, ecrHost{Account: "111122223333", Region: "us-west-2"}},
		{"111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com", true, ecrHost{Account: "111122223333", Region: "us-gov-west-1", FIPS: true}},
		{"918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn", true, ecrHost{Account: "918309763551", Region: "cn-north-1"}},
		{"111122223333.dkr-ecr.eu-west-1.on.aws", true, ecrHost{Account: "111122223333", Region: "eu-west-1", DualStack: true}},
		{"111122223333.dkr-ecr-fips.us-east-1.on.aws", true, ecrHost{Account: "111122223333", Region: "us-east-1", DualStack: true, FIPS: true}},
		{"public.ecr.aws", false, ecrHost{}},
		{"11112222333.dkr.ecr.us-west-2.amazonaws.com", false, ecrHost{}},           // eleven digits
		{"111122223333.dkr.ecr.us-west-2.amazonaws.com.evil.com", false, ecrHost{}}, // only contains the suffix
		{"111122223333.dkr.ecr.uswest2.amazonaws.com", false, ecrHost{}},
		{"111122223333.dkr.ecr.us-west-2.amazonaws.com:443", false, ecrHost{}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := parseECRHost(tt.host)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseECRHost(%q) = %+v, %v; want %+v, %v", tt.host, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRegistryPrefixContains(t *testing.T) {
	tests := []struct {
		name, prefix, image string
		want                bool
	}{
		{"a host covers its images", "111122223333.dkr.ecr.us-west-2.amazonaws.com", "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1", true},
		{"host comparison ignores case", "111122223333.dkr.ecr.US-WEST-2.amazonaws.com", "111122223333.DKR.ecr.us-west-2.amazonaws.com/app", true},
		{"a host with the allowed host as a prefix is another host", "111122223333.dkr.ecr.us-west-2.amazonaws.com", "111122223333.dkr.ecr.us-west-2.amazonaws.com.evil.com/x", false},
		{"the allowed host in the path is not the host", "111122223333.dkr.ecr.us-west-2.amazonaws.com", "evil.com/111122223333.dkr.ecr.us-west-2.amazonaws.com/x", false},
		{"a path prefix covers the path below it", "docker.io/bitnami", "bitnami/redis:7", true},
		{"a path prefix matches on / boundaries only", "docker.io/bitnami", "docker.io/bitnamilegacy/redis:7", false},
		{"a path prefix covers the exact repository", "docker.io/library/nginx", "nginx:1", true},
		{"docker.io covers index.docker.io", "docker.io", "index.docker.io/library/nginx", true},
		{"registry-1.docker.io covers docker.io images", "registry-1.docker.io", "nginx", true},
		{"a port is part of the host", "localhost:5000", "localhost:5000/app", true},
		{"another port is another host", "localhost:5000", "localhost:5001/app", false},
		{"no port is another host", "localhost:5000", "localhost/app", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseRegistryPrefix(tt.prefix)
			if err != nil {
				t.Fatalf("parseRegistryPrefix(%q): %v", tt.prefix, err)
			}
			img, err := parseImage(tt.image)
			if err != nil {
				t.Fatalf("parseImage(%q): %v", tt.image, err)
			}
			if got := p.contains(img.host, img.path); got != tt.want {
				t.Errorf("%q contains %q = %v, want %v", tt.prefix, tt.image, got, tt.want)
			}
		})
	}
}

func TestParseRegistryPrefixErrors(t *testing.T) {
	tests := map[string]string{
		"":                      "must not be empty",
		"nginx":                 "is not a registry host",
		"docker.io/":            "must not end with /",
		"docker.io/Library":     "lower-case path components",
		"docker.io/nginx:1":     "must not carry a tag or digest",
		"exa mple.com":          "is not a registry host",
		"https://docker.io/lib": "is not a registry host",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			_, err := parseRegistryPrefix(in)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("parseRegistryPrefix(%q) error = %v, want one containing %q", in, err, want)
			}
		})
	}
}

func TestImageCache(t *testing.T) {
	p := testPolicy(t, nil)
	c := p.images
	for i := 0; i < imageCacheSize+10; i++ {
		raw := fmt.Sprintf("registry.example.com/app-%d:1", i)
		if f := c.class(raw); f.err != nil || f.img.String() != raw || f.rewritten != "" {
			t.Fatalf("class(%q) = %+v", raw, f)
		}
	}
	if n := len(c.entries); n > imageCacheSize {
		t.Errorf("cache holds %d entries, bound is %d", n, imageCacheSize)
	}
	for range 2 { // the second answer comes from the cache and must be the same
		if f := c.class("Nginx"); f.err == nil || !strings.Contains(f.err.Error(), "must be lowercase") {
			t.Errorf("class(Nginx) error = %v", f.err)
		}
		if f := c.class("nginx:1.27"); f.rewritten != testECR+"/docker-hub/library/nginx:1.27" {
			t.Errorf("class(nginx:1.27) rewritten = %q", f.rewritten)
		}
	}
}
