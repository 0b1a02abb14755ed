//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/privateguard/privateguard/internal/testcerts"
	"github.com/privateguard/privateguard/internal/testfiles"
)

// ---- certificates and files, written as a kubelet or an admin would ----

// newAuthority makes the suite's certificate authority.
func newAuthority(t *testing.T) *testcerts.CA {
	t.Helper()
	ca, err := testcerts.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// leaf is a serving certificate for 127.0.0.1 with the given serial, as PEM.
func leaf(t *testing.T, ca *testcerts.CA, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	crt, key, err := ca.ServingCert(serial)
	if err != nil {
		t.Fatal(err)
	}
	return crt, key
}

// swap writes files into dir as the kubelet updates Secret and ConfigMap volumes: a new
// timestamped directory, then one rename of ..data.
func swap(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := testcerts.WriteVolume(dir, files); err != nil {
		t.Fatal(err)
	}
}

// replace writes files in dir in place, each by rename: a plain file update.
func replace(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		testfiles.Replace(t, filepath.Join(dir, name), data)
	}
}

// servedSerial is the serial of the certificate the server at addr presents.
func servedSerial(addr string, pool *x509.CertPool) (int64, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

// ---- replicas: the real binary ----

// replica is one `privateguard serve` process on 127.0.0.1.
type replica struct {
	name    string
	args    []string
	env     []string
	webhook string // 127.0.0.1:port
	health  string
	metrics string
	logPath string

	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	started time.Time
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newReplica(t *testing.T, name string, extraArgs []string, env []string, dir string) *replica {
	t.Helper()
	r := &replica{
		name:    name,
		webhook: "127.0.0.1:" + strconv.Itoa(freePort(t)),
		health:  "127.0.0.1:" + strconv.Itoa(freePort(t)),
		metrics: "127.0.0.1:" + strconv.Itoa(freePort(t)),
		logPath: filepath.Join(dir, name+".log"),
		env:     env,
	}
	_, port, _ := net.SplitHostPort(r.webhook)
	r.args = append([]string{"serve", "--port=" + port, "--health-probe-bind-address=" + r.health,
		"--metrics-bind-address=" + r.metrics}, extraArgs...)
	return r
}

// start runs the process; it is killed at the test's end if still running.
func (r *replica) start(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(*binary, r.args...)
	r.cmd.Env = append(os.Environ(), r.env...)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", *binary, err)
	}
	r.started = time.Now()
	r.exited = make(chan struct{})
	cmd, exited := r.cmd, r.exited
	go func() {
		r.exitErr = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
}

// ready reports whether /readyz answers 200.
func (r *replica) ready() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + r.health + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitReady waits until /readyz passes and returns how long after start it did.
func (r *replica) waitReady(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(within)
	for !r.ready() {
		select {
		case <-r.exited:
			t.Fatalf("%s exited before it was ready (%v); log:\n%s", r.name, r.exitErr, tail(r.logPath))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s; log:\n%s", r.name, within, tail(r.logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(r.started)
}

// terminate sends SIGTERM and returns how long the process took to exit.
func (r *replica) terminate(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	sent := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
		if r.exitErr != nil {
			t.Errorf("%s exited with %v after SIGTERM, want 0", r.name, r.exitErr)
		}
		return time.Since(sent)
	case <-time.After(within):
		t.Fatalf("%s still running %s after SIGTERM", r.name, within)
	}
	return 0
}

// rss is the resident set of the process in bytes (0 once it exited).
func (r *replica) rss() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// metric is the sum of the samples of a counter whose line starts with prefix.
func (r *replica) metric(prefix string) float64 {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + r.metrics + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		if line := s.Text(); strings.HasPrefix(line, prefix) {
			if i := strings.LastIndexByte(line, ' '); i > 0 {
				v, _ := strconv.ParseFloat(line[i+1:], 64)
				sum += v
			}
		}
	}
	return sum
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
