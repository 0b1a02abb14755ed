package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// compiledException is an Exception checked and ready to match.
type compiledException struct {
	name       string
	namespaces []string
	kinds      []string // nil: every kind
	names      []string // nil: every name
	rules      ruleSet
	reason     string
	expires    time.Time // zero: never
}

// ruleSet is a set of rules, indexed like Rules.
type ruleSet [len(Rules)]bool

// subject is what an exception matches an object by.
type subject struct {
	kind, name string
	// owners are the names of the object's direct owners (a pod's ReplicaSet).
	owners []string
}

// subjectOf is the subject of an object of kind: its name (its generateName prefix while
// the API server has not named it yet) and its direct owners' names. Nil when the policy
// has no exceptions: nothing is built on the hot path for them.
func (p *Policy) subjectOf(kind string, meta *metav1.ObjectMeta) *subject {
	if len(p.exceptions) == 0 {
		return nil
	}
	s := &subject{kind: kind, name: meta.Name}
	if s.name == "" {
		s.name = meta.GenerateName
	}
	for _, ref := range meta.OwnerReferences {
		s.owners = append(s.owners, ref.Name)
	}
	return s
}

// expiryDateLayout is how Exception.Expires is written.
const expiryDateLayout = "2006-01-02"

// compileExceptions checks every exception, naming the field of each problem.
func (p *Policy) compileExceptions(exceptions []Exception, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]int{}
	for i, ex := range exceptions {
		ep := fp.Index(i)
		ce := compiledException{name: ex.Name, namespaces: ex.Namespaces, kinds: ex.Kinds, names: ex.Names, reason: strings.TrimSpace(ex.Reason)}
		switch j, dup := seen[ex.Name]; {
		case ex.Name == "":
			errs = append(errs, field.Required(ep.Child("name"), "a name for metrics, audit output and logs"))
		case dup:
			errs = append(errs, field.Duplicate(ep.Child("name"), fmt.Sprintf("%s (also exceptions[%d].name)", ex.Name, j)))
		default:
			seen[ex.Name] = i
		}
		if len(ex.Namespaces) == 0 {
			errs = append(errs, field.Required(ep.Child("namespaces"), "the namespaces (globs) the exception applies in"))
		}
		errs = append(errs, checkGlobs(ep.Child("namespaces"), ex.Namespaces)...)
		errs = append(errs, checkGlobs(ep.Child("names"), ex.Names)...)
		for j, k := range ex.Kinds {
			if !judgedKind(k) {
				errs = append(errs, field.NotSupported(ep.Child("kinds").Index(j), k, judgedKindNames()))
			}
		}
		if len(ex.Rules) == 0 {
			errs = append(errs, field.Required(ep.Child("rules"), "the rules the exception waives"))
		}
		for j, id := range ex.Rules {
			if idx := id.index(); idx < 0 {
				errs = append(errs, notSupportedRule(ep.Child("rules").Index(j), id))
			} else {
				ce.rules[idx] = true
			}
		}
		if ce.reason == "" {
			errs = append(errs, field.Required(ep.Child("reason"), "why the rules are waived, for whoever reads the audit"))
		}
		if ex.Expires != "" {
			t, err := time.Parse(expiryDateLayout, ex.Expires)
			if err != nil {
				errs = append(errs, field.Invalid(ep.Child("expires"), ex.Expires, "not a date such as 2027-03-31"))
			}
			ce.expires = t
		}
		p.exceptions = append(p.exceptions, ce)
	}
	return errs
}

// judgedKind reports whether kind names a kind the engine judges.
func judgedKind(kind string) bool {
	for i := range Kinds {
		if Kinds[i].Role != RoleFact && Kinds[i].GVK.Kind == kind {
			return true
		}
	}
	return false
}

func judgedKindNames() []string {
	var out []string
	for i := range Kinds {
		if Kinds[i].Role != RoleFact {
			out = append(out, Kinds[i].GVK.Kind)
		}
	}
	return out
}

// expired reports whether the exception no longer applies at now: from 00:00 UTC of its
// expiry date.
func (ex *compiledException) expired(now time.Time) bool {
	return !ex.expires.IsZero() && !now.Before(ex.expires)
}

// matches reports whether the exception waives rule for s in namespace at now.
func (ex *compiledException) matches(rule RuleID, namespace string, s *subject, now time.Time) bool {
	if !ex.rules[rule.index()] || ex.expired(now) || !matchAny(ex.namespaces, namespace) {
		return false
	}
	if ex.kinds != nil && !slices.Contains(ex.kinds, s.kind) {
		return false
	}
	if ex.names == nil || matchAny(ex.names, s.name) {
		return true
	}
	for _, owner := range s.owners {
		if matchAny(ex.names, owner) {
			return true
		}
	}
	return false
}

// Exemption is a violation an exception waived: reported, never silent.
type Exemption struct {
	Rule RuleID
	// Exception is the name of the exception, Reason its reason.
	Exception, Reason string
	// Path and Message are those of the waived violation.
	Path    *field.Path
	Message string
}

// MarshalJSON writes the exemption as the audit report shows it.
func (x Exemption) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rule      RuleID `json:"rule"`
		Exception string `json:"exception"`
		Reason    string `json:"reason"`
		Path      string `json:"path"`
		Message   string `json:"message"`
	}{x.Rule, x.Exception, x.Reason, x.Path.String(), x.Message})
}

// applyExceptions moves the violations an exception waives for s from d.Violations to
// d.Exempt. Changes are never waived.
func (p *Policy) applyExceptions(d *Decision, namespace string, s *subject, now time.Time) {
	if len(p.exceptions) == 0 || len(d.Violations) == 0 || s == nil {
		return
	}
	var kept []Violation // allocated at the first waived violation only
	for i, v := range d.Violations {
		ex := p.exceptionFor(v.Rule, namespace, s, now)
		switch {
		case ex != nil:
			if kept == nil {
				kept = append(make([]Violation, 0, len(d.Violations)-1), d.Violations[:i]...)
			}
			d.Exempt = append(d.Exempt, Exemption{Rule: v.Rule, Exception: ex.name, Reason: ex.reason, Path: v.Path, Message: v.Message})
		case kept != nil:
			kept = append(kept, v)
		}
	}
	if kept != nil {
		d.Violations = kept
	}
}

func (p *Policy) exceptionFor(rule RuleID, namespace string, s *subject, now time.Time) *compiledException {
	for i := range p.exceptions {
		if p.exceptions[i].matches(rule, namespace, s, now) {
			return &p.exceptions[i]
		}
	}
	return nil
}
