// Command bench is `make bench`'s load test: it starts privateguard serve and a baseline
// allow-all webhook on the same controller-runtime server and TLS settings, on loopback,
// sends both the same corpus of AdmissionReviews in alternating rounds, runs a fixed-rate
// test, measures memory with many service accounts cached, and prints a markdown table
// (also written to bench/results.md). It reports; it never fails on a figure.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/privateguard/privateguard/test/framework"
)

type options struct {
	binDir       string
	config       string
	out          string
	rounds       int
	requests     int
	concurrency  int
	rate         int
	rateDuration time.Duration
	accounts     int
	engine       string
	auditPods    int
	manifestPods int
	load         bool
}

func main() {
	var o options
	flag.StringVar(&o.binDir, "bin", "bin", "directory of privateguard, privateguard-baseline, kube-apiserver and etcd")
	flag.StringVar(&o.config, "config", "examples/policy.yaml", "policy file for privateguard serve")
	flag.StringVar(&o.out, "out", "bench/results.md", "where to write the markdown table")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds per endpoint and server")
	flag.IntVar(&o.requests, "requests", 4000, "requests per round")
	flag.IntVar(&o.concurrency, "concurrency", 8, "concurrent keep-alive connections in the closed-loop rounds")
	flag.IntVar(&o.rate, "rate", 1000, "requests per second of the fixed-rate run")
	flag.DurationVar(&o.rateDuration, "rate-duration", 20*time.Second, "length of the fixed-rate run")
	flag.IntVar(&o.accounts, "service-accounts", 50000, "service accounts in the cache for the memory figure (0 skips it; needs bin/kube-apiserver and bin/etcd)")
	flag.StringVar(&o.engine, "engine", "", "output of the engine's go test -bench run to include")
	flag.IntVar(&o.auditPods, "audit-pods", 100000, "pods in the API server for the background audit's figure (0 skips it; needs bin/kube-apiserver and bin/etcd)")
	flag.IntVar(&o.manifestPods, "manifest-pods", 100000, "pods in the YAML stream `privateguard audit -f` reads, from a file and from stdin (0 skips it)")
	flag.BoolVar(&o.load, "load", true, "run the load test against the baseline; false runs only the background audit's figure")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options, stdout io.Writer) error {
	work, err := os.MkdirTemp("", "privateguard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ca, err := framework.NewCA()
	if err != nil {
		return err
	}
	certDir := filepath.Join(work, "certs")
	if _, err := ca.WriteServingCert(certDir); err != nil {
		return err
	}
	if !o.load {
		var report strings.Builder
		report.WriteString("| server | state | RSS |\n|---|---|---:|\n")
		if err := memoryFigures(o, work, certDir, ca.PEM, &report); err != nil {
			return err
		}
		return writeReport(o, stdout, report.String())
	}
	pg, err := framework.StartWebhook(framework.WebhookOptions{Binary: filepath.Join(o.binDir, "privateguard"), ConfigPath: o.config, CertDir: certDir})
	if err != nil {
		return err
	}
	defer pg.Stop()
	base, err := framework.StartWebhook(framework.WebhookOptions{Binary: filepath.Join(o.binDir, "privateguard-baseline"), CertDir: certDir, Baseline: true})
	if err != nil {
		return err
	}
	defer base.Stop()

	entries, err := corpus()
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(entries))
	for i, e := range entries {
		bodies[i] = e.body
	}
	client := newClient(ca.PEM, o.concurrency)
	servers := []struct {
		name string
		w    *framework.Webhook
	}{{"privateguard", pg}, {"baseline", base}}

	var report strings.Builder
	fmt.Fprintf(&report, "## privateguard bench, %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&report, "Machine: %s, %d cores (load generator and servers share them). Corpus: %d AdmissionReviews (%s), cycled.\n\n",
		cpuModel(), runtime.NumCPU(), len(entries), corpusNames(entries))
	if o.engine != "" {
		table, err := engineTable(o.engine)
		if err != nil {
			return err
		}
		report.WriteString(table)
	}

	// Warm both servers (TLS sessions, caches, heap).
	for _, s := range servers {
		for _, path := range []string{"/validate", "/mutate"} {
			closedLoop(client, s.w.URL(path), bodies, 500, o.concurrency)
		}
	}
	fmt.Fprintf(&report, "### Closed loop: %d rounds × %d requests per server and endpoint, %d connections, alternating\n\n", o.rounds, o.requests, o.concurrency)
	report.WriteString("| endpoint | server | req/s | p50 | p99 | p99.9 | errors |\n|---|---|---:|---:|---:|---:|---:|\n")
	var ratios []string
	for _, path := range []string{"/validate", "/mutate"} {
		totals := map[string]*result{"privateguard": {}, "baseline": {}}
		for r := 0; r < o.rounds; r++ {
			order := []int{0, 1}
			if r%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				totals[servers[i].name].merge(closedLoop(client, servers[i].w.URL(path), bodies, o.requests, o.concurrency))
			}
		}
		for _, s := range servers {
			t := totals[s.name]
			fmt.Fprintf(&report, "| `%s` | %s | %.0f | %s | %s | %s | %d |\n", path, s.name, t.throughput(),
				ms(t.percentile(50)), ms(t.percentile(99)), ms(t.percentile(99.9)), t.errors)
		}
		ratios = append(ratios, fmt.Sprintf("`%s` %.2f", path, totals["privateguard"].throughput()/totals["baseline"].throughput()))
	}
	fmt.Fprintf(&report, "\nThroughput privateguard / baseline: %s.\n\n", strings.Join(ratios, ", "))

	fmt.Fprintf(&report, "### Fixed rate: %d requests/s for %s, latency from when each request was due\n\n", o.rate, o.rateDuration)
	report.WriteString("The large pods (one request in twenty, 229 KB each) set the p99 of the whole mix; the last columns leave them out.\n\n")
	report.WriteString("| endpoint | server | sent | p50 | p99 | p99.9 | errors | p99 without large pods | p99.9 without large pods |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	large := make([]bool, len(entries))
	for i, e := range entries {
		large[i] = e.large
	}
	for _, path := range []string{"/validate", "/mutate"} {
		for _, s := range servers {
			res := fixedRate(client, s.w.URL(path), bodies, o.rate, o.rateDuration, 64)
			small := res.without(large)
			fmt.Fprintf(&report, "| `%s` | %s | %d | %s | %s | %s | %d | %s | %s |\n", path, s.name, res.requests,
				ms(res.percentile(50)), ms(res.percentile(99)), ms(res.percentile(99.9)), res.errors,
				ms(small.percentile(99)), ms(small.percentile(99.9)))
		}
	}

	report.WriteString("\n### Memory (RSS)\n\nRight after load, RSS still holds garbage the next collection frees; compare the servers loosely.\n\n| server | state | RSS |\n|---|---|---:|\n")
	for _, s := range servers {
		fmt.Fprintf(&report, "| %s | after the load above, `--service-accounts=false` | %s |\n", s.name, mib(rss(s.w.Pid())))
	}
	if err := memoryFigures(o, work, certDir, ca.PEM, &report); err != nil {
		return err
	}
	return writeReport(o, stdout, report.String())
}

// memoryFigures adds the figures of the service-account cache, of the background audit
// and of `audit -f` to report, unless -service-accounts, -audit-pods or -manifest-pods
// is 0.
func memoryFigures(o options, work, certDir string, caPEM []byte, report *strings.Builder) error {
	if o.accounts > 0 {
		lines, err := serviceAccountMemory(o, work, certDir)
		if err != nil {
			return fmt.Errorf("memory with %d service accounts: %w", o.accounts, err)
		}
		report.WriteString(lines)
	}
	if err := auditFigure(o, work, certDir, caPEM, report); err != nil {
		return err
	}
	if o.manifestPods > 0 {
		table, err := manifestAuditCost(o, work)
		if err != nil {
			return fmt.Errorf("audit -f of %d pods: %w", o.manifestPods, err)
		}
		report.WriteString(table)
	}
	return nil
}

// auditFigure adds the background audit's figure to report unless -audit-pods is 0.
func auditFigure(o options, work, certDir string, caPEM []byte, report *strings.Builder) error {
	if o.auditPods <= 0 {
		return nil
	}
	line, err := backgroundAuditCost(o, work, certDir, caPEM)
	if err != nil {
		return fmt.Errorf("background audit of %d pods: %w", o.auditPods, err)
	}
	report.WriteString(line)
	return nil
}

// writeReport prints report and writes it to o.out.
func writeReport(o options, stdout io.Writer, report string) error {
	fmt.Fprint(stdout, report)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.out, []byte(report), 0o644)
}

// serviceAccountMemory fills a real API server with service accounts, starts privateguard
// serve against it and reads its RSS once its cache holds them all.
func serviceAccountMemory(o options, work, certDir string) (string, error) {
	cp, err := framework.StartControlPlane(o.binDir, work)
	if err != nil {
		return "", err
	}
	defer cp.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	if err := createServiceAccounts(ctx, cp, o.accounts); err != nil {
		return "", err
	}
	created := time.Since(start)
	pg, err := framework.StartWebhook(framework.WebhookOptions{
		Binary: filepath.Join(o.binDir, "privateguard"), ConfigPath: o.config, CertDir: certDir, Kubeconfig: cp.Kubeconfig,
	})
	if err != nil {
		return "", err
	}
	defer pg.Stop()
	// The server is ready once its cache has listed them all: the peak so far is the
	// list's.
	peak, ready, readyAnon := peakRSS(pg.Pid()), rss(pg.Pid()), statusKiB(pg.Pid(), "RssAnon:")
	time.Sleep(30 * time.Second)
	return fmt.Sprintf("| privateguard | %d service accounts in the API server (created in %s), listed into its cache: **peak RSS until ready** (VmHWM) | **%s** |\n"+
		"| privateguard | the same, once ready | %s (%s of it private: RssAnon) |\n"+
		"| privateguard | the same, 30 s later (peak still %s) | %s (%s private) |\n",
		o.accounts, created.Round(time.Second), mib(peak), mib(ready), mib(readyAnon),
		mib(peakRSS(pg.Pid())), mib(rss(pg.Pid())), mib(statusKiB(pg.Pid(), "RssAnon:"))), nil
}

// rss is the resident set size of pid in KiB, from /proc, 0 when unknown.
func rss(pid int) int { return statusKiB(pid, "VmRSS:") }

// peakRSS is the process's peak resident set (VmHWM) in KiB, 0 when unknown.
func peakRSS(pid int) int { return statusKiB(pid, "VmHWM:") }

// statusKiB is a field of /proc/pid/status in KiB (RssAnon: the private memory, without
// the pages of the binary the kernel can drop and read again), 0 when unknown.
func statusKiB(pid int, field string) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

func corpusNames(entries []corpusEntry) string {
	count := map[string]int{}
	var names []string
	for _, e := range entries {
		if count[e.name] == 0 {
			names = append(names, e.name)
		}
		count[e.name]++
	}
	for i, n := range names {
		names[i] = fmt.Sprintf("%d× %s", count[n], n)
	}
	return strings.Join(names, "; ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func mib(kib int) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
