package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/privateguard/privateguard/pkg/backgroundaudit"
)

func TestBackgroundAuditRecorder(t *testing.T) {
	var r BackgroundAuditRecorder
	start := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	successes := testutil.ToFloat64(BackgroundAuditRuns.WithLabelValues(AuditSuccess))
	failures := testutil.ToFloat64(BackgroundAuditRuns.WithLabelValues(AuditError))

	r.ObservePass(backgroundaudit.Pass{
		Start: start, Duration: 90 * time.Second,
		Results:          map[backgroundaudit.RuleResult]int{{Rule: "image-registry", Result: "fail"}: 3},
		NamespaceResults: map[backgroundaudit.NamespaceResult]int{{Namespace: "shop", Result: "fail"}: 3},
	})
	if got := testutil.ToFloat64(BackgroundAuditLastSuccess); got != float64(start.Add(90*time.Second).Unix()) {
		t.Errorf("last success %v, want the end of the pass", got)
	}
	if got := testutil.ToFloat64(BackgroundAuditDuration); got != 90 {
		t.Errorf("duration %v, want 90", got)
	}
	if got := testutil.ToFloat64(BackgroundAuditResults.WithLabelValues("image-registry", "fail")); got != 3 {
		t.Errorf("results{image-registry, fail} = %v, want 3", got)
	}
	if got := testutil.ToFloat64(BackgroundAuditNamespaceResults.WithLabelValues("shop", "fail")); got != 3 {
		t.Errorf("namespace results{shop, fail} = %v, want 3", got)
	}

	t.Run("a failed pass keeps the last success and the findings", func(t *testing.T) {
		r.ObservePass(backgroundaudit.Pass{Start: start.Add(time.Hour), Duration: time.Second, Err: errors.New("boom")})
		if got := testutil.ToFloat64(BackgroundAuditLastSuccess); got != float64(start.Add(90*time.Second).Unix()) {
			t.Errorf("last success %v moved on a failure", got)
		}
		if testutil.CollectAndCount(BackgroundAuditResults) != 1 {
			t.Error("the findings of the last successful pass were dropped")
		}
		if got := testutil.ToFloat64(BackgroundAuditRuns.WithLabelValues(AuditSuccess)) - successes; got != 1 {
			t.Errorf("%v successes counted, want 1", got)
		}
		if got := testutil.ToFloat64(BackgroundAuditRuns.WithLabelValues(AuditError)) - failures; got != 1 {
			t.Errorf("%v failures counted, want 1", got)
		}
	})

	t.Run("a replica that loses the Lease drops its findings", func(t *testing.T) {
		r.ObserveLeading(false)
		if n := testutil.CollectAndCount(BackgroundAuditResults) + testutil.CollectAndCount(BackgroundAuditNamespaceResults); n != 0 {
			t.Errorf("%d series left, want none: the new holder reports them", n)
		}
	})
}
