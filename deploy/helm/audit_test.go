package helm_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// TestAuditOfTheChartsOwnManifests pipes the rendered chart into `privateguard audit -f -`
// with the policy the chart renders, as `helm template ... | privateguard audit` does. By
// default the chart's own image is on a public registry: the audit says it would be
// denied, which is why the README asks to copy it into ECR first. Pointed at ECR, the
// chart passes its own policy.
func TestAuditOfTheChartsOwnManifests(t *testing.T) {
	const allowECR = "  registries: {allowed: [111122223333.dkr.ecr.us-west-2.amazonaws.com]}\n"
	tests := []struct {
		name     string
		values   string
		wantCode int
	}{
		{"default", withRegion(allowECR), 1},
		{"image-in-ecr", withRegion(allowECR) + "image: {repository: 111122223333.dkr.ecr.us-west-2.amazonaws.com/privateguard}\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRender(t, defaultRelease, tt.values)
			var cm corev1.ConfigMap
			r.decode(t, "ConfigMap", "privateguard-policy", &cm)
			policyPath := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(policyPath, []byte(cm.Data["policy.yaml"]), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, format := range []string{"text", "json"} {
				var stdout, stderr bytes.Buffer
				cmd := exec.Command(privateguard(t), "audit", "--config", policyPath, "-f", "-", "-o", format)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(r.manifest), &stdout, &stderr
				code := 0
				if err := cmd.Run(); err != nil {
					var exit *exec.ExitError
					if !errors.As(err, &exit) {
						t.Fatal(err)
					}
					code = exit.ExitCode()
				}
				if code != tt.wantCode {
					t.Errorf("%s: exit code %d, want %d; stderr:\n%s", format, code, tt.wantCode, stderr.String())
				}
				golden := filepath.Join("testdata", "audit-"+tt.name+"."+map[string]string{"text": "txt", "json": "json"}[format])
				compareGolden(t, golden, stdout.Bytes())
			}
		})
	}
}

// binDir holds the binaries the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildPrivateguard builds the privateguard binary once, for the tests that run it as a
// user does.
var buildPrivateguard = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "privateguard-helm-test")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "privateguard")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/webhook").CombinedOutput(); err != nil {
		return "", errors.New("go build ./cmd/webhook: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

func privateguard(t *testing.T) string {
	t.Helper()
	bin, err := buildPrivateguard()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
