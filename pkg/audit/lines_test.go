package audit

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestManifestReaderLines(t *testing.T) {
	const (
		podA = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
		podB = "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n"
	)
	for _, tc := range []struct {
		name, input string
		want        []string // name:line
	}{
		{"one document starts at line 1", podA, []string{"a:1"}},
		{"a leading separator and comments are skipped to the object", "---\n# web\n\n" + podA, []string{"a:4"}},
		{"documents after separators", podA + "---\n" + podB, []string{"a:1", "b:5"}},
		{"empty documents and repeated separators count their lines", podA + "---\n---\n# nothing\n---\n\n" + podB, []string{"a:1", "b:9"}},
		{"a separator with a comment", podA + "--- # next\n" + podB, []string{"a:1", "b:5"}},
		{"CRLF line ends", strings.ReplaceAll(podA+"---\n"+podB, "\n", "\r\n"), []string{"a:1", "b:5"}},
		{"no newline at the end", podA + "---\n" + strings.TrimSuffix(podB, "\n"), []string{"a:1", "b:5"}},
		{"a JSON stream in one document", "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}}\n\n{\"apiVersion\": \"v1\",\n \"kind\": \"Pod\", \"metadata\": {\"name\": \"b\"}}\n",
			[]string{"a:1", "b:3"}},
		{"JSON documents between separators", podA + "---\n{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"b\"}}\n", []string{"a:1", "b:5"}},
		{"the items of a List share its line", "# pods\napiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(podA, "\n", "\n  ") + "\n- " + strings.ReplaceAll(podB, "\n", "\n  ") + "\n",
			[]string{"a:2", "b:2"}},
		{"a long line does not shift the count", "# " + strings.Repeat("x", 70000) + "\n" + podA + "---\n" + podB, []string{"a:2", "b:6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resources, err := (&ManifestReader{Stdin: strings.NewReader(tc.input)}).Read([]string{"-"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range resources {
				got = append(got, fmt.Sprintf("%s:%d", r.Object.(metav1.Object).GetName(), r.Line))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("lines %v, want %v", got, tc.want)
			}
		})
	}
}
