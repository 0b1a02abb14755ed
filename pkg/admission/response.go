package admission

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/policy"
)

// maxListed bounds what one response lists: the messages of a denial, the warnings and
// audit annotations of findings in audit mode, and their log lines. The API server keeps
// about 4 KiB of warnings per response anyway, and a pod with a thousand bad containers
// needs twenty examples, not a thousand; metrics still count every finding.
const maxListed = 20

// validationResponse answers /validate from the violations left in the object: denied
// (403) with every enforced violation in one message, and each violation in audit mode
// reported as a warning, an audit annotation, a log line and a metric.
func validationResponse(ctx context.Context, violations []policy.Violation, warnings []policy.Warning) admission.Response {
	log := logf.FromContext(ctx)
	report := newAuditReport(log)
	var denied []string
	var deniedRules []string
	for i := range violations {
		v := &violations[i]
		metrics.Violations.WithLabelValues(string(v.Rule), string(v.Mode)).Inc()
		if v.Mode == policy.ModeAudit {
			report.add(v.Rule, v.Path, v.Message)
			continue
		}
		// Anything but audit denies: an unexpected mode fails closed.
		denied = append(denied, v.Message)
		deniedRules = appendOnce(deniedRules, string(v.Rule))
	}
	resp := admission.Allowed("")
	if len(denied) > 0 {
		resp = admission.Denied(joinListed(denied, "violations"))
		log.Info("denied", keyRules, deniedRules, keyCount, len(denied))
	}
	report.addWarnings(warnings)
	report.addTo(&resp)
	return resp
}

// mutationResponse answers /mutate: the enforced changes as a JSON patch, and each change
// of a rule in audit mode as a warning saying what would change.
func mutationResponse(ctx context.Context, spec *corev1.PodSpec, changes []policy.Change, warnings []policy.Warning) admission.Response {
	log := logf.FromContext(ctx)
	ops, err := podPatch(spec, changes)
	if err != nil {
		log.Error(err, "cannot build the patch")
		return admission.Errored(http.StatusInternalServerError, errInternal)
	}
	report := newAuditReport(log)
	var rules []string
	for i := range changes {
		ch := &changes[i]
		if ch.Mode == policy.ModeEnforce {
			metrics.Mutations.WithLabelValues(string(ch.Rule)).Inc()
			rules = appendOnce(rules, string(ch.Rule))
			continue
		}
		metrics.AuditedMutations.WithLabelValues(string(ch.Rule)).Inc()
		report.add(ch.Rule, ch.Path, wouldChange(spec, ch))
	}
	resp := admission.Allowed("")
	if len(ops) > 0 {
		resp = admission.Patched("", ops...)
		log.Info("patched", keyRules, rules, keyCount, len(ops))
	}
	report.addWarnings(warnings)
	report.addTo(&resp)
	return resp
}

// wouldChange says what an audited change would do, in the words of the rule messages:
// what, where, and the rule id last.
func wouldChange(spec *corev1.PodSpec, ch *policy.Change) string {
	c, _ := containerAt(spec, ch.Container)
	switch ch.Kind {
	case policy.SetImage:
		return fmt.Sprintf("would rewrite image %s (%s) to %s [%s]",
			strconv.Quote(ch.From), ch.Path, strconv.Quote(ch.To), ch.Rule)
	case policy.AddEnv:
		return fmt.Sprintf("would add env %s=%s to container %s (%s) [%s]",
			ch.EnvName, ch.To, strconv.Quote(c.name), ch.Path, ch.Rule)
	default:
		return fmt.Sprintf("would append arg %s to container %s (%s) [%s]",
			strconv.Quote(ch.To), strconv.Quote(c.name), ch.Path, ch.Rule)
	}
}

// auditReport collects the findings of rules in audit mode. Each becomes a warning (which
// kubectl prints), an audit annotation <rule>.<n> (the API server prefixes the webhook's
// name, giving keys such as validate.privateguard.io/image-registry.1) and a log line.
type auditReport struct {
	log         logr.Logger
	warnings    []string
	annotations map[string]string
	perRule     map[policy.RuleID]int
	total       int
}

func newAuditReport(log logr.Logger) *auditReport {
	return &auditReport{log: log}
}

func (r *auditReport) add(rule policy.RuleID, path *field.Path, message string) {
	r.total++
	if r.total > maxListed {
		return
	}
	if r.annotations == nil {
		r.annotations = map[string]string{}
		r.perRule = map[policy.RuleID]int{}
	}
	r.perRule[rule]++
	r.warnings = append(r.warnings, message)
	r.annotations[string(rule)+"."+strconv.Itoa(r.perRule[rule])] = message
	r.log.Info("audit finding", keyRule, rule, keyMode, policy.ModeAudit, keyPath, path.String())
}

// addWarnings adds the engine's warnings: answered as warnings too, but they are not
// findings of a rule in audit mode, so they get no audit annotation.
func (r *auditReport) addWarnings(warnings []policy.Warning) {
	for i := range warnings {
		r.total++
		if r.total > maxListed {
			continue
		}
		r.warnings = append(r.warnings, warnings[i].Message)
		r.log.Info("warning", keyRule, warnings[i].Rule, keyPath, warnings[i].Path.String())
	}
}

// addTo puts the findings in resp, with one more line saying how many were left out.
func (r *auditReport) addTo(resp *admission.Response) {
	if r.total == 0 {
		return
	}
	if more := r.total - maxListed; more > 0 {
		msg := fmt.Sprintf("%d more audit findings not listed", more)
		r.warnings = append(r.warnings, msg)
		if r.annotations == nil {
			r.annotations = map[string]string{}
		}
		r.annotations["truncated"] = msg
		r.log.Info("audit findings not listed", keyCount, more)
	}
	resp.Warnings = append(resp.Warnings, r.warnings...)
	resp.AuditAnnotations = r.annotations
}

// joinListed joins up to maxListed messages, one per line, and says how many more there
// are. A message already says what, where, how to fix it, and its rule.
func joinListed(msgs []string, noun string) string {
	if len(msgs) > maxListed {
		more := len(msgs) - maxListed
		msgs = append(msgs[:maxListed:maxListed], fmt.Sprintf("and %d more %s", more, noun))
	}
	return strings.Join(msgs, "\n")
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
