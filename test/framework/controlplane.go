package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// CertManagerVersion is the cert-manager release whose CRDs are installed before the
// chart: its Issuers and Certificates must be accepted by a real API server.
const CertManagerVersion = "v1.21.2"

// ControlPlane is a running kube-apiserver and etcd.
type ControlPlane struct {
	env *envtest.Environment
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
}

// StartControlPlane starts kube-apiserver and etcd from binDir (bin/kube-apiserver and
// bin/etcd, built by `make e2e-bins`) on 127.0.0.1 and installs cert-manager's CRDs.
func StartControlPlane(binDir, workDir string) (*ControlPlane, error) {
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			return nil, fmt.Errorf("control plane binary missing: %w (run `make e2e-bins`)", err)
		}
	}
	crds, err := CertManagerCRDs()
	if err != nil {
		return nil, err
	}
	// envtest logs through controller-runtime's logger; the harness reports errors itself.
	ctrllog.SetLogger(logr.Discard())
	env := &envtest.Environment{
		BinaryAssetsDirectory: binDir,
		CRDInstallOptions:     envtest.CRDInstallOptions{Paths: []string{crds}, ErrorIfPathMissing: true},
	}
	env.ControlPlane.GetAPIServer().SecureServing.ListenAddr.Address = "127.0.0.1"
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd: %w", err)
	}
	cp := &ControlPlane{env: env, Config: cfg}
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		cp.Stop()
		return nil, fmt.Errorf("add admin user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		cp.Stop()
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	cp.Kubeconfig = filepath.Join(workDir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, kubeconfig, 0o600); err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

// Stop stops the API server and etcd and removes their data.
func (cp *ControlPlane) Stop() error {
	return cp.env.Stop()
}

// CertManagerCRDs is the directory of cert-manager's CRDs in its Go module, taken from
// $CERT_MANAGER_CRDS or downloaded through the module proxy into the module cache.
func CertManagerCRDs() (string, error) {
	if dir := os.Getenv("CERT_MANAGER_CRDS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/cert-manager/cert-manager@"+CertManagerVersion)
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("download cert-manager %s for its CRDs: %w", CertManagerVersion, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("download cert-manager %s for its CRDs: %s", CertManagerVersion, mod.Error)
	}
	return filepath.Join(mod.Dir, "deploy", "crds"), nil
}
