package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// CertificateGVR is cert-manager's Certificate resource. The framework reads cert-manager
// objects as unstructured data: cert-manager's Go types pin other Kubernetes versions than
// this module, which is why bin/cert-manager is built in its own tools module.
var CertificateGVR = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}

// IssuerGVR is cert-manager's Issuer resource.
var IssuerGVR = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "issuers"}

// CertificateRequestGVR is cert-manager's CertificateRequest resource.
var CertificateRequestGVR = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificaterequests"}

// CertManager is a running bin/cert-manager: cert-manager's certificate controllers, its
// CA and self-signed issuers and its CA injector, against one API server.
type CertManager struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuffer
}

// StartCertManager starts binary (bin/cert-manager, built by `make e2e-bins`) against
// kubeconfig. It returns at once: the controllers wait for their caches themselves, and
// WaitForCertificates tells when they issued.
//
// Certificates own their Secrets (cert-manager's --enable-certificate-owner-ref): without
// it `helm uninstall` leaves the issued Secrets behind, since they are cert-manager's, not
// the release's. There is no garbage collector in this control plane (no
// kube-controller-manager), so the suite checks that what remains after an uninstall is
// owned by a deleted Certificate, which is what the collector deletes.
func StartCertManager(binary, kubeconfig string, log io.Writer) (*CertManager, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("cert-manager binary missing: %w (run `make e2e-bins`)", err)
	}
	cm := &CertManager{log: &syncBuffer{}, done: make(chan struct{})}
	cm.cmd = exec.Command(binary, "--kubeconfig", kubeconfig, "--enable-certificate-owner-ref")
	out := io.Writer(cm.log)
	if log != nil {
		out = io.MultiWriter(cm.log, log)
	}
	cm.cmd.Stdout, cm.cmd.Stderr = out, out
	if err := cm.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	go func() { cm.cmd.Wait(); close(cm.done) }()
	return cm, nil
}

// Exited reports whether the process has ended (and so nothing will be issued).
func (cm *CertManager) Exited() bool {
	select {
	case <-cm.done:
		return true
	default:
		return false
	}
}

// Logs is everything cert-manager printed so far.
func (cm *CertManager) Logs() string { return cm.log.String() }

// Stop sends SIGTERM and waits up to 10 seconds, then kills.
func (cm *CertManager) Stop() {
	if cm.Exited() {
		return
	}
	_ = cm.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-cm.done:
	case <-time.After(10 * time.Second):
		_ = cm.cmd.Process.Kill()
		<-cm.done
	}
}

// CertificateStatus is what a Certificate's Ready condition says.
type CertificateStatus struct {
	Name                  string
	Ready                 bool
	Reason, Message       string
	Revision              int64
	SecretName, IssuerRef string
}

func (s CertificateStatus) String() string {
	if s.Reason == "" && s.Message == "" {
		return fmt.Sprintf("Certificate %s (issuer %s): no Ready condition yet", s.Name, s.IssuerRef)
	}
	return fmt.Sprintf("Certificate %s (issuer %s): Ready=%t, reason %s: %s", s.Name, s.IssuerRef, s.Ready, s.Reason, s.Message)
}

// certificateStatus reads the Ready condition of a Certificate object.
func certificateStatus(obj *unstructured.Unstructured) CertificateStatus {
	st := CertificateStatus{Name: obj.GetNamespace() + "/" + obj.GetName()}
	st.SecretName, _, _ = unstructured.NestedString(obj.Object, "spec", "secretName")
	kind, _, _ := unstructured.NestedString(obj.Object, "spec", "issuerRef", "kind")
	name, _, _ := unstructured.NestedString(obj.Object, "spec", "issuerRef", "name")
	if kind == "" {
		kind = "Issuer"
	}
	st.IssuerRef = kind + "/" + name
	st.Revision, _, _ = unstructured.NestedInt64(obj.Object, "status", "revision")
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		st.Ready = m["status"] == "True"
		st.Reason, _ = m["reason"].(string)
		st.Message, _ = m["message"].(string)
	}
	return st
}

// WaitForCertificates waits until every Certificate in namespace is Ready (and there is
// at least one), for at most timeout. If one is not, the error names each Certificate
// that is not Ready with its Ready condition's reason and message: the wait is bounded,
// and a Certificate that can never be issued says why.
func WaitForCertificates(ctx context.Context, dc dynamic.Interface, namespace string, timeout time.Duration) ([]CertificateStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []CertificateStatus
	var lastErr error
	for {
		list, err := dc.Resource(CertificateGVR).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if err == nil {
			last, lastErr = nil, nil
			ready := len(list.Items) > 0
			for i := range list.Items {
				st := certificateStatus(&list.Items[i])
				last = append(last, st)
				ready = ready && st.Ready
			}
			if ready {
				return last, nil
			}
		} else if ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return last, notReadyError(namespace, timeout, last, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func notReadyError(namespace string, timeout time.Duration, last []CertificateStatus, lastErr error) error {
	if lastErr != nil {
		return fmt.Errorf("certificates in namespace %s not Ready after %s: %w", namespace, timeout, lastErr)
	}
	if len(last) == 0 {
		return fmt.Errorf("no Certificate in namespace %s after %s", namespace, timeout)
	}
	var lines []string
	for _, st := range last {
		if !st.Ready {
			lines = append(lines, st.String())
		}
	}
	sort.Strings(lines)
	return fmt.Errorf("certificates in namespace %s not Ready after %s:\n  %s", namespace, timeout, strings.Join(lines, "\n  "))
}

// WaitForCABundle waits (at most timeout) until every webhook of the validating and the
// mutating webhook configuration called name carries caBundle, as cert-manager's CA
// injector writes it from the inject-ca-from Certificate.
func WaitForCABundle(ctx context.Context, cs kubernetes.Interface, name string, caBundle []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var problem string
	for {
		problem = caBundleProblem(ctx, cs, name, caBundle)
		if problem == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the CA injector did not fill the webhook configurations' caBundle within %s: %s", timeout, problem)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// caBundleProblem is "" when every webhook of both configurations carries caBundle, or
// what is wrong.
func caBundleProblem(ctx context.Context, cs kubernetes.Interface, name string, caBundle []byte) string {
	v, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	m, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	type webhook struct {
		config, name string
		cc           admissionregistrationv1.WebhookClientConfig
	}
	var all []webhook
	for _, w := range v.Webhooks {
		all = append(all, webhook{"ValidatingWebhookConfiguration", w.Name, w.ClientConfig})
	}
	for _, w := range m.Webhooks {
		all = append(all, webhook{"MutatingWebhookConfiguration", w.Name, w.ClientConfig})
	}
	for _, w := range all {
		if !bytes.Equal(bytes.TrimSpace(w.cc.CABundle), bytes.TrimSpace(caBundle)) {
			return fmt.Sprintf("%s %s, webhook %s: caBundle of %d bytes, not the issued CA (%d bytes)", w.config, name, w.name, len(w.cc.CABundle), len(caBundle))
		}
	}
	return ""
}

// RenewCertificate asks cert-manager to reissue a Certificate now, as `cmctl renew` does:
// it sets the Certificate's Issuing condition, which cert-manager's trigger would set when
// the renewal time comes.
func RenewCertificate(ctx context.Context, dc dynamic.Interface, namespace, name string) error {
	res := dc.Resource(CertificateGVR).Namespace(namespace)
	crt, err := res.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(crt.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Issuing" && m["status"] == "True" {
			return fmt.Errorf("certificate %s/%s is already being issued", namespace, name)
		}
	}
	conds = append(conds, map[string]any{
		"type":               "Issuing",
		"status":             "True",
		"reason":             "ManuallyTriggered",
		"message":            "Certificate re-issuance manually triggered",
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		"observedGeneration": crt.GetGeneration(),
	})
	if err := unstructured.SetNestedSlice(crt.Object, conds, "status", "conditions"); err != nil {
		return err
	}
	_, err = res.UpdateStatus(ctx, crt, metav1.UpdateOptions{})
	return err
}
