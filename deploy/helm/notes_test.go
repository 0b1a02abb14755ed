package helm_test

import (
	"strings"
	"testing"
)

func TestNotesTellHowToCheckAndHowToBreakGlass(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))
	m, v := webhookConfigurations(t, r)
	for _, want := range []string{
		"kubectl -n privateguard rollout status deployment/privateguard",
		"--dry-run=server",
		"denied the request",
		"[image-registry]",
		"privateguard audit --config policy.yaml --cluster",
		"kubectl delete validatingwebhookconfiguration " + v.Name,
		"kubectl delete mutatingwebhookconfiguration " + m.Name,
		"policy.registries.allowed",
	} {
		if !strings.Contains(r.notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, r.notes)
		}
	}
}
