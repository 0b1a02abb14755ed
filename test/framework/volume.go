package framework

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/privateguard/privateguard/internal/testcerts"
)

// SecretVolume keeps a directory in step with a Secret, as the kubelet keeps a pod's
// Secret volume: the webhook, which runs here as a local process, reads its serving
// certificate from it, so a certificate cert-manager renews reaches the running server.
type SecretVolume struct {
	// Dir is the mounted directory.
	Dir string

	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	data    map[string][]byte
	syncs   int
	lastErr error
}

// secretSyncPeriod is how often a SecretVolume reads its Secret. The kubelet's is about a
// minute; the suite does not need to wait that long to see a renewal.
const secretSyncPeriod = 200 * time.Millisecond

// MountSecret writes the Secret namespace/name into dir once (it must exist) and then
// keeps dir in step with it until Stop.
func MountSecret(ctx context.Context, cs kubernetes.Interface, namespace, name, dir string) (*SecretVolume, error) {
	v := &SecretVolume{Dir: dir, done: make(chan struct{})}
	if err := v.sync(ctx, cs, namespace, name); err != nil {
		return nil, err
	}
	ctx, v.cancel = context.WithCancel(context.Background())
	go func() {
		defer close(v.done)
		t := time.NewTicker(secretSyncPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				err := v.sync(ctx, cs, namespace, name)
				v.mu.Lock()
				v.lastErr = err
				v.mu.Unlock()
			}
		}
	}()
	return v, nil
}

// sync copies the Secret into the directory if it changed. A Secret that is gone (being
// reissued) leaves the last files in place, as the kubelet does.
func (v *SecretVolume) sync(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := cs.CoreV1().Secrets(namespace).Get(rctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && v.data != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read secret %s/%s: %w", namespace, name, err)
	}
	if len(s.Data["tls.crt"]) == 0 || len(s.Data["tls.key"]) == 0 {
		if v.data != nil {
			return nil
		}
		return fmt.Errorf("secret %s/%s has no tls.crt and tls.key yet", namespace, name)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if sameData(v.data, s.Data) {
		return nil
	}
	if err := testcerts.WriteVolume(v.Dir, s.Data); err != nil {
		return err
	}
	v.data = s.Data
	v.syncs++
	return nil
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// Data is the Secret's data as last written into the directory.
func (v *SecretVolume) Data() map[string][]byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.data
}

// Err is the error of the last sync, if it failed.
func (v *SecretVolume) Err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastErr
}

// Stop ends the syncing; the files stay.
func (v *SecretVolume) Stop() {
	if v.cancel != nil {
		v.cancel()
		<-v.done
	}
}
