package framework

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Webhook is a running `privateguard serve`.
type Webhook struct {
	binary string
	args   []string
	out    io.Writer
	cmd    *exec.Cmd
	done   chan struct{}
	log    *syncBuffer

	// Port is the TLS port of /mutate and /validate on 127.0.0.1.
	Port int
	// MetricsAddr and HealthAddr are the metrics and health endpoints.
	MetricsAddr, HealthAddr string
	// ConfigPath is the policy file the server watches.
	ConfigPath string
	// CertDir holds tls.crt and tls.key.
	CertDir string
}

// WebhookOptions says how to start the webhook.
type WebhookOptions struct {
	// Binary is the privateguard binary (bin/privateguard).
	Binary string
	// ConfigPath is the policy file; CertDir holds the serving certificate.
	ConfigPath, CertDir string
	// Kubeconfig reaches the API server for service accounts; empty runs with
	// --service-accounts=false.
	Kubeconfig string
	// Log receives the server's output besides the in-memory copy; may be nil.
	Log io.Writer
	// Port is the TLS port to listen on; 0 picks a free one.
	Port int
	// Baseline starts the benchmark's allow-all webhook instead, which takes only
	// --port, --cert-dir and --health-probe-bind-address.
	Baseline bool
	// ExtraArgs are appended to serve's flags (not the baseline's).
	ExtraArgs []string
}

// StartWebhook starts the webhook on free loopback ports and waits until /readyz answers
// and the TLS port accepts a handshake (at most 30 seconds).
func StartWebhook(opts WebhookOptions) (*Webhook, error) {
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("webhook binary missing: %w (run `make build`)", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if opts.Port != 0 {
		// The other two must not be the given port, which is free again by now.
		for ports[1] == opts.Port || ports[2] == opts.Port {
			if ports, err = freePorts(3); err != nil {
				return nil, err
			}
		}
		ports[0] = opts.Port
	}
	w := &Webhook{
		Port:        ports[0],
		MetricsAddr: "127.0.0.1:" + strconv.Itoa(ports[1]),
		HealthAddr:  "127.0.0.1:" + strconv.Itoa(ports[2]),
		ConfigPath:  opts.ConfigPath,
		CertDir:     opts.CertDir,
		log:         &syncBuffer{},
	}
	args := []string{"serve",
		"--config", opts.ConfigPath,
		"--cert-dir", opts.CertDir,
		"--port", strconv.Itoa(w.Port),
		"--metrics-bind-address", w.MetricsAddr,
		"--health-probe-bind-address", w.HealthAddr,
	}
	switch {
	case opts.Baseline:
		args = []string{"--cert-dir", opts.CertDir, "--port", strconv.Itoa(w.Port), "--health-probe-bind-address", w.HealthAddr}
	case opts.Kubeconfig != "":
		args = append(args, "--kubeconfig", opts.Kubeconfig)
	default:
		args = append(args, "--service-accounts=false")
	}
	if !opts.Baseline {
		args = append(args, opts.ExtraArgs...)
	}
	w.binary, w.args = opts.Binary, args
	w.out = io.Writer(w.log)
	if opts.Log != nil {
		w.out = io.MultiWriter(w.log, opts.Log)
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	return w, nil
}

// Start starts the server process (again, after Stop) on the same ports, and waits until
// it is ready.
func (w *Webhook) Start() error {
	w.cmd = exec.Command(w.binary, w.args...)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	w.done = make(chan struct{})
	if err := w.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", w.binary, err)
	}
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(w.cmd, w.done)
	if err := w.waitReady(30 * time.Second); err != nil {
		w.Stop()
		return fmt.Errorf("webhook did not become ready: %w\n%s", err, w.Logs())
	}
	return nil
}

func (w *Webhook) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-w.done:
			return fmt.Errorf("the process exited: %v", w.cmd.ProcessState)
		default:
		}
		resp, err := client.Get("http://" + w.HealthAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", w.Addr(), &tls.Config{InsecureSkipVerify: true})
				if err == nil {
					conn.Close()
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s (last error: %v)", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Addr is host:port of the TLS endpoint.
func (w *Webhook) Addr() string { return "127.0.0.1:" + strconv.Itoa(w.Port) }

// URL is the https URL of a path on the webhook.
func (w *Webhook) URL(path string) string { return "https://" + w.Addr() + path }

// Stop sends SIGTERM and waits up to 15 seconds for a graceful exit, then kills.
func (w *Webhook) Stop() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
		return nil
	case <-time.After(15 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
		return fmt.Errorf("webhook ignored SIGTERM for 15s and was killed")
	}
}

// Pid is the server's process id.
func (w *Webhook) Pid() int { return w.cmd.Process.Pid }

// Logs is everything the server printed so far.
func (w *Webhook) Logs() string { return w.log.String() }

// Metrics fetches the Prometheus text exposition.
func (w *Webhook) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.MetricsAddr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// ServingCertSerial is the serial number of the certificate the webhook presents now.
func (w *Webhook) ServingCertSerial(caPEM []byte) (string, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", w.Addr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

// WritePolicy replaces the policy file atomically (rename), as an editor or a ConfigMap
// update does.
func WritePolicy(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// syncBuffer is a bytes.Buffer safe for the process's writers and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
