package backgroundaudit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/go-logr/logr"
	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// Policies gives the policy in force (policywatch.Watcher).
type Policies interface {
	Current() *policy.Policy
}

// Recorder records the passes, for metrics.
type Recorder interface {
	// ObservePass records a pass: its start, how long it took, whether it failed, and
	// (when it did not) its findings by rule and result and by namespace and result.
	ObservePass(Pass)
	// ObserveLeading records that this replica now runs the audit (true) or no longer
	// does (false): the findings of its last pass are then another replica's to report.
	ObserveLeading(bool)
}

// Pass is what a pass found, for a Recorder.
type Pass struct {
	Start    time.Time
	Duration time.Duration
	// Err is why the pass failed, nil when it succeeded.
	Err error
	// Results count every finding (those left out of Reports by the cap included) by rule
	// and result, and by namespace and result.
	Results          map[RuleResult]int
	NamespaceResults map[NamespaceResult]int
}

// NamespaceResult is one series of the results of a pass by namespace.
type NamespaceResult struct {
	Namespace string
	Result    string
}

// Options tune the Auditor. The zero value of each field gives its default.
type Options struct {
	// Interval between the starts of two passes. Required for Start.
	Interval time.Duration
	// PageSize is the number of objects per list request. Default audit.DefaultPageSize.
	PageSize int64
	// PagePause is how long the audit sleeps after each page, leaving the CPU to
	// admission. Default 50ms: 100,000 pods in pages of 500 cost 10 s of pauses.
	// Negative: no pause.
	PagePause time.Duration
	// MaxResults caps the results of one Report. Default DefaultMaxResults.
	MaxResults int
	// Logger logs the passes. Default: discard.
	Logger logr.Logger
	// Recorder records the passes. Default: none.
	Recorder Recorder
	// Clock gives the time, for tests. Default: the real clock.
	Clock clock.WithTicker
}

// DefaultPagePause is Options.PagePause's default.
const DefaultPagePause = 50 * time.Millisecond

// Auditor judges the cluster and writes Reports. Its Client must read the kinds of
// policy.Kinds and read and write Reports (see NewScheme); it should be its own, with a
// low rate limit, not admission's.
type Auditor struct {
	client   client.Client
	policies Policies
	opts     Options
}

// New returns an Auditor judging with the policies in force and reading and writing
// through c.
func New(c client.Client, policies Policies, opts Options) *Auditor {
	if opts.PageSize <= 0 {
		opts.PageSize = audit.DefaultPageSize
	}
	if opts.PagePause == 0 {
		opts.PagePause = DefaultPagePause
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Auditor{client: c, policies: policies, opts: opts}
}

// ErrNoReportCRD is returned by a pass when the API server does not serve Reports.
var ErrNoReportCRD = errors.New("the API server does not serve reports.openreports.io/v1alpha1: " +
	"install the OpenReports Report CRD (the chart's reports.installCRDs)")

// RunPass runs one pass, records it, and returns its error. A pass whose list outlived
// its continue token (HTTP 410, a list slower than the API server's compaction) is run
// again once.
func (a *Auditor) RunPass(ctx context.Context) error {
	start := a.opts.Clock.Now()
	f, err := a.pass(ctx, start)
	if err != nil && apierrors.IsResourceExpired(err) && ctx.Err() == nil {
		a.opts.Logger.Info("background audit: the list expired, starting the pass again")
		f, err = a.pass(ctx, a.opts.Clock.Now())
	}
	pass := Pass{Start: start, Duration: a.opts.Clock.Since(start), Err: err}
	if err == nil {
		pass.Results = f.counts
		pass.NamespaceResults = map[NamespaceResult]int{}
		for ns, n := range f.namespaces {
			for sev := range n.held {
				if k := n.held[sev]; k > 0 {
					pass.NamespaceResults[NamespaceResult{ns, string(severities[sev])}] += k
				}
			}
		}
		a.opts.Logger.Info("background audit done", "namespaces", len(f.namespaces), "duration", pass.Duration.Round(time.Millisecond).String())
	} else if ctx.Err() == nil {
		a.opts.Logger.Error(err, "background audit failed")
	}
	if a.opts.Recorder != nil && ctx.Err() == nil {
		a.opts.Recorder.ObservePass(pass)
	}
	return err
}

// pass judges the cluster and writes the Reports.
func (a *Auditor) pass(ctx context.Context, now time.Time) (*findings, error) {
	// Without the Report CRD the pass could only fail at its end: fail first.
	if err := a.client.List(ctx, reportMetadataList(), client.Limit(1)); err != nil {
		return nil, reportError("list Reports", err)
	}
	p := a.policies.Current()
	lister := &audit.ClusterLister{Client: a.client, PageSize: a.opts.PageSize}
	var facts []audit.Resource
	for i := range policy.Kinds {
		if kind := &policy.Kinds[i]; kind.Role == policy.RoleFact {
			err := lister.Walk(ctx, kind, func(page []audit.Resource) error {
				facts = append(facts, page...)
				return a.yield(ctx)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	judgement := audit.NewJudgement(p, facts, "", now)
	f := newFindings(a.opts.MaxResults)
	for i := range policy.Kinds {
		kind := &policy.Kinds[i]
		if kind.Role == policy.RoleFact {
			continue
		}
		err := lister.Walk(ctx, kind, func(page []audit.Resource) error {
			uids := make(map[string]types.UID, len(page))
			for _, r := range page {
				if obj, ok := r.Object.(client.Object); ok {
					uids[obj.GetNamespace()+"/"+obj.GetName()] = obj.GetUID()
				}
			}
			report := judgement.Judge(page)
			for j := range report.Results {
				r := &report.Results[j]
				f.add(r, uids[r.Namespace+"/"+r.Name])
			}
			return a.yield(ctx)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := a.write(ctx, f, now); err != nil {
		return nil, err
	}
	return f, nil
}

// yield leaves the CPU to admission between pages.
func (a *Auditor) yield(ctx context.Context) error {
	runtime.Gosched()
	if a.opts.PagePause < 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-a.opts.Clock.After(a.opts.PagePause):
		return nil
	}
}

// write writes the Report of every namespace with findings, and empties the audit's
// Reports of the other namespaces.
func (a *Auditor) write(ctx context.Context, f *findings, now time.Time) error {
	written := 0
	for _, ns := range f.sortedNamespaces() {
		n := f.namespaces[ns]
		changed, err := a.writeReport(ctx, ns, func(previous *reportsv1alpha1.Report) *reportsv1alpha1.Report {
			return n.report(ns, a.opts.MaxResults, now, previous)
		})
		if err != nil {
			return err
		}
		n.release()
		if changed {
			written++
		}
	}
	emptied := 0
	// Metadata only: the Reports as they stand can hold 1,000 results each, and all that is
	// needed here is which namespaces have one.
	list := reportMetadataList()
	opts := []client.ListOption{client.MatchingLabels{ManagedByLabel: ManagedByValue}, client.Limit(a.opts.PageSize)}
	for {
		if err := a.client.List(ctx, list, opts...); err != nil {
			return reportError("list the privateguard Reports", err)
		}
		for i := range list.Items {
			rep := &list.Items[i]
			if rep.Name != ReportName || f.namespaces[rep.Namespace] != nil {
				continue
			}
			ns := rep.Namespace
			changed, err := a.writeReport(ctx, ns, func(*reportsv1alpha1.Report) *reportsv1alpha1.Report {
				return emptyReport(ns, a.opts.MaxResults)
			})
			if err != nil {
				return err
			}
			if changed {
				emptied++
			}
		}
		if list.Continue == "" {
			break
		}
		opts = append(opts[:2], client.Continue(list.Continue))
	}
	a.opts.Logger.V(1).Info("background audit reports written", "changed", written, "emptied", emptied)
	return nil
}

// reportMetadataList is a list of Reports' metadata.
func reportMetadataList() *metav1.PartialObjectMetadataList {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(reportsv1alpha1.SchemeGroupVersion.WithKind("ReportList"))
	return list
}

// writeReport makes namespace ns's Report what desired returns, given the Report as it
// stands (nil when there is none): created, or updated in place when it differs, with
// retries on conflicts. changed is false when it already was.
func (a *Auditor) writeReport(ctx context.Context, ns string, desired func(previous *reportsv1alpha1.Report) *reportsv1alpha1.Report) (changed bool, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		changed = false
		current := &reportsv1alpha1.Report{}
		err := a.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ReportName}, current)
		if apierrors.IsNotFound(err) {
			want := desired(nil)
			if err := a.client.Create(ctx, want); err != nil {
				if namespaceGone(err) {
					return nil // its objects are going too: nothing to report
				}
				if apierrors.IsAlreadyExists(err) {
					// Another writer was first: a conflict, to be retried as an update.
					return apierrors.NewConflict(schema.GroupResource{Group: reportsv1alpha1.GroupName, Resource: "reports"}, ReportName, err)
				}
				return err
			}
			changed = true
			return nil
		}
		if err != nil {
			return err
		}
		want := desired(current)
		if sameReport(current, want) {
			return nil
		}
		updated := current.DeepCopy()
		if updated.Labels == nil {
			updated.Labels = map[string]string{}
		}
		for k, v := range want.Labels {
			updated.Labels[k] = v
		}
		if updated.Annotations == nil {
			updated.Annotations = map[string]string{}
		}
		for k, v := range want.Annotations {
			updated.Annotations[k] = v
		}
		updated.Source, updated.Scope, updated.ScopeSelector = want.Source, nil, nil
		updated.Configuration, updated.Summary, updated.Results = want.Configuration, want.Summary, want.Results
		if err := a.client.Update(ctx, updated); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, reportError(fmt.Sprintf("write the Report %s/%s", ns, ReportName), err)
	}
	return changed, nil
}

// sameReport reports whether current already says what want says.
func sameReport(current, want *reportsv1alpha1.Report) bool {
	for k, v := range want.Labels {
		if current.Labels[k] != v {
			return false
		}
	}
	for k, v := range want.Annotations {
		if current.Annotations[k] != v {
			return false
		}
	}
	return current.Source == want.Source && current.Scope == nil && current.ScopeSelector == nil &&
		equality.Semantic.DeepEqual(current.Configuration, want.Configuration) &&
		current.Summary == want.Summary &&
		len(current.Results) == len(want.Results) &&
		(len(want.Results) == 0 || equality.Semantic.DeepEqual(current.Results, want.Results))
}

// namespaceGone reports whether err says the namespace of the object is deleted or being
// deleted.
func namespaceGone(err error) bool {
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	details := status.Status().Details
	return details != nil && details.Kind == "namespaces"
}

// reportError wraps err, naming the missing CRD when that is the cause.
func reportError(what string, err error) error {
	if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w: %w", what, ErrNoReportCRD, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
