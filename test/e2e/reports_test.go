//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/privateguard/privateguard/pkg/backgroundaudit"
	"github.com/privateguard/privateguard/test/framework"
)

// Scenario 13b: with the chart's OpenReports Report CRD installed, a replica started with
// --background-audit-interval takes the Lease and writes, namespace by namespace, the
// findings `privateguard audit --cluster` prints.
func TestBackgroundAuditWritesTheReportsAuditPrints(t *testing.T) {
	// What audit --cluster prints, as (namespace kind/name rule result) lines.
	configPath := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(configPath, suite.PolicyYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx(t), filepath.Join(suite.repo, "bin", "privateguard"), "audit",
		"--config", configPath, "--cluster", "--kubeconfig", suite.ControlPlane.Kubeconfig, "-o", "json")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("audit --cluster: %v\n%s", err, out)
	}
	var report struct {
		Results []struct {
			Kind, Namespace, Name string
			Violations            []struct{ Rule, Mode string }
			Mutations             []struct{ Rule, Mode string }
			Warnings              []struct{ Rule string }
			Exempt                []struct{ Rule string }
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("audit --cluster -o json: %v\n%s", err, out)
	}
	var want []string
	for _, r := range report.Results {
		line := func(rule, result string) {
			want = append(want, r.Namespace+" "+r.Kind+"/"+r.Name+" "+rule+" "+result)
		}
		for _, v := range r.Violations {
			line(v.Rule, map[string]string{"enforce": "fail", "audit": "warn"}[v.Mode])
		}
		for _, m := range r.Mutations {
			if m.Mode == "audit" {
				line(m.Rule, "warn")
			}
		}
		for _, w := range r.Warnings {
			line(w.Rule, "warn")
		}
		for _, x := range r.Exempt {
			line(x.Rule, "skip")
		}
	}
	slices.Sort(want)
	if !slices.Contains(want, "e2e-preexisting Pod/legacy image-registry fail") {
		t.Fatalf("audit --cluster does not find the pre-existing public-image pod: %v", want)
	}

	// A second replica, with the background audit: it holds the Lease alone.
	audited, err := framework.StartWebhook(framework.WebhookOptions{
		Binary: filepath.Join(suite.repo, "bin", "privateguard"), ConfigPath: configPath, CertDir: suite.TLS.Dir,
		Kubeconfig: suite.ControlPlane.Kubeconfig,
		ExtraArgs:  []string{"--background-audit-interval=1h", "--background-audit-namespace=" + releaseNamespace},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audited.Stop() })
	passes := regexp.MustCompile(`(?m)^privateguard_background_audit_runs_total\{result="(success|error)"\} (\d+)`)
	deadline := time.Now().Add(90 * time.Second)
	for {
		text, err := audited.Metrics(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		done := map[string]int{}
		for _, m := range passes.FindAllStringSubmatch(text, -1) {
			done[m[1]], _ = strconv.Atoi(m[2])
		}
		if done["error"] > 0 {
			t.Fatalf("the background audit failed:\n%s", tail(audited.Logs(), 4<<10))
		}
		if done["success"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no background audit pass within 90s:\n%s", tail(audited.Logs(), 4<<10))
		}
		time.Sleep(200 * time.Millisecond)
	}

	lease, err := suite.Clientset().CoordinationV1().Leases(releaseNamespace).Get(ctx(t), backgroundaudit.DefaultLeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		t.Errorf("the Lease %s/%s: %v, %+v", releaseNamespace, backgroundaudit.DefaultLeaseName, err, lease)
	}

	list, err := suite.Dynamic().Resource(reportsv1alpha1.SchemeGroupVersion.WithResource("reports")).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, item := range list.Items {
		var rep reportsv1alpha1.Report
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Name != backgroundaudit.ReportName || rep.Labels[backgroundaudit.ManagedByLabel] != backgroundaudit.ManagedByValue {
			t.Errorf("unexpected Report %s/%s labelled %v", rep.Namespace, rep.Name, rep.Labels)
			continue
		}
		if rep.Annotations[backgroundaudit.OmittedAnnotation] != "0" {
			t.Errorf("Report %s left results out: %v", rep.Namespace, rep.Annotations)
		}
		var sum reportsv1alpha1.ReportSummary
		for _, r := range rep.Results {
			s := r.Subjects[0]
			got = append(got, rep.Namespace+" "+s.Kind+"/"+s.Name+" "+r.Rule+" "+string(r.Result))
			if r.Source != "privateguard" || r.Policy != "privateguard" || r.Description == "" || s.UID == "" {
				t.Errorf("Report %s: result %+v lacks its source, policy, message or subject UID", rep.Namespace, r)
			}
			switch r.Result {
			case "fail":
				sum.Fail++
			case "warn":
				sum.Warn++
			case "skip":
				sum.Skip++
			}
		}
		if rep.Summary != sum {
			t.Errorf("Report %s: summary %+v, its results count %+v", rep.Namespace, rep.Summary, sum)
		}
	}
	slices.Sort(got)
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("the Reports hold:\n%s\n\naudit --cluster prints:\n%s", g, w)
	}
	t.Logf("%d Reports, %d results", len(list.Items), len(got))
}
