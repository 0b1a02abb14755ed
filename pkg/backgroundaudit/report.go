package backgroundaudit

import (
	"sort"
	"strconv"
	"time"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// The Reports the audit writes.
const (
	// ReportName is the name of the Report in each namespace.
	ReportName = "privateguard"
	// Source is the report's and each result's source, and each result's policy.
	Source = "privateguard"
	// ManagedByLabel marks the Reports the audit writes, so that it finds them again to
	// empty those of namespaces without findings.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "privateguard"
	// OmittedAnnotation is the number of results left out of the Report by the cap
	// (MaxResults); "0" when none. The Report type has no field for it.
	OmittedAnnotation = "privateguard.io/results-omitted"
	// DefaultMaxResults is the cap of results per Report: a Report is one etcd object
	// (1.5 MiB at most), and 1,000 results of a few hundred bytes fit well under it.
	DefaultMaxResults = 1000
)

// The properties of a result.
const (
	PropertyPath      = "path"
	PropertyImage     = "image"
	PropertyMode      = "mode"
	PropertyException = "exception"
	PropertyReason    = "reason"
)

// Result values, as OpenReports spells them.
const (
	ResultFail = reportsv1alpha1.Result("fail")
	ResultWarn = reportsv1alpha1.Result("warn")
	ResultSkip = reportsv1alpha1.Result("skip")
)

// severities orders the results a Report keeps when it is over the cap: fail first.
var severities = [...]reportsv1alpha1.Result{ResultFail, ResultWarn, ResultSkip}

// RuleResult is one series of the results of a pass: a rule and a result value.
type RuleResult struct {
	Rule   string
	Result string
}

// findings are the results of one pass, one namespaceFindings per namespace with at
// least one finding, and the count of every finding by rule and result (those left out
// of a Report included).
type findings struct {
	max        int
	namespaces map[string]*namespaceFindings
	counts     map[RuleResult]int
	// strings interns the strings findings repeat: the pods of one workload share their
	// messages, paths and images.
	strings map[string]string
}

func newFindings(max int) *findings {
	return &findings{max: max, namespaces: map[string]*namespaceFindings{}, counts: map[RuleResult]int{}, strings: map[string]string{}}
}

// namespaceFindings are the results kept for one namespace's Report, by severity, and
// how many were left out.
type namespaceFindings struct {
	kept    [len(severities)][]finding
	total   int
	omitted int
	// held is how many results of each severity the written Report holds: kept is
	// dropped once it is written.
	held [len(severities)]int
}

// finding is one result as a pass keeps it until its Report is written: without maps,
// with shared strings, since a pass holds up to MaxResults of them per namespace (a
// ReportResult is several times larger).
type finding struct {
	apiVersion, kind, name string
	uid                    types.UID
	rule                   policy.RuleID
	result                 reportsv1alpha1.Result
	mode                   policy.Mode
	message, path, image   string
	exception, reason      string
}

// reportResult is x as a result of namespace ns's Report.
func (x *finding) reportResult(ns string) reportsv1alpha1.ReportResult {
	properties := map[string]string{}
	for k, v := range map[string]string{PropertyPath: x.path, PropertyImage: x.image, PropertyMode: string(x.mode),
		PropertyException: x.exception, PropertyReason: x.reason} {
		if v != "" {
			properties[k] = v
		}
	}
	return reportsv1alpha1.ReportResult{
		Source:      Source,
		Policy:      Source,
		Rule:        string(x.rule),
		Result:      x.result,
		Description: x.message,
		Subjects:    []corev1.ObjectReference{{APIVersion: x.apiVersion, Kind: x.kind, Namespace: ns, Name: x.name, UID: x.uid}},
		Properties:  properties,
	}
}

func (f *findings) intern(s string) string {
	if t, ok := f.strings[s]; ok {
		return t
	}
	f.strings[s] = s
	return s
}

// add records the findings of one judged object.
func (f *findings) add(r *audit.Result, uid types.UID) {
	put := func(x finding) {
		x.apiVersion, x.kind, x.name, x.uid = f.intern(r.APIVersion), f.intern(r.Kind), r.Name, uid
		x.message, x.path, x.image = f.intern(x.message), f.intern(x.path), f.intern(x.image)
		x.exception, x.reason = f.intern(x.exception), f.intern(x.reason)
		f.counts[RuleResult{string(x.rule), string(x.result)}]++
		f.namespace(r.Namespace).add(f.max, x)
	}
	for _, v := range r.Violations {
		result := ResultFail
		if v.Mode != policy.ModeEnforce {
			result = ResultWarn
		}
		put(finding{rule: v.Rule, result: result, mode: v.Mode, message: v.Message, path: v.Path.String(), image: v.Image})
	}
	for _, c := range r.Mutations {
		if c.Mode == policy.ModeEnforce {
			continue
		}
		image := ""
		if c.Kind == policy.SetImage {
			image = c.From
		}
		put(finding{rule: c.Rule, result: ResultWarn, mode: c.Mode, path: c.Path.String(), image: image,
			message: "would change " + c.Path.String() + ": " + c.Description() + " [" + string(c.Rule) + "]"})
	}
	for _, w := range r.Warnings {
		put(finding{rule: w.Rule, result: ResultWarn, message: w.Message, path: w.Path.String(), image: w.Image})
	}
	for _, x := range r.Exempt {
		put(finding{rule: x.Rule, result: ResultSkip, message: x.Message, path: x.Path.String(), exception: x.Exception, reason: x.Reason})
	}
}

func (f *findings) namespace(ns string) *namespaceFindings {
	n := f.namespaces[ns]
	if n == nil {
		n = &namespaceFindings{}
		f.namespaces[ns] = n
	}
	return n
}

// add keeps r if there is room, or if it is more severe than a result kept, which it
// then replaces; what is not kept is counted as omitted.
func (n *namespaceFindings) add(max int, r finding) {
	sev := severityOf(r.result)
	if n.total < max {
		n.kept[sev] = append(n.kept[sev], r)
		n.total++
		return
	}
	n.omitted++
	for less := len(severities) - 1; less > sev; less-- {
		if k := len(n.kept[less]); k > 0 {
			n.kept[less] = n.kept[less][:k-1]
			n.kept[sev] = append(n.kept[sev], r)
			return
		}
	}
}

func severityOf(r reportsv1alpha1.Result) int {
	for i, s := range severities {
		if s == r {
			return i
		}
	}
	return len(severities) - 1
}

// report is the desired Report of namespace ns: its results fail first, each severity in
// listing order. Each result's timestamp is that of the same finding in previous (the
// Report as it stands, nil if none), else now.
func (n *namespaceFindings) report(ns string, max int, now time.Time, previous *reportsv1alpha1.Report) *reportsv1alpha1.Report {
	rep := emptyReport(ns, max)
	rep.Annotations[OmittedAnnotation] = strconv.Itoa(n.omitted)
	seen := map[string]metav1.Timestamp{}
	if previous != nil {
		for i := range previous.Results {
			seen[resultKey(&previous.Results[i])] = previous.Results[i].Timestamp
		}
	}
	stamp := metav1.Timestamp{Seconds: now.Unix()}
	for sev := range n.kept {
		for i := range n.kept[sev] {
			r := n.kept[sev][i].reportResult(ns)
			r.Timestamp = stamp
			if t, ok := seen[resultKey(&r)]; ok {
				r.Timestamp = t
			}
			rep.Results = append(rep.Results, r)
		}
	}
	rep.Summary = summarize(rep.Results)
	return rep
}

// release drops the kept results once the Report is written, keeping their counts.
func (n *namespaceFindings) release() {
	for sev := range n.kept {
		n.held[sev] = len(n.kept[sev])
		n.kept[sev] = nil
	}
}

// emptyReport is the Report of a namespace without findings.
func emptyReport(ns string, max int) *reportsv1alpha1.Report {
	return &reportsv1alpha1.Report{
		TypeMeta: metav1.TypeMeta{APIVersion: reportsv1alpha1.SchemeGroupVersion.String(), Kind: "Report"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   ns,
			Name:        ReportName,
			Labels:      map[string]string{ManagedByLabel: ManagedByValue},
			Annotations: map[string]string{OmittedAnnotation: "0"},
		},
		Source:        Source,
		Configuration: &reportsv1alpha1.ReportConfiguration{Limits: reportsv1alpha1.Limits{MaxResults: max}},
		Results:       []reportsv1alpha1.ReportResult{},
	}
}

// resultKey identifies a finding across passes: the same object, rule, result, field
// and message.
func resultKey(r *reportsv1alpha1.ReportResult) string {
	var subject corev1.ObjectReference
	if len(r.Subjects) > 0 {
		subject = r.Subjects[0]
	}
	return subject.APIVersion + "\x00" + subject.Kind + "\x00" + subject.Name + "\x00" + string(subject.UID) + "\x00" +
		r.Rule + "\x00" + string(r.Result) + "\x00" + r.Properties[PropertyPath] + "\x00" + r.Description
}

func summarize(results []reportsv1alpha1.ReportResult) reportsv1alpha1.ReportSummary {
	var s reportsv1alpha1.ReportSummary
	for i := range results {
		switch results[i].Result {
		case ResultFail:
			s.Fail++
		case ResultWarn:
			s.Warn++
		case ResultSkip:
			s.Skip++
		}
	}
	return s
}

// sortedNamespaces are the namespaces with findings, in order.
func (f *findings) sortedNamespaces() []string {
	out := make([]string, 0, len(f.namespaces))
	for ns := range f.namespaces {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}
