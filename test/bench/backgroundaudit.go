package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/privateguard/privateguard/test/framework"
)

// auditNamespaces is how many namespaces the background audit's pods are spread over.
const auditNamespaces = 100

// reportCRD is the chart's copy of the OpenReports Report CRD, relative to the repository
// root `make bench` runs from.
const reportCRD = "deploy/helm/privateguard/files/openreports.io_reports.yaml"

// backgroundAuditCost fills a real API server with o.auditPods pods, three in four on a
// public registry, starts privateguard serve with the background audit against it, and
// reports the first pass's wall time and the process's peak RSS (VmHWM).
//
// Meanwhile it sends /validate a fixed rate of the load test's corpus, and again once the
// pass is over: the admission latency with and without an audit pass running (the audit
// has its own client, rate limit and CPU pauses, and must not be felt by admission).
func backgroundAuditCost(o options, work, certDir string, caPEM []byte) (string, error) {
	cp, err := framework.StartControlPlane(o.binDir, work)
	if err != nil {
		return "", err
	}
	defer cp.Stop()
	if _, err := envtest.InstallCRDs(cp.Config, envtest.CRDInstallOptions{
		Paths: []string{reportCRD}, ErrorIfPathMissing: true,
	}); err != nil {
		return "", fmt.Errorf("install the Report CRD: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	if err := createPods(ctx, cp, o.auditPods); err != nil {
		return "", err
	}
	created := time.Since(start)
	pg, err := framework.StartWebhook(framework.WebhookOptions{
		Binary: filepath.Join(o.binDir, "privateguard"), ConfigPath: o.config, CertDir: certDir, Kubeconfig: cp.Kubeconfig,
		ExtraArgs: []string{"--background-audit-interval=24h", "--background-audit-namespace=default"},
	})
	if err != nil {
		return "", err
	}
	defer pg.Stop()
	idle := rss(pg.Pid())
	entries, err := corpus()
	if err != nil {
		return "", err
	}
	bodies := make([][]byte, len(entries))
	for i, e := range entries {
		bodies[i] = e.body
	}
	client := newClient(caPEM, 8)
	const loadRate, loadFor = 200, 20 * time.Second
	during := fixedRate(client, pg.URL("/validate"), bodies, loadRate, loadFor, 64)
	runs := regexp.MustCompile(`(?m)^privateguard_background_audit_runs_total\{result="(success|error)"\} (\d+)`)
	duration := regexp.MustCompile(`(?m)^privateguard_background_audit_duration_seconds ([0-9.e+]+)`)
	restRequests := regexp.MustCompile(`(?m)^rest_client_requests_total\{[^}]*\} ([0-9.e+]+)`)
	for {
		text, err := pg.Metrics(ctx)
		if err != nil {
			return "", err
		}
		done := map[string]int{}
		for _, m := range runs.FindAllStringSubmatch(text, -1) {
			done[m[1]], _ = strconv.Atoi(m[2])
		}
		if done["error"] > 0 {
			return "", fmt.Errorf("the background audit failed:\n%s", pg.Logs())
		}
		if done["success"] > 0 {
			seconds := 0.0
			if m := duration.FindStringSubmatch(text); m != nil {
				seconds, _ = strconv.ParseFloat(m[1], 64)
			}
			peak := peakRSS(pg.Pid())
			requests := 0.0 // every request of the process's Kubernetes clients: the audit's, and the lookups' few
			for _, m := range restRequests.FindAllStringSubmatch(text, -1) {
				n, _ := strconv.ParseFloat(m[1], 64)
				requests += n
			}
			after := fixedRate(client, pg.URL("/validate"), bodies, loadRate, loadFor, 64)
			pass := time.Duration(seconds * float64(time.Second))
			return fmt.Sprintf("\n### Background audit\n\n%d pods (created in %s) in %d namespaces, three in four on a public registry; "+
				"`privateguard serve --background-audit-interval` against the same API server.\n\n"+
				"| first pass (judged and Reports written) | RSS before the pass | peak RSS (VmHWM) | API requests (all clients) |\n|---:|---:|---:|---:|\n| %s | %s | %s | %.0f |\n\n"+
				"Admission meanwhile: /validate at %d requests/s for %s (the load test's corpus), latency from when each request was due.\n\n"+
				"| /validate | p50 | p99 | p99.9 | errors |\n|---|---:|---:|---:|---:|\n"+
				"| while the pass runs (its first %s) | %s | %s | %s | %d |\n| after the pass | %s | %s | %s | %d |\n",
				o.auditPods, created.Round(time.Second), auditNamespaces, pass.Round(100*time.Millisecond), mib(idle), mib(peak), requests,
				loadRate, loadFor, loadFor,
				ms(during.percentile(50)), ms(during.percentile(99)), ms(during.percentile(99.9)), during.errors,
				ms(after.percentile(50)), ms(after.percentile(99)), ms(after.percentile(99.9)), after.errors), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no background audit pass: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// createPods creates n pods across auditNamespaces namespaces. Without a scheduler they
// stay Pending, which the audit does not mind.
func createPods(ctx context.Context, cp *framework.ControlPlane, n int) error {
	return fill(ctx, cp, "audit", auditNamespaces, n, func(ctx context.Context, cs kubernetes.Interface, ns string, i int) error {
		image := fmt.Sprintf("ghcr.io/acme/app-%d:1.%d", i%50, i%7)
		if i%4 == 0 {
			image = "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1"
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%06d", i), Labels: map[string]string{"app": fmt.Sprintf("app-%d", i%50)}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
		}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create pod %d: %w", i, err)
		}
		return nil
	})
}
