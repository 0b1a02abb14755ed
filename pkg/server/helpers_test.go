package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/privateguard/privateguard/internal/testcerts"
	"github.com/privateguard/privateguard/internal/testfiles"
)

func TestMain(m *testing.M) {
	logf.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// newTestCA makes a certificate authority for one test.
func newTestCA(t *testing.T) *testcerts.CA {
	t.Helper()
	ca, err := testcerts.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// writeServingCert writes a serving certificate for 127.0.0.1 with the given serial into
// dir as tls.crt and tls.key, each replaced atomically as a plain file update would.
func writeServingCert(t *testing.T, ca *testcerts.CA, dir string, serial int64) {
	t.Helper()
	crt, key, err := ca.ServingCert(serial)
	if err != nil {
		t.Fatal(err)
	}
	// The key first: the watcher reloads on the certificate's change and needs both.
	testfiles.Replace(t, filepath.Join(dir, KeyName), key)
	testfiles.Replace(t, filepath.Join(dir, CertName), crt)
}

// freePort finds a port of 127.0.0.1 no one listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// running is a server started by startServer.
type running struct {
	ca          *testcerts.CA
	certDir     string
	webhookURL  string // https://127.0.0.1:<port>
	metricsURL  string
	healthURL   string
	client      *http.Client
	cancel      context.CancelFunc
	done        chan error
	webhookAddr string
}

// testOptions are options for a server on 127.0.0.1 with free ports and no cluster.
func testOptions(t *testing.T, policyFile string) (Options, *testcerts.CA) {
	t.Helper()
	ca := newTestCA(t)
	dir := t.TempDir()
	writeServingCert(t, ca, dir, 1)
	o := DefaultOptions()
	o.ConfigFile = policyFile
	o.CertDir = dir
	o.Host = "127.0.0.1"
	o.Port = freePort(t)
	o.MetricsBindAddress = "127.0.0.1:" + strconv.Itoa(freePort(t))
	o.HealthProbeBindAddress = "127.0.0.1:" + strconv.Itoa(freePort(t))
	o.ServiceAccounts = false
	o.ConfigPollInterval = 20 * time.Millisecond
	o.CertPollInterval = 100 * time.Millisecond
	o.ShutdownDelay = 0 // tests of draining set their own
	return o, ca
}

// startServer runs Run until the test ends (bounded: it stops itself at cleanup) and
// waits until /readyz answers 200.
func startServer(t *testing.T, o Options, ca *testcerts.CA) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{
		ca: ca, certDir: o.CertDir, cancel: cancel, done: make(chan error, 1),
		webhookAddr: net.JoinHostPort(o.Host, strconv.Itoa(o.Port)),
		webhookURL:  "https://" + net.JoinHostPort(o.Host, strconv.Itoa(o.Port)),
		metricsURL:  "http://" + o.MetricsBindAddress,
		healthURL:   "http://" + o.HealthProbeBindAddress,
		client: &http.Client{
			Timeout:   20 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}, ForceAttemptHTTP2: true},
		},
	}
	go func() { r.done <- Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(90 * time.Second):
			t.Error("Run did not return within 90s of cancellation")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.healthURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case err := <-r.done:
			t.Fatalf("Run stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends body to the webhook at path and decodes the AdmissionReview answered.
func (r *running) post(t *testing.T, path, contentType string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := r.client.Post(r.webhookURL+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d %s", path, resp.StatusCode, data)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &review); err != nil || review.Response == nil {
		t.Fatalf("POST %s answered %s: not an AdmissionReview with a response (%v)", path, data, err)
	}
	return review.Response
}

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// podReview is an AdmissionReview of a pod CREATE in namespace with the given images.
func podReview(t *testing.T, namespace string, images ...string) []byte {
	t.Helper()
	var containers []map[string]any
	for i, img := range images {
		containers = append(containers, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img})
	}
	review := map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid":       fmt.Sprintf("uid-%d", time.Now().UnixNano()),
			"kind":      map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"namespace": namespace, "name": "p", "operation": "CREATE",
			"object": map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "p", "namespace": namespace},
				"spec":     map[string]any{"containers": containers},
			},
		},
	}
	b, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
