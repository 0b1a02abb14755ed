package policy

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Decision is the engine's answer for one object: the changes the mutating rules make (or,
// in audit mode, would make) and the violations of the validating rules.
type Decision struct {
	// Changes in the order they apply. Only those in ModeEnforce are applied; the others
	// are reported.
	Changes []Change
	// Violations found, at most one per image and rule per container.
	Violations []Violation
	// Warnings are what the user must know although nothing is denied: a pinned digest
	// a pull-through cache cannot fill, a move across partitions, an annotation
	// overridden. Admission answers them as warnings.
	Warnings []Warning
	// Exempt are the violations exceptions waived: not in Violations, not denied, not
	// warned about, but reported by audit and counted by admission.
	Exempt []Exemption
}

// Allowed reports whether admission lets the object in: no violation is enforced.
func (d *Decision) Allowed() bool {
	for i := range d.Violations {
		if d.Violations[i].Mode == ModeEnforce {
			return false
		}
	}
	return true
}

// Enforced returns the changes that are applied (mode enforce), in order.
func (d *Decision) Enforced() []Change {
	var out []Change
	for _, c := range d.Changes {
		if c.Mode == ModeEnforce {
			out = append(out, c)
		}
	}
	return out
}

// ChangeKind says which field of a container a Change touches.
type ChangeKind int

const (
	// SetImage replaces the container's image.
	SetImage ChangeKind = iota
	// AddEnv appends an environment variable to the container's env.
	AddEnv
	// AddArg appends an argument to the container's args.
	AddArg
)

// ContainerList names a container list of a pod spec, as in its JSON.
type ContainerList string

// The three container lists of a pod spec.
const (
	InitContainers      ContainerList = "initContainers"
	Containers          ContainerList = "containers"
	EphemeralContainers ContainerList = "ephemeralContainers"
)

// ContainerRef locates a container in its pod spec.
type ContainerRef struct {
	List  ContainerList
	Index int
}

// Change is one mutation of one container field.
type Change struct {
	Rule RuleID
	Mode Mode
	Kind ChangeKind
	// Container is the container changed.
	Container ContainerRef
	// Path is the field changed: ...image for SetImage, ...env or ...args for additions.
	Path *field.Path
	// From is the previous image for SetImage, empty for additions.
	From string
	// To is the new image, the value of the added variable, or the added argument.
	To string
	// EnvName is the name of the added variable for AddEnv.
	EnvName string
}

// Description is the change as one line: from → to, or the added value.
func (c *Change) Description() string {
	switch c.Kind {
	case SetImage:
		return "image " + quote(c.From) + " → " + quote(c.To)
	case AddEnv:
		return "env " + c.EnvName + "=" + c.To
	default:
		return "arg " + c.To
	}
}

// to is the new value as reported: the image, NAME=value, or the argument.
func (c *Change) to() string {
	if c.Kind == AddEnv {
		return c.EnvName + "=" + c.To
	}
	return c.To
}

// MarshalJSON writes the change as the audit report shows it.
func (c Change) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rule RuleID `json:"rule"`
		Mode Mode   `json:"mode"`
		Path string `json:"path"`
		From string `json:"from"`
		To   string `json:"to"`
	}{c.Rule, c.Mode, c.Path.String(), c.From, c.to()})
}

// Violation is one finding of a validating rule.
type Violation struct {
	Rule RuleID
	Mode Mode
	// Path is the field at fault, such as spec.containers[1].image.
	Path *field.Path
	// Image is the image concerned, as written in the object, if any.
	Image string
	// Message says what is wrong, where, and how to fix it, and ends with the rule id.
	Message string
}

// MarshalJSON writes the violation as the audit report shows it.
func (v Violation) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rule    RuleID `json:"rule"`
		Mode    Mode   `json:"mode"`
		Path    string `json:"path"`
		Image   string `json:"image,omitempty"`
		Message string `json:"message"`
	}{v.Rule, v.Mode, v.Path.String(), v.Image, v.Message})
}

// Warning is something the user must know about an object that is admitted.
type Warning struct {
	Rule RuleID
	// Path is the field concerned.
	Path *field.Path
	// Image is the image concerned, as written in the object, if any.
	Image string
	// Message says what, where and what to do, and ends with the rule id.
	Message string
}

// MarshalJSON writes the warning as the audit report shows it.
func (w Warning) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rule    RuleID `json:"rule"`
		Path    string `json:"path"`
		Image   string `json:"image,omitempty"`
		Message string `json:"message"`
	}{w.Rule, w.Path.String(), w.Image, w.Message})
}
