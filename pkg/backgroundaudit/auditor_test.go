package backgroundaudit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/privateguard/privateguard/pkg/policy"
)

type fixedPolicy struct{ p *policy.Policy }

func (f fixedPolicy) Current() *policy.Policy { return f.p }

var _ Policies = fixedPolicy{}

func testPolicy(t *testing.T) Policies {
	t.Helper()
	p, err := policy.Load("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return fixedPolicy{p}
}

// recorder keeps what was recorded.
type recorder struct {
	mu      sync.Mutex
	passes  []Pass
	leading []bool
}

func (r *recorder) ObservePass(p Pass) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.passes = append(r.passes, p)
}

func (r *recorder) ObserveLeading(l bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leading = append(r.leading, l)
}

func (r *recorder) count() (passes int, leading []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.passes), append([]bool(nil), r.leading...)
}

var _ Recorder = (*recorder)(nil)

func pod(namespace, name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("uid-" + namespace + "-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

const (
	ecrImage    = "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1"
	publicImage = "ghcr.io/acme/storefront:2.3.1"
)

var start = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

// newAuditor audits a fake cluster of objs.
func newAuditor(t *testing.T, objs ...runtime.Object) (*Auditor, client.Client, *recorder, *clocktesting.FakeClock) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(NewScheme()).WithRESTMapper(NewRESTMapper()).WithRuntimeObjects(objs...).Build()
	rec := &recorder{}
	clk := clocktesting.NewFakeClock(start)
	// The fake clock does not move by itself: pauses would wait forever.
	a := New(c, testPolicy(t), Options{Interval: time.Hour, PagePause: -1, Recorder: rec, Clock: clk})
	return a, c, rec, clk
}

func getReport(t *testing.T, c client.Client, namespace string) *reportsv1alpha1.Report {
	t.Helper()
	rep := &reportsv1alpha1.Report{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: ReportName}, rep); err != nil {
		t.Fatalf("get the Report of %s: %v", namespace, err)
	}
	return rep
}

func TestPassWritesAReportPerNamespaceWithFindings(t *testing.T) {
	a, c, rec, _ := newAuditor(t,
		pod("shop", "storefront", publicImage),
		pod("shop", "clean", ecrImage),
		pod("legacy-billing", "invoices", publicImage),
		pod("batch", "report-nightly", publicImage),
		pod("clean", "api", ecrImage),
		pod("kube-system", "aws-node", publicImage),
	)
	if err := a.RunPass(context.Background()); err != nil {
		t.Fatal(err)
	}

	shop := getReport(t, c, "shop")
	if len(shop.Results) != 1 {
		t.Fatalf("shop's Report has %d results, want 1: %+v", len(shop.Results), shop.Results)
	}
	got := shop.Results[0]
	if got.Timestamp.Seconds != start.Unix() {
		t.Errorf("timestamp %v, want the pass's start", got.Timestamp)
	}
	got.Timestamp = metav1.Timestamp{}
	if !strings.Contains(got.Description, publicImage) {
		t.Errorf("message %q does not name the image", got.Description)
	}
	got.Description = ""
	want := reportsv1alpha1.ReportResult{
		Source: "privateguard", Policy: "privateguard", Rule: "image-registry", Result: "fail",
		Subjects:   []corev1.ObjectReference{{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "storefront", UID: "uid-shop-storefront"}},
		Properties: map[string]string{"path": "spec.containers[0].image", "image": publicImage, "mode": "enforce"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shop's result (-want +got):\n%s", diff)
	}
	if shop.Summary != (reportsv1alpha1.ReportSummary{Fail: 1}) {
		t.Errorf("shop's summary %+v, want 1 fail", shop.Summary)
	}
	if shop.Source != "privateguard" || shop.Labels[ManagedByLabel] != "privateguard" || shop.Annotations[OmittedAnnotation] != "0" {
		t.Errorf("shop's Report source %q, labels %v, annotations %v", shop.Source, shop.Labels, shop.Annotations)
	}
	if shop.Configuration == nil || shop.Configuration.Limits.MaxResults != DefaultMaxResults {
		t.Errorf("shop's configuration %+v, want maxResults %d", shop.Configuration, DefaultMaxResults)
	}

	if r := getReport(t, c, "legacy-billing").Results; len(r) != 1 || r[0].Result != "warn" || r[0].Properties["mode"] != "audit" {
		t.Errorf("a violation in audit mode: %+v, want one warn result in mode audit", r)
	}
	if r := getReport(t, c, "batch").Results; len(r) != 1 || r[0].Result != "skip" ||
		r[0].Properties["exception"] != "vendor-batch" || r[0].Properties["reason"] == "" {
		t.Errorf("an exempt violation: %+v, want one skip result naming the exception and its reason", r)
	}

	var list reportsv1alpha1.ReportList
	if err := c.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var namespaces []string
	for _, r := range list.Items {
		namespaces = append(namespaces, r.Namespace)
	}
	if got, want := strings.Join(namespaces, " "), "batch legacy-billing shop"; got != want {
		t.Errorf("Reports in %s, want only the namespaces with findings: %s", got, want)
	}

	if len(rec.passes) != 1 || rec.passes[0].Err != nil {
		t.Fatalf("recorded %+v, want one successful pass", rec.passes)
	}
	wantCounts := map[RuleResult]int{{"image-registry", "fail"}: 1, {"image-registry", "warn"}: 1, {"image-registry", "skip"}: 1}
	if diff := cmp.Diff(wantCounts, rec.passes[0].Results); diff != "" {
		t.Errorf("recorded results (-want +got):\n%s", diff)
	}
	if got := rec.passes[0].NamespaceResults[NamespaceResult{"shop", "fail"}]; got != 1 {
		t.Errorf("recorded %d fail results in shop, want 1", got)
	}
}

func TestPassUpdatesReportsInPlace(t *testing.T) {
	a, c, _, clk := newAuditor(t, pod("shop", "storefront", publicImage))
	ctx := context.Background()
	if err := a.RunPass(ctx); err != nil {
		t.Fatal(err)
	}
	first := getReport(t, c, "shop")

	t.Run("a pass that finds the same writes nothing", func(t *testing.T) {
		clk.Step(time.Hour)
		if err := a.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		again := getReport(t, c, "shop")
		if again.ResourceVersion != first.ResourceVersion {
			t.Errorf("resourceVersion %s → %s: the Report was rewritten", first.ResourceVersion, again.ResourceVersion)
		}
	})

	t.Run("a new finding is added, the old one keeps its timestamp", func(t *testing.T) {
		clk.Step(time.Hour)
		if err := c.Create(ctx, pod("shop", "worker", "quay.io/acme/worker:1")); err != nil {
			t.Fatal(err)
		}
		if err := a.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		rep := getReport(t, c, "shop")
		if rep.UID != first.UID {
			t.Error("the Report was replaced, want it updated in place")
		}
		stamps := map[string]int64{}
		for _, r := range rep.Results {
			stamps[r.Subjects[0].Name] = r.Timestamp.Seconds
		}
		want := map[string]int64{"storefront": start.Unix(), "worker": start.Add(2 * time.Hour).Unix()}
		if diff := cmp.Diff(want, stamps); diff != "" {
			t.Errorf("timestamps by pod (-want +got):\n%s", diff)
		}
		if rep.Summary.Fail != 2 {
			t.Errorf("summary %+v, want 2 fail", rep.Summary)
		}
	})

	t.Run("a namespace without findings left gets its Report emptied", func(t *testing.T) {
		for _, name := range []string{"storefront", "worker"} {
			if err := c.Delete(ctx, pod("shop", name, "")); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		rep := getReport(t, c, "shop")
		if len(rep.Results) != 0 || rep.Summary != (reportsv1alpha1.ReportSummary{}) || rep.Annotations[OmittedAnnotation] != "0" {
			t.Errorf("shop's Report: %d results, summary %+v, annotations %v; want it empty", len(rep.Results), rep.Summary, rep.Annotations)
		}
	})
}

func TestReportsHoldAtMostMaxResultsFailFirst(t *testing.T) {
	var objs []runtime.Object
	// Audit-mode findings first in listing order (legacy-* sorts before the fails'
	// names in one namespace is not possible: use names), then more severe ones.
	for i := range DefaultMaxResults + 40 {
		objs = append(objs, pod("shop", fmt.Sprintf("a-%04d", i), publicImage))
	}
	a, c, rec, _ := newAuditor(t, objs...)
	if err := a.RunPass(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep := getReport(t, c, "shop")
	if len(rep.Results) != DefaultMaxResults {
		t.Errorf("%d results, want the cap %d", len(rep.Results), DefaultMaxResults)
	}
	if got := rep.Annotations[OmittedAnnotation]; got != "40" {
		t.Errorf("%s = %q, want 40", OmittedAnnotation, got)
	}
	if rep.Summary.Fail != DefaultMaxResults {
		t.Errorf("summary %+v counts the results held, want %d fail", rep.Summary, DefaultMaxResults)
	}
	if got := rec.passes[0].Results[RuleResult{"image-registry", "fail"}]; got != DefaultMaxResults+40 {
		t.Errorf("recorded %d fail results, want all %d, those left out included", got, DefaultMaxResults+40)
	}
}

func TestTheCapKeepsTheMostSevereResults(t *testing.T) {
	n := &namespaceFindings{}
	add := func(result reportsv1alpha1.Result, name string) {
		n.add(3, finding{result: result, name: name})
	}
	add(ResultSkip, "s1")
	add(ResultWarn, "w1")
	add(ResultWarn, "w2")
	add(ResultFail, "f1") // replaces s1
	add(ResultFail, "f2") // replaces w2
	add(ResultSkip, "s2") // left out
	rep := n.report("shop", 3, start, nil)
	var got []string
	for _, r := range rep.Results {
		got = append(got, string(r.Result)+":"+r.Subjects[0].Name)
	}
	if g, w := strings.Join(got, " "), "fail:f1 fail:f2 warn:w1"; g != w {
		t.Errorf("kept %s, want %s", g, w)
	}
	if rep.Annotations[OmittedAnnotation] != "3" {
		t.Errorf("omitted %s, want 3", rep.Annotations[OmittedAnnotation])
	}
}

func TestAPassWithoutTheReportCRDSaysSoBeforeJudging(t *testing.T) {
	notServed := apierrors.NewNotFound(schema.GroupResource{Group: "openreports.io", Resource: "reports"}, "")
	var listed []string
	base := fake.NewClientBuilder().WithScheme(NewScheme()).WithRESTMapper(NewRESTMapper()).
		WithRuntimeObjects(pod("shop", "storefront", publicImage)).Build()
	c := interceptor.NewClient(base, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			listed = append(listed, fmt.Sprintf("%T", list))
			if list.GetObjectKind().GroupVersionKind().Kind == "ReportList" {
				return notServed
			}
			return c.List(ctx, list, opts...)
		},
	})
	rec := &recorder{}
	a := New(c, testPolicy(t), Options{Interval: time.Hour, PagePause: -1, Recorder: rec})
	err := a.RunPass(context.Background())
	if !errors.Is(err, ErrNoReportCRD) {
		t.Fatalf("RunPass: %v, want ErrNoReportCRD", err)
	}
	if len(listed) != 1 {
		t.Errorf("listed %v, want the Reports only, before any judging", listed)
	}
	if len(rec.passes) != 1 || rec.passes[0].Err == nil {
		t.Errorf("recorded %+v, want one failed pass", rec.passes)
	}
}

func TestAPassWhoseListExpiredRunsAgainOnce(t *testing.T) {
	expired := apierrors.NewResourceExpired("the continue token is too old")
	failures := 0
	base := fake.NewClientBuilder().WithScheme(NewScheme()).WithRESTMapper(NewRESTMapper()).
		WithRuntimeObjects(pod("shop", "storefront", publicImage)).Build()
	c := interceptor.NewClient(base, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, pods := list.(*corev1.PodList); pods && failures == 0 {
				failures++
				return expired
			}
			return c.List(ctx, list, opts...)
		},
	})
	a := New(c, testPolicy(t), Options{Interval: time.Hour, PagePause: -1})
	if err := a.RunPass(context.Background()); err != nil {
		t.Fatalf("RunPass: %v, want the pass run again after the expired list", err)
	}
	if r := getReport(t, c, "shop").Results; len(r) != 1 {
		t.Errorf("shop's Report holds %d results after the second try, want 1", len(r))
	}
}
