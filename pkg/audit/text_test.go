package audit

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWriteTextColour(t *testing.T) {
	denied := typed(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}, {Name: "b", Image: "ghcr.io/x/y"}}},
	}, "v1", "Pod")
	report := Judge(testPolicy(t), []Resource{denied}, "")

	var plain, coloured bytes.Buffer
	if err := report.WriteText(&plain, false); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteText(&coloured, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain output has escapes:\n%q", plain.String())
	}
	for _, want := range []string{
		colourBold + "Pod apps/web" + colourReset,
		colourBold + colourRed + "DENIED" + colourReset,
		colourRed + "deny  " + colourReset,
		colourCyan + "change" + colourReset,
	} {
		if !strings.Contains(coloured.String(), want) {
			t.Errorf("coloured output lacks %q:\n%q", want, coloured.String())
		}
	}
	stripped := strings.NewReplacer(colourReset, "", colourBold, "", colourRed, "", colourGreen, "", colourYellow, "", colourCyan, "").Replace(coloured.String())
	if stripped != plain.String() {
		t.Errorf("colour changes the text:\n%s\nwant:\n%s", stripped, plain.String())
	}
}

func TestUseColourOnlyOnATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]io.Writer{"a buffer": &bytes.Buffer{}, "a file": f} {
		if useColour(w) {
			t.Errorf("colour on %s", name)
		}
	}
}
