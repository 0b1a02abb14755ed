package helm_test

import (
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/privateguard/privateguard/internal/imageconfig"
)

// The image declares its user numerically (imageconfig.UserSpec) and the chart sets the
// same ids, so runAsNonRoot is checked against the real user and files the image gives
// that user stay readable.
func TestPodRunsAsTheImagesUser(t *testing.T) {
	d := deployment(t, mustRender(t, defaultRelease, withRegion("")))
	sc := d.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || sc.RunAsGroup == nil {
		t.Fatalf("pod securityContext %+v sets no runAsUser and runAsGroup", sc)
	}
	if *sc.RunAsUser != imageconfig.User {
		t.Errorf("pod runAsUser %d, want the image's user %d", *sc.RunAsUser, imageconfig.User)
	}
	if *sc.RunAsGroup != imageconfig.Group {
		t.Errorf("pod runAsGroup %d, want the image's group %d", *sc.RunAsGroup, imageconfig.Group)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Command) != 0 || len(c.Args) == 0 || c.Args[0] != imageconfig.Command {
		t.Errorf("container command %q args %q, want the image's entrypoint %q with the %q subcommand first",
			c.Command, c.Args, imageconfig.Entrypoint(), imageconfig.Command)
	}
}

// readme is the README whose Install step 1 tells users what to push, relative to this
// package.
const readme = "../../README.md"

// Install step 1 pushes the image under the chart's default repository name and the
// chart's appVersion, so that step 3 only has to set image.repository to the ECR host.
func TestReadmePushesWhatTheChartPullsByDefault(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := ch.Values["image"].(map[string]any)
	repository, _ := img["repository"].(string)
	if repository == "" {
		t.Fatalf("values.yaml image.repository is empty (image: %v)", img)
	}
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "### 1. ")
	if start < 0 {
		t.Fatalf("%s has no Install step 1", readme)
	}
	step1, _, _ := strings.Cut(text[start:], "### 2. ")

	version := regexp.MustCompile(`\bVERSION=(\S+)`).FindStringSubmatch(step1)
	if version == nil || version[1] != ch.Metadata.AppVersion {
		t.Errorf("README step 1 sets VERSION %v, want the chart's appVersion %s (image.tag's default)", version, ch.Metadata.AppVersion)
	}
	name := path.Base(repository)
	for _, want := range []string{
		"crane copy " + repository + ":$VERSION $ECR/" + name + ":$VERSION",
		"make push IMAGE=$ECR/" + name + ":$VERSION",
		"--repository-name " + name,
	} {
		if !strings.Contains(step1, want) {
			t.Errorf("README step 1 lacks %q", want)
		}
	}
	if want := "--set image.repository=$ECR/" + name; !strings.Contains(text, want) {
		t.Errorf("README install step lacks %q", want)
	}
}
