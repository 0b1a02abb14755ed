package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/privateguard/privateguard/internal/testfiles"
	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

const (
	examplePolicy = "../../examples/policy.yaml"
	exampleReview = "../../examples/admissionreview-pod.json"
)

// TestServeAnswersOverHTTPS is one real round trip: the example AdmissionReview POSTed to
// both webhooks over TLS with a certificate made here, then the probes and the metrics.
func TestServeAnswersOverHTTPS(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	srv := startServer(t, o, ca)
	review := readFile(t, exampleReview)
	before := testutil.ToFloat64(metrics.AdmissionRequests.WithLabelValues("validate", "Pod", "CREATE", "denied"))

	t.Run("validate denies the example pod with 403 and says why", func(t *testing.T) {
		resp := srv.post(t, ValidatePath, "application/json", review)
		if resp.UID != "0b6a4c1e-5f0a-4c55-9a53-1d7a2f3e9c01" {
			t.Errorf("uid = %q, want the request's", resp.UID)
		}
		if resp.Allowed || resp.Result.Code != http.StatusForbidden {
			t.Fatalf("allowed=%v code=%d, want denied with 403", resp.Allowed, resp.Result.Code)
		}
		for _, want := range []string{"[image-registry]", "[sts-regional-endpoint]"} {
			if !strings.Contains(resp.Result.Message, want) {
				t.Errorf("message lacks %s:\n%s", want, resp.Result.Message)
			}
		}
	})
	t.Run("mutate patches the example pod's image and env", func(t *testing.T) {
		resp := srv.post(t, MutatePath, "application/json", review)
		if !resp.Allowed || resp.PatchType == nil {
			t.Fatalf("allowed=%v patchType=%v, want allowed with a patch", resp.Allowed, resp.PatchType)
		}
		var ops []map[string]any
		if err := json.Unmarshal(resp.Patch, &ops); err != nil {
			t.Fatal(err)
		}
		if len(ops) != 4 || ops[0]["path"] != "/spec/containers/0/image" || ops[1]["path"] != "/spec/containers/0/env/-" {
			t.Errorf("patch = %s, want the image replaced and three variables appended", resp.Patch)
		}
	})
	t.Run("the request was counted", func(t *testing.T) {
		after := testutil.ToFloat64(metrics.AdmissionRequests.WithLabelValues("validate", "Pod", "CREATE", "denied"))
		if after-before != 1 {
			t.Errorf("denied validate requests counted %v, want 1", after-before)
		}
	})
	t.Run("HTTP/2 is not offered even to a client that asks for it", func(t *testing.T) {
		resp, err := srv.client.Post(srv.webhookURL+ValidatePath, "application/json", bytes.NewReader(review))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 1 {
			t.Errorf("protocol = %s, want HTTP/1.1", resp.Proto)
		}
	})
	t.Run("TLS below 1.2 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", srv.webhookAddr, &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		// The server's alert, not a client that refused to try.
		if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("handshake error = %v, want the server's protocol version alert", err)
		}
	})
	t.Run("GET on a webhook is 405", func(t *testing.T) {
		resp, err := srv.client.Get(srv.webhookURL + ValidatePath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s = %d, want 405", ValidatePath, resp.StatusCode)
		}
	})
	t.Run("the probes answer", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/readyz/webhook"} {
			if code, body := get(t, srv.healthURL+path); code != http.StatusOK {
				t.Errorf("GET %s = %d %s", path, code, body)
			}
		}
	})
	t.Run("the metrics endpoint serves every privateguard metric", func(t *testing.T) {
		code, body := get(t, srv.metricsURL+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics = %d", code)
		}
		for _, name := range []string{
			"privateguard_admission_requests_total", "privateguard_admission_duration_seconds",
			"privateguard_violations_total", "privateguard_mutations_total", "privateguard_config_reloads_total",
		} {
			if !strings.Contains(body, "# TYPE "+name+" ") {
				t.Errorf("/metrics lacks %s", name)
			}
		}
	})
}

// TestServeSurvivesBadInput sends what a confused or hostile client could, and checks
// that each gets a clear answer and that the server still serves afterwards.
func TestServeSurvivesBadInput(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	srv := startServer(t, o, ca)
	good := podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1")

	fiveMB := func() []byte {
		var review map[string]any
		if err := json.Unmarshal(good, &review); err != nil {
			t.Fatal(err)
		}
		obj := review["request"].(map[string]any)["object"].(map[string]any)
		obj["metadata"].(map[string]any)["annotations"] = map[string]any{"big": strings.Repeat("x", 5<<20)}
		b, _ := json.Marshal(review)
		return b
	}
	thousand := func() []byte {
		images := make([]string, 1000)
		for i := range images {
			images[i] = "ghcr.io/acme/app:1"
		}
		return podReview(t, "shop", images...)
	}

	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantAllowed bool
		wantCode    int32
		wantMessage string
		// wantCountedAsOther: counted as an error of kind and operation "other", the body
		// telling neither (refused before the handler, or a review without a request).
		wantCountedAsOther bool
	}{
		{name: "an empty body is a 400", body: nil, wantCode: 400, wantMessage: "request body is empty", wantCountedAsOther: true},
		{name: "a body that is not JSON is a 400", body: []byte("hello"), wantCode: 400, wantMessage: "couldn't get version/kind", wantCountedAsOther: true},
		{name: "a wrong content type is a 400", contentType: "text/plain", body: good, wantCode: 400, wantMessage: "expected application/json", wantCountedAsOther: true},
		{name: "a review without a request is a 400", body: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`),
			wantCode: 400, wantMessage: "has no request", wantCountedAsOther: true},
		{name: "a Deployment sent as a Pod is a 400", body: bytes.Replace(good, []byte(`"apiVersion":"v1","kind":"Pod"`), []byte(`"apiVersion":"apps/v1","kind":"Deployment"`), 1),
			wantCode: 400, wantMessage: "is a apps/v1 Deployment, but the request is for a v1 Pod"},
		{name: "a 5 MB review is judged", body: fiveMB(), wantAllowed: true, wantCode: 200},
		{name: "a pod with 1,000 containers is judged", body: thousand(), wantCode: 403, wantMessage: "and 980 more violations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			early := metrics.AdmissionRequests.WithLabelValues("validate", "other", "other", "error")
			before := testutil.ToFloat64(early)
			resp := srv.post(t, ValidatePath, ct, tt.body)
			if counted := testutil.ToFloat64(early) - before; (counted == 1) != tt.wantCountedAsOther {
				t.Errorf("counted as an error of kind other %v times, want counted=%v", counted, tt.wantCountedAsOther)
			}
			if resp.Allowed != tt.wantAllowed || resp.Result == nil || resp.Result.Code != tt.wantCode {
				t.Fatalf("allowed=%v result=%+v, want allowed=%v code %d", resp.Allowed, resp.Result, tt.wantAllowed, tt.wantCode)
			}
			if !strings.Contains(resp.Result.Message, tt.wantMessage) {
				t.Errorf("message = %.300q, want it to contain %q", resp.Result.Message, tt.wantMessage)
			}
			if after := srv.post(t, ValidatePath, "application/json", good); !after.Allowed {
				t.Errorf("the next good request was refused: %+v", after.Result)
			}
		})
	}
}

func TestServeReloadsThePolicy(t *testing.T) {
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	original := readFile(t, examplePolicy)
	testfiles.Replace(t, policyFile, original)
	o, ca := testOptions(t, policyFile)
	srv := startServer(t, o, ca)
	ghcr := podReview(t, "shop", "ghcr.io/acme/app:1")

	waitForAllowed := func(t *testing.T, want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for srv.post(t, ValidatePath, "application/json", ghcr).Allowed != want {
			if time.Now().After(deadline) {
				t.Fatalf("a ghcr.io pod is still allowed=%v after 10s", !want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitForReloads := func(t *testing.T, result string, from float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for testutil.ToFloat64(metrics.ConfigReloads.WithLabelValues(result)) == from {
			if time.Now().After(deadline) {
				t.Fatalf("no %s reload counted after 10s", result)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	waitForAllowed(t, false)
	t.Run("a good new file is applied", func(t *testing.T) {
		from := testutil.ToFloat64(metrics.ConfigReloads.WithLabelValues(metrics.ReloadSuccess))
		allowGHCR := bytes.Replace(original, []byte("    - 111122223333.dkr.ecr.us-west-2.amazonaws.com\n"),
			[]byte("    - 111122223333.dkr.ecr.us-west-2.amazonaws.com\n    - ghcr.io/acme\n"), 1)
		testfiles.Replace(t, policyFile, allowGHCR)
		waitForAllowed(t, true)
		waitForReloads(t, metrics.ReloadSuccess, from)
	})
	t.Run("a bad new file is rejected, counted, and the last good policy stays", func(t *testing.T) {
		from := testutil.ToFloat64(metrics.ConfigReloads.WithLabelValues(metrics.ReloadError))
		testfiles.Replace(t, policyFile, []byte("apiVersion: privateguard.io/v1alpha1\nkind: Policy\nregion: nowhere\n"))
		waitForReloads(t, metrics.ReloadError, from)
		if !srv.post(t, ValidatePath, "application/json", ghcr).Allowed {
			t.Error("the bad file replaced the last good policy")
		}
	})
}

func TestServeRotatesTheCertificate(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	srv := startServer(t, o, ca)
	serial := func() int64 {
		conn, err := tls.Dial("tcp", srv.webhookAddr, &tls.Config{RootCAs: ca.Pool})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("serving certificate serial %d, want 1", got)
	}
	writeServingCert(t, ca, srv.certDir, 2)
	deadline := time.Now().Add(20 * time.Second)
	for serial() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate is not served after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	conn, err := tls.Dial("tcp", srv.webhookAddr, &tls.Config{RootCAs: ca.Pool})
	if err != nil {
		t.Fatal(err)
	}
	notAfter := conn.ConnectionState().PeerCertificates[0].NotAfter.Unix()
	conn.Close()
	if got := int64(testutil.ToFloat64(metrics.CertificateExpiry)); got != notAfter {
		t.Errorf("privateguard_certificate_expiry_timestamp_seconds = %d, want the rotated certificate's NotAfter %d", got, notAfter)
	}
}

// blockingServiceAccounts holds every lookup until released.
type blockingServiceAccounts struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingServiceAccounts) Lookup(ctx context.Context, _, _ string) (serviceaccount.Facts, error) {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return serviceaccount.Facts{IRSA: true}, nil
	case <-ctx.Done():
		return serviceaccount.Facts{}, ctx.Err()
	}
}

func TestServeFinishesInFlightRequestsOnShutdown(t *testing.T) {
	o, ca := testOptions(t, examplePolicy)
	sas := &blockingServiceAccounts{entered: make(chan struct{}), release: make(chan struct{})}
	o.ServiceAccountLookup = sas
	srv := startServer(t, o, ca)

	type result struct {
		allowed bool
		patch   []byte
		err     error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := srv.client.Post(srv.webhookURL+MutatePath, "application/json", bytes.NewReader(podReview(t, "shop", "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1")))
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var review struct {
			Response struct {
				Allowed bool   `json:"allowed"`
				Patch   []byte `json:"patch"`
			} `json:"response"`
		}
		err = json.NewDecoder(resp.Body).Decode(&review)
		inFlight <- result{allowed: review.Response.Allowed, patch: review.Response.Patch, err: err}
	}()
	select {
	case <-sas.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the request never reached the service-account lookup")
	}

	srv.cancel() // what SIGTERM does
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", srv.webhookAddr, time.Second)
		if err != nil {
			break // no new connections once shutdown began
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 10s after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the request is still in flight
	close(sas.release)

	select {
	case r := <-inFlight:
		if r.err != nil {
			t.Fatalf("the in-flight request failed: %v", r.err)
		}
		if !r.allowed || !strings.Contains(string(r.patch), "AWS_STS_REGIONAL_ENDPOINTS") {
			t.Errorf("the in-flight request got allowed=%v patch=%s, want the IRSA injection", r.allowed, r.patch)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the in-flight request did not complete")
	}
	select {
	case err := <-srv.done:
		srv.done <- err // for the cleanup
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after the in-flight request completed")
	}
}

func TestRunRefusesToStart(t *testing.T) {
	badPolicy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(badPolicy, []byte("apiVersion: privateguard.io/v1alpha1\nkind: Policy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{name: "without --config", edit: func(o *Options) { o.ConfigFile = "" }, want: "--config is required"},
		{name: "with a bad policy file, naming the file and field", edit: func(o *Options) { o.ConfigFile = badPolicy },
			want: badPolicy + ":\n  region: Required value"},
		{name: "without a certificate", edit: func(o *Options) { o.CertDir = t.TempDir() }, want: "load the serving certificate"},
		{name: "with service accounts and no reachable configuration", edit: func(o *Options) {
			o.ServiceAccounts = true
			o.Kubeconfig = filepath.Join(t.TempDir(), "missing")
		}, want: "kubernetes client configuration"},
		{name: "with the background audit and no Kubernetes connection", edit: func(o *Options) {
			o.BackgroundAuditInterval = time.Hour
		}, want: "--background-audit-interval needs a Kubernetes connection"},
		{name: "with the background audit and no namespace for its Lease", edit: func(o *Options) {
			t.Setenv("POD_NAMESPACE", "")
			o.ServiceAccounts = true
			o.ServiceAccountLookup = &blockingServiceAccounts{}
			o.BackgroundAuditInterval = time.Hour
		}, want: "--background-audit-namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := testOptions(t, examplePolicy)
			tt.edit(&o)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := Run(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want one containing %q", err, tt.want)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Error("Run served instead of refusing to start")
			}
		})
	}
}
