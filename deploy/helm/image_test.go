package helm_test

import (
	"testing"

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
