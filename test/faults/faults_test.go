//go:build faults

// Package faults is the fault suite of `make faults`: real `privateguard serve`
// processes on 127.0.0.1 under steady admission load while certificates rotate, the
// policy reloads, a replica is stopped with SIGTERM, large and slow bodies flood in and
// the API server behind the service-account lookups fails, hangs and recovers. It
// asserts correctness only — no failed or wrong admission for the well-behaved load,
// memory under its bound, IRSA pods injected — and prints a table of figures; timings
// are printed, never asserted. Every phase is bounded in requests and time.
//
//	make faults                     # about 5 minutes
//	go test -tags faults -short ./test/faults   # about a minute (runs ../../bin/privateguard)
package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/privateguard/privateguard/internal/fakeapi"
	"github.com/privateguard/privateguard/internal/testcerts"
)

var (
	binary = flag.String("bin", "../../bin/privateguard", "the privateguard binary (make build)")
	// The chart's memory limit and GOMEMLIMIT (values.yaml): RSS must stay under 70% of
	// the limit.
	memoryLimit = flag.Int64("memory-limit-mib", 256, "the container memory limit the replicas are sized for, MiB")
	goMemLimit  = flag.String("gomemlimit", "153MiB", "GOMEMLIMIT of the replicas, as the chart sets it")
)

const (
	ecrImage     = "111122223333.dkr.ecr.us-west-2.amazonaws.com/web:1"
	shutdownWait = 2 * time.Second // --shutdown-delay of the replicas here: short, printed
)

// suite is the state the phases share.
type suite struct {
	t      *testing.T
	short  bool
	dir    string
	ca     *testcerts.CA
	api    *fakeapi.Server
	client *http.Client

	mu       sync.Mutex
	replicas []*replica // what the "Service" sends to, when ready
	readyNow map[*replica]bool
	next     int

	phase   atomic.Pointer[phaseStats]
	outage  atomic.Bool // the API server is failing: lookups cannot answer
	phases  []*phaseStats
	maxRSS  atomic.Int64
	notes   []string
	stopped atomic.Bool
}

// phaseStats are the figures of one phase.
type phaseStats struct {
	name     string
	start    time.Time
	took     time.Duration
	mu       sync.Mutex
	latency  []time.Duration
	failed   int
	wrong    int
	retried  int
	irsaMiss int // IRSA pods without the variable while lookups failed: each is also wrong
	maxRSS   int64
	note     string
	examples []string
}

func (p *phaseStats) record(d time.Duration, failed, wrong, retried, irsaMiss bool, example string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = append(p.latency, d)
	if failed {
		p.failed++
	}
	if wrong {
		p.wrong++
	}
	if retried {
		p.retried++
	}
	if irsaMiss {
		p.irsaMiss++
	}
	if (failed || wrong) && len(p.examples) < 5 {
		p.examples = append(p.examples, example)
	}
}

func (p *phaseStats) percentile(q float64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.latency) == 0 {
		return 0
	}
	l := slices.Clone(p.latency)
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// roleOf is the IRSA annotation of a service account named name.
func roleOf(name string) map[string]string {
	return map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/" + name}
}

func TestFaults(t *testing.T) {
	if _, err := os.Stat(*binary); err != nil {
		t.Fatalf("the privateguard binary %s: %v (run make build, or pass -bin)", *binary, err)
	}
	s := &suite{t: t, short: testing.Short(), dir: t.TempDir(), ca: newAuthority(t), readyNow: map[*replica]bool{},
		api: fakeapi.New(map[string]map[string]string{"shop/web": roleOf("web"), "shop/plain": nil})}
	kubeconfig := s.api.Start(t) // 127.0.0.1
	s.client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.ca.Pool}, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}}

	// Replica a: plain files (replaced in place). Replica b: the kubelet's ..data layout.
	policyV1, err := os.ReadFile("../../examples/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	policyV2 := append(slices.Clone(policyV1), []byte("\n# reloaded\n")...)
	plainCerts, plainPolicy := mkdir(t, s.dir, "a-tls"), mkdir(t, s.dir, "a-policy")
	crt, key := leaf(t, s.ca, 1)
	replace(t, plainCerts, map[string][]byte{"tls.crt": crt, "tls.key": key})
	replace(t, plainPolicy, map[string][]byte{"policy.yaml": policyV1})
	swapCerts, swapPolicy := mkdir(t, s.dir, "b-tls"), mkdir(t, s.dir, "b-policy")
	swap(t, swapCerts, map[string][]byte{"tls.crt": crt, "tls.key": key})
	swap(t, swapPolicy, map[string][]byte{"policy.yaml": policyV1})

	env := []string{"GOMEMLIMIT=" + *goMemLimit}
	common := []string{"--host=127.0.0.1", "--kubeconfig=" + kubeconfig, "--shutdown-delay=" + shutdownWait.String()}
	if s.short {
		common = append(common, "--read-timeout=4s", "--read-header-timeout=3s")
	}
	a := newReplica(t, "a", append([]string{"--config=" + filepath.Join(plainPolicy, "policy.yaml"), "--cert-dir=" + plainCerts}, common...), env, s.dir)
	b := newReplica(t, "b", append([]string{"--config=" + filepath.Join(swapPolicy, "policy.yaml"), "--cert-dir=" + swapCerts}, common...), env, s.dir)
	a.start(t)
	b.start(t)
	s.notef("replicas ready after %s (a) and %s (b)", a.waitReady(t, 30*time.Second).Round(time.Millisecond), b.waitReady(t, 30*time.Second).Round(time.Millisecond))
	s.replicas = []*replica{a, b}
	// Service accounts created after the sync: every lookup of them is a direct GET.
	s.api.Put("shop/late-irsa", roleOf("late-irsa"))
	s.api.Put("shop/late-plain", nil)

	stop := s.run(a)
	defer stop()

	steady := pick(s.short, 5*time.Second, 20*time.Second)
	s.begin("steady load")
	time.Sleep(steady)

	s.begin("certificate rotation")
	for serial, rotate := range map[int64]func(crt, key []byte){
		2: func(crt, key []byte) { replace(t, plainCerts, map[string][]byte{"tls.crt": crt, "tls.key": key}) },
		3: func(crt, key []byte) { swap(t, swapCerts, map[string][]byte{"tls.crt": crt, "tls.key": key}) },
	} {
		crt, key := leaf(t, s.ca, serial)
		r := map[int64]*replica{2: a, 3: b}[serial]
		start := time.Now()
		rotate(crt, key)
		for {
			if got, _ := servedSerial(r.webhook, s.ca.Pool); got == serial {
				break
			}
			if time.Since(start) > 30*time.Second {
				t.Errorf("%s still serves the old certificate 30s after the rotation", r.name)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.notef("certificate of %s (%s) served %s after rotation", r.name, map[int64]string{2: "replaced", 3: "..data swap"}[serial], time.Since(start).Round(time.Millisecond))
	}
	time.Sleep(steady / 2)

	s.begin("policy reloads")
	reloads := func(r *replica, result string) float64 {
		return r.metric(`privateguard_config_reloads_total{result="` + result + `"}`)
	}
	for _, step := range []struct {
		what   string
		result string
		data   []byte
	}{{"new policy", "success", policyV2}, {"broken policy", "error", []byte("mode: [not valid\n")}, {"previous policy", "success", policyV1}} {
		beforeA, beforeB := reloads(a, step.result), reloads(b, step.result)
		start := time.Now()
		replace(t, plainPolicy, map[string][]byte{"policy.yaml": step.data})
		swap(t, swapPolicy, map[string][]byte{"policy.yaml": step.data})
		for reloads(a, step.result) <= beforeA || reloads(b, step.result) <= beforeB {
			if time.Since(start) > 30*time.Second {
				t.Errorf("%s: reloads_total{result=%q} did not move within 30s", step.what, step.result)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.notef("%s: %s on both replicas after %s", step.what, step.result, time.Since(start).Round(time.Millisecond))
		time.Sleep(steady / 4)
	}

	s.begin("SIGTERM of a replica")
	// A client stalled mid-body must not hold the exit past the shutdown delay + 15s.
	if stalled, err := tls.Dial("tcp", b.webhook, &tls.Config{RootCAs: s.ca.Pool}); err == nil {
		defer stalled.Close()
		_, _ = fmt.Fprintf(stalled, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	}
	took := b.terminate(t, shutdownWait+15*time.Second) // SPEC section 5: gone within the delay + 15s
	s.notef("replica b exited %s after SIGTERM (--shutdown-delay %s)", took.Round(time.Millisecond), shutdownWait)
	b.start(t)
	s.notef("replica b ready again %s after restart", b.waitReady(t, 30*time.Second).Round(time.Millisecond))
	time.Sleep(steady / 2)

	s.floods(a, pick(s.short, 5*time.Second, 30*time.Second))
	s.slowClients(a, pick(s.short, 8*time.Second, 35*time.Second))
	s.apiFaults(t, kubeconfig, env, common, plainPolicy, plainCerts, pick(s.short, 5*time.Second, 20*time.Second))
	s.irsaBurst(pick(s.short, 200, 1220))

	stop()
	s.report()
}

// begin starts a phase.
func (s *suite) begin(name string) {
	p := &phaseStats{name: name, start: time.Now()}
	if prev := s.phase.Swap(p); prev != nil {
		prev.took = time.Since(prev.start)
	}
	s.mu.Lock()
	s.phases = append(s.phases, p)
	s.mu.Unlock()
}

func (s *suite) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.t.Log(msg)
	s.mu.Lock()
	s.notes = append(s.notes, msg)
	s.mu.Unlock()
}

// ---- the well-behaved load: what the API server sends ----

// loadCase is one kind of review the load sends, and how to tell a right answer.
type loadCase struct {
	name, path, serviceAccount, image string
	check                             func(r reviewResponse) (ok, irsaMiss bool)
}

type reviewResponse struct {
	Allowed bool   `json:"allowed"`
	Patch   []byte `json:"patch"`
	Result  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

var loadCases = []loadCase{
	{name: "allowed pod", path: "/validate", serviceAccount: "late-plain", image: ecrImage,
		check: func(r reviewResponse) (bool, bool) { return r.Allowed, false }},
	{name: "denied pod", path: "/validate", serviceAccount: "plain", image: "ghcr.io/acme/app:1",
		check: func(r reviewResponse) (bool, bool) {
			return !r.Allowed && r.Result != nil && r.Result.Code == 403 && strings.Contains(r.Result.Message, "[image-registry]"), false
		}},
	{name: "rewritten pod", path: "/mutate", serviceAccount: "plain", image: "docker.io/library/nginx:1",
		check: func(r reviewResponse) (bool, bool) {
			return r.Allowed && bytes.Contains(r.Patch, []byte("docker-hub")), false
		}},
	{name: "IRSA pod (cached)", path: "/mutate", serviceAccount: "web", image: ecrImage,
		check: func(r reviewResponse) (bool, bool) {
			return r.Allowed && bytes.Contains(r.Patch, []byte("AWS_STS_REGIONAL_ENDPOINTS")), false
		}},
	{name: "IRSA pod (direct GET)", path: "/mutate", serviceAccount: "late-irsa", image: ecrImage,
		check: func(r reviewResponse) (bool, bool) {
			injected := r.Allowed && bytes.Contains(r.Patch, []byte("AWS_STS_REGIONAL_ENDPOINTS"))
			return injected, r.Allowed && !injected
		}},
}

func podReview(serviceAccount, image string, pad int) []byte {
	meta := map[string]any{"name": "p", "namespace": "shop"}
	if pad > 0 {
		meta["annotations"] = map[string]string{"pad": strings.Repeat("x", pad)}
	}
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": fmt.Sprintf("uid-%d", time.Now().UnixNano()), "operation": "CREATE", "namespace": "shop", "name": "p",
			"kind":     map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource": map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"object": map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta,
				"spec": map[string]any{"serviceAccountName": serviceAccount, "containers": []any{map[string]any{"name": "c", "image": image}}}},
		},
	})
	return b
}

// pickReplica is the "Service": round robin over the replicas whose /readyz passes, as
// the endpoints controller would keep them.
func (s *suite) pickReplica() *replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range len(s.replicas) {
		r := s.replicas[s.next%len(s.replicas)]
		s.next++
		if s.readyNow[r] {
			return r
		}
	}
	return nil
}

// run starts the readiness poller and the load workers; the returned func stops them.
func (s *suite) run(a *replica) func() {
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() { // readiness, every 100ms
		defer wg.Done()
		for {
			s.mu.Lock()
			rs := slices.Clone(s.replicas)
			s.mu.Unlock()
			for _, r := range rs {
				ok := r.ready()
				s.mu.Lock()
				s.readyNow[r] = ok
				s.mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	for w := range 3 {
		wg.Add(1)
		go func() { // about 25 reviews a second each
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-done:
					return
				case <-time.After(40 * time.Millisecond):
				}
				s.send(loadCases[i%len(loadCases)])
			}
		}()
	}
	wg.Add(1)
	go func() { // RSS of replica a, every 50ms
		defer wg.Done()
		for {
			if rss := a.rss(); rss > 0 {
				if p := s.phase.Load(); p != nil {
					p.mu.Lock()
					p.maxRSS = max(p.maxRSS, rss)
					p.mu.Unlock()
				}
				for cur := s.maxRSS.Load(); rss > cur && !s.maxRSS.CompareAndSwap(cur, rss); cur = s.maxRSS.Load() {
				}
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// send posts one review to a ready replica and records the outcome. A connection the
// server closed under the request is retried once, as the API server's webhook client
// does with a connection reset.
func (s *suite) send(c loadCase) {
	p := s.phase.Load()
	if p == nil {
		return
	}
	body := podReview(c.serviceAccount, c.image, 0)
	start := time.Now()
	var resp reviewResponse
	var err error
	retried := false
	for attempt := 0; attempt < 2; attempt++ {
		r := s.pickReplica()
		if r == nil {
			err = errors.New("no ready replica")
			time.Sleep(50 * time.Millisecond)
			continue
		}
		resp, err = s.post(r.webhook, c.path, body)
		if err == nil || !retriable(err) {
			break
		}
		retried = true
	}
	took := time.Since(start)
	if err != nil {
		p.record(took, true, false, retried, false, c.name+": "+err.Error())
		return
	}
	// An IRSA pod is never admitted without the variable, even while its lookup fails:
	// the webhook then injects it anyway (IRSA unknown).
	ok, irsaMiss := c.check(resp)
	lookupsDown := s.outage.Load()
	p.record(took, false, !ok, retried, irsaMiss && lookupsDown, fmt.Sprintf("%s: allowed=%v patch=%.80s status=%+v", c.name, resp.Allowed, resp.Patch, resp.Result))
}

func retriable(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

func (s *suite) post(addr, path string, body []byte) (reviewResponse, error) {
	resp, err := s.client.Post("https://"+addr+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return reviewResponse{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reviewResponse{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return reviewResponse{}, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, data)
	}
	var review struct {
		Response *reviewResponse `json:"response"`
	}
	if err := json.Unmarshal(data, &review); err != nil || review.Response == nil {
		return reviewResponse{}, fmt.Errorf("not an AdmissionReview: %.200s", data)
	}
	return *review.Response, nil
}

// ---- abuse ----

// floods sends 16 parallel maximum-size reviews over and over, then holds 30 stalled
// near-limit bodies, each for d, at replica a, while a normal review is timed.
func (s *suite) floods(a *replica, d time.Duration) {
	big := podReview("plain", ecrImage, 7<<20-2048)
	s.begin("16 parallel 7 MiB reviews")
	codes := s.hammer(a, d, 16, func(ctx context.Context) int {
		resp, err := s.client.Post("https://"+a.webhook+"/validate", "application/json", bytes.NewReader(big))
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	})
	var answered []string
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		answered = append(answered, fmt.Sprintf("%d × %d", codes[code], code))
	}
	s.phase.Load().note = fmt.Sprintf("large reviews answered %s; normal review p99 %s", strings.Join(answered, ", "), s.probe(a, 0))

	s.begin("30 stalled near-limit bodies")
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil { // reconnect when cut, until the phase ends
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", a.webhook, &tls.Config{RootCAs: s.ca.Pool})
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				phaseEnd, _ := ctx.Deadline()
				_ = conn.SetDeadline(phaseEnd)
				_, _ = fmt.Fprintf(conn, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 7<<20-1)
				_, _ = conn.Write(make([]byte, 6<<20))
				_, _ = io.Copy(io.Discard, conn) // until the server answers or cuts
				conn.Close()
			}
		}()
	}
	time.Sleep(2 * time.Second)
	s.phase.Load().note = "normal review p99 " + s.probe(a, d-2*time.Second).String()
	wg.Wait()
}

// hammer runs n workers calling f for d and counts the status codes.
func (s *suite) hammer(a *replica, d time.Duration, n int, f func(context.Context) int) map[int]int {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c := f(ctx)
				mu.Lock()
				codes[c]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return codes
}

// probe times normal reviews sent straight to a for d (at least 20 of them) and
// returns the 99th percentile; a wrong answer fails the suite.
func (s *suite) probe(a *replica, d time.Duration) time.Duration {
	var l []time.Duration
	end := time.Now().Add(d)
	for i := 0; i < 20 || time.Now().Before(end); i++ {
		start := time.Now()
		resp, err := s.post(a.webhook, "/validate", podReview("plain", ecrImage, 0))
		l = append(l, time.Since(start))
		if err != nil || !resp.Allowed {
			s.t.Errorf("a normal review during the flood: allowed=%v err=%v", resp.Allowed, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(l)
	return l[min(len(l)-1, len(l)*99/100)].Round(100 * time.Microsecond)
}

// slowClients opens connections that trickle their headers or body and measures when
// the server cuts them.
func (s *suite) slowClients(a *replica, within time.Duration) {
	s.begin("slow clients")
	var mu sync.Mutex
	var cut []time.Duration
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", a.webhook, &tls.Config{RootCAs: s.ca.Pool})
			if err != nil {
				return
			}
			defer conn.Close()
			start := time.Now()
			if i%2 == 0 {
				_, _ = fmt.Fprint(conn, "POST /validate HTTP/1.1\r\nHost: x\r\n") // headers that never end
			} else {
				_, _ = fmt.Fprint(conn, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
			}
			go func() { // a byte every 200ms
				for time.Since(start) < within {
					time.Sleep(200 * time.Millisecond)
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}()
			_ = conn.SetReadDeadline(start.Add(within))
			_, err = io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.t.Errorf("a slow client was still connected %s after it began", within)
				return
			}
			mu.Lock()
			cut = append(cut, time.Since(start))
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(cut)
	if len(cut) > 0 {
		s.phase.Load().note = fmt.Sprintf("%d slow clients cut after %s to %s", len(cut), cut[0].Round(time.Millisecond), cut[len(cut)-1].Round(time.Millisecond))
	}
}

// ---- the API server fails ----

func (s *suite) apiFaults(t *testing.T, kubeconfig string, env, common []string, policyDir, certDir string, d time.Duration) {
	for _, outage := range []fakeapi.Outage{fakeapi.InternalError, fakeapi.Hang} {
		s.begin("API server " + map[fakeapi.Outage]string{fakeapi.InternalError: "answers 500", fakeapi.Hang: "hangs"}[outage])
		s.api.SetOutage(outage)
		s.outage.Store(true)
		var c *replica
		if outage == fakeapi.Hang {
			// A replica started during the brownout.
			c = newReplica(t, "c", append([]string{"--config=" + filepath.Join(policyDir, "policy.yaml"), "--cert-dir=" + certDir}, common...), env, s.dir)
			c.start(t)
		}
		time.Sleep(d)
		s.begin("API server recovers")
		s.api.SetOutage(fakeapi.Up)
		recovered := time.Now()
		for {
			resp, err := s.post(s.replicas[0].webhook, "/mutate", podReview("late-irsa", ecrImage, 0))
			if err == nil && bytes.Contains(resp.Patch, []byte("AWS_STS_REGIONAL_ENDPOINTS")) {
				break
			}
			if time.Since(recovered) > 30*time.Second {
				t.Errorf("IRSA pods still not injected 30s after the API server recovered (%v)", err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.outage.Store(false)
		s.notef("after the API server %s: lookups back %s after its recovery", map[fakeapi.Outage]string{fakeapi.InternalError: "answered 500", fakeapi.Hang: "hung"}[outage], time.Since(recovered).Round(time.Millisecond))
		if c != nil {
			s.notef("replica c, started while the API server hung: ready %s after start, %s after the recovery",
				c.waitReady(t, 40*time.Second).Round(time.Millisecond), time.Since(recovered).Round(time.Millisecond))
			c.terminate(t, shutdownWait+20*time.Second)
		}
		time.Sleep(d / 2)
	}
}

// irsaBurst sends n pods, each with its own new IRSA service account, 64 at a time, as
// a rollout of many workloads would: every one must get the variable.
func (s *suite) irsaBurst(n int) {
	s.begin(fmt.Sprintf("%d new IRSA service accounts", n))
	for i := range n {
		s.api.Put(fmt.Sprintf("shop/burst-%d", i), roleOf(fmt.Sprintf("burst-%d", i)))
	}
	var missed atomic.Int32
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := s.pickReplica()
				if r == nil {
					missed.Add(1)
					continue
				}
				resp, err := s.post(r.webhook, "/mutate", podReview(fmt.Sprintf("burst-%d", i), ecrImage, 0))
				if err != nil || !bytes.Contains(resp.Patch, []byte("AWS_STS_REGIONAL_ENDPOINTS")) {
					missed.Add(1)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	s.phase.Load().note = fmt.Sprintf("%d pods in %s, %d without AWS_STS_REGIONAL_ENDPOINTS", n, time.Since(start).Round(time.Millisecond), missed.Load())
	if m := missed.Load(); m > 0 {
		s.t.Errorf("%d of %d pods with new IRSA service accounts went through without AWS_STS_REGIONAL_ENDPOINTS", m, n)
	}
}

// ---- the report ----

func (s *suite) report() {
	if p := s.phase.Load(); p != nil && p.took == 0 {
		p.took = time.Since(p.start)
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "phase\ttook\treviews\tfailed\twrong\tretried\tp50\tp99\tmax RSS (a)\t")
	var failed, wrong, irsaMiss int
	for _, p := range s.phases {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%.0f MiB\t\n", p.name, p.took.Round(100*time.Millisecond), len(p.latency),
			p.failed, p.wrong, p.retried, p.percentile(0.5).Round(100*time.Microsecond), p.percentile(0.99).Round(100*time.Microsecond), float64(p.maxRSS)/(1<<20))
		failed += p.failed
		wrong += p.wrong
		irsaMiss += p.irsaMiss
	}
	w.Flush()
	bound := *memoryLimit * 7 / 10 << 20
	fmt.Fprintf(&b, "\nmax RSS of replica a: %.0f MiB (bound: 70%% of %d MiB = %.0f MiB; GOMEMLIMIT=%s)\n",
		float64(s.maxRSS.Load())/(1<<20), *memoryLimit, float64(bound)/(1<<20), *goMemLimit)
	fmt.Fprintf(&b, "IRSA pods without AWS_STS_REGIONAL_ENDPOINTS while their lookup failed: %d\n", irsaMiss)
	for _, p := range s.phases {
		if p.note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", p.name, p.note)
		}
	}
	for _, n := range s.notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	fmt.Println(b.String())

	for _, p := range s.phases {
		for _, e := range p.examples {
			s.t.Errorf("%s: %s", p.name, e)
		}
	}
	if failed+wrong > 0 {
		s.t.Errorf("%d failed and %d wrong admissions of the well-behaved load, want none", failed, wrong)
	}
	if rss := s.maxRSS.Load(); rss > bound {
		s.t.Errorf("replica a reached %.0f MiB RSS, over 70%% of its %d MiB limit", float64(rss)/(1<<20), *memoryLimit)
	}
}

// ---- small helpers ----

func pick[T any](short bool, shortValue, full T) T {
	if short {
		return shortValue
	}
	return full
}

func mkdir(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
