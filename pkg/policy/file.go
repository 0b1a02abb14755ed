package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// APIVersion and FileKind identify a policy file.
const (
	APIVersion = "privateguard.io/v1alpha1"
	FileKind   = "Policy"
)

// File is the policy file as written: YAML or JSON. Load and Parse validate it and compile
// it into a Policy; defaults are those of the comments.
type File struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Region is the cluster's AWS region. Required.
	Region string `json:"region"`
	// Mode is the default mode of every rule. Default enforce.
	Mode Mode `json:"mode,omitempty"`
	// Registries lists where images may come from.
	Registries Registries `json:"registries,omitempty"`
	// Rewrite moves public images to their private mirrors.
	Rewrite Rewrite `json:"rewrite,omitempty"`
	// IRSA configures sts-regional-endpoint's injection.
	IRSA IRSA `json:"irsa,omitempty"`
	// Rules holds per-rule settings, keyed by rule id.
	Rules map[RuleID]RuleSettings `json:"rules,omitempty"`
	// Exclude lists what is never checked.
	Exclude Exclude `json:"exclude,omitempty"`
	// Overrides change modes per namespace; the first match wins.
	Overrides []Override `json:"overrides,omitempty"`
	// Exceptions are admin-owned waivers of rules for some objects, each with a reason.
	Exceptions []Exception `json:"exceptions,omitempty"`
}

// Exception waives rules for the objects it matches: admission allows what only waived
// violations would deny, without a warning, and counts it; audit lists it as exempt.
// Mutations are never waived.
type Exception struct {
	// Name identifies the exception in metrics, audit output and logs. Required, unique.
	Name string `json:"name"`
	// Namespaces are globs. Required.
	Namespaces []string `json:"namespaces"`
	// Kinds limits the exception to these kinds (Pod, Deployment, CronJob, ...). Default:
	// every kind.
	Kinds []string `json:"kinds,omitempty"`
	// Names are globs on the object's name; a pod also matches by its direct owner's name
	// (its ReplicaSet, Job, ...). Default: every name.
	Names []string `json:"names,omitempty"`
	// Rules are the rules waived. Required.
	Rules []RuleID `json:"rules"`
	// Reason says why, for whoever reads the audit. Required.
	Reason string `json:"reason"`
	// Expires is a date, YYYY-MM-DD: from 00:00 UTC that day the exception no longer
	// applies. Default: never.
	Expires string `json:"expires,omitempty"`
}

// Registries lists the registries images may and may not come from.
type Registries struct {
	// Allowed holds registry hosts or host/path prefixes, matched on path-component
	// boundaries.
	Allowed []string `json:"allowed,omitempty"`
	// AllowEKSAddons also allows the EKS add-on registry of the region. Default true.
	AllowEKSAddons *bool `json:"allowEKSAddons,omitempty"`
	// Marketplace holds the AWS Marketplace registries: their images are always a
	// marketplace-image violation and never rewritten. Absent: DefaultMarketplace.
	Marketplace []string `json:"marketplace"`
	// EKSAddonRegistry overrides the built-in EKS add-on registry host of the region, for
	// a region newer than this release. Default: the built-in table.
	EKSAddonRegistry string `json:"eksAddonRegistry,omitempty"`
}

// DefaultMarketplace is the AWS Marketplace registry list used when the policy names none.
var DefaultMarketplace = []string{"709825985650.dkr.ecr.us-east-1.amazonaws.com"}

// Rewrite configures image-rewrite.
type Rewrite struct {
	// Rules map public registries to mirrors; the longest matching From wins.
	Rules []RewriteRule `json:"rules,omitempty"`
	// EKSAddonsToRegion rewrites EKS add-on images of another region to the add-on
	// registry of the cluster's region. Default true.
	EKSAddonsToRegion *bool `json:"eksAddonsToRegion,omitempty"`
	// PinnedDigests says how an image pinned by digest is rewritten to a pull-through
	// cache: keep (default) or dropWhenTagged.
	PinnedDigests PinnedDigests `json:"pinnedDigests,omitempty"`
}

// PinnedDigests says how image-rewrite treats an image pinned by digest when the mirror
// is an ECR pull-through cache, which cannot fill a cold cache from a pull by digest, even
// tag@digest (aws/containers-roadmap#2837).
type PinnedDigests string

const (
	// PinnedDigestsKeep keeps the digest and warns, naming the image and how to warm the
	// cache. The default.
	PinnedDigestsKeep PinnedDigests = "keep"
	// PinnedDigestsDropWhenTagged rewrites tag@digest to the tag, and warns that it did;
	// a digest-only image keeps its digest, with the warning.
	PinnedDigestsDropWhenTagged PinnedDigests = "dropWhenTagged"
)

// RewriteRule rewrites images under From to the same repository path under To.
type RewriteRule struct {
	// From is a registry host or host/path prefix. docker.io, index.docker.io and
	// registry-1.docker.io are one registry.
	From string `json:"from"`
	// To is the mirror: an ECR pull-through-cache prefix, under registries.allowed.
	To string `json:"to"`
	// PullThroughCache says To is an ECR pull-through cache (see PinnedDigests). Default
	// true; false for a mirror the images are copied into.
	PullThroughCache *bool `json:"pullThroughCache,omitempty"`
}

// IRSA configures the injection of sts-regional-endpoint.
type IRSA struct {
	// InjectRegion also sets AWS_REGION and AWS_DEFAULT_REGION to the region where a
	// container sets neither. Default true.
	InjectRegion *bool `json:"injectRegion,omitempty"`
}

// RuleSettings are the settings of one rule.
type RuleSettings struct {
	// Mode of the rule. Default: the policy's mode.
	Mode Mode `json:"mode,omitempty"`
	// Fix lets the mutating webhook append the missing flags. Only for
	// cluster-autoscaler-static-instance-list and lb-controller-waf-shield. Default true.
	Fix *bool `json:"fix,omitempty"`
}

// Exclude lists what no rule looks at.
type Exclude struct {
	// Namespaces are globs: nothing is checked or changed there.
	Namespaces []string `json:"namespaces,omitempty"`
	// Images are globs on the normalized reference (docker.io/library/nginx:1.27) or on the
	// normalized repository (docker.io/library/nginx): allowed by every image rule and
	// never rewritten. `*` does not cross a `/`.
	Images []string `json:"images,omitempty"`
}

// Override changes rule modes in some namespaces.
type Override struct {
	// Namespaces are globs.
	Namespaces []string `json:"namespaces"`
	// Mode is the mode to use there.
	Mode Mode `json:"mode"`
	// Rules limits the override to these rules; empty means every rule.
	Rules []RuleID `json:"rules,omitempty"`
}

// ErrInvalidPolicy is wrapped by every error of Load and Parse about the policy's content.
var ErrInvalidPolicy = errors.New("invalid policy")

// LoadError lists every problem found in a policy file, each with its field path.
type LoadError struct {
	// Source names the file, or is empty.
	Source string
	Errs   field.ErrorList
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("invalid policy")
	if e.Source != "" {
		b.WriteString(" " + e.Source)
	}
	b.WriteString(":")
	for _, err := range e.Errs {
		b.WriteString("\n  " + err.Error())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidPolicy) true.
func (e *LoadError) Unwrap() error { return ErrInvalidPolicy }

// Load reads, validates and compiles the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return ParseFrom(path, data)
}

// Parse validates and compiles a policy file's content (YAML or JSON). All problems are
// reported at once in a *LoadError.
func Parse(data []byte) (*Policy, error) { return ParseFrom("", data) }

// ParseFrom is Parse for the content of the file source, which the *LoadError names: the
// one path by which every policy is loaded (Load, the server's reloads, the CLI).
func ParseFrom(source string, data []byte) (*Policy, error) {
	f, errs := decodeFile(data)
	if f != nil {
		p, verrs := compile(f)
		if errs = append(errs, verrs...); len(errs) == 0 {
			return p, nil
		}
	}
	return nil, &LoadError{Source: source, Errs: errs}
}

// decodeFile decodes a policy file strictly, as the API server decodes objects
// (sigs.k8s.io/json): every unknown or duplicate field is an error naming its path. The
// File is nil when the content cannot be decoded at all.
func decodeFile(data []byte) (*File, field.ErrorList) {
	// YAMLToJSONStrict rejects a key set twice in a YAML mapping (naming its line), which
	// the JSON conversion would otherwise drop silently.
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(nil, nil, "not YAML or JSON: "+err.Error())}
	}
	if trimmed := bytes.TrimSpace(jsonData); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, field.ErrorList{field.Invalid(nil, nil, "a policy file must be a YAML or JSON object")}
	}
	var f File
	strict, err := sigsjson.UnmarshalStrict(jsonData, &f)
	if err != nil {
		return nil, field.ErrorList{decodeError(err)}
	}
	var errs field.ErrorList
	for _, serr := range strict {
		errs = append(errs, strictError(serr))
	}
	return &f, errs
}

// strictError turns an unknown or duplicate field reported by sigs.k8s.io/json into a
// field error on that field; an unknown field lists the known ones.
func strictError(err error) *field.Error {
	var fe sigsjson.FieldError
	if !errors.As(err, &fe) {
		return field.Invalid(nil, nil, err.Error())
	}
	if strings.Contains(err.Error(), "duplicate field") {
		return &field.Error{Type: field.ErrorTypeDuplicate, Field: fe.FieldPath(), BadValue: "", Detail: "the field is set twice"}
	}
	detail := "unknown field"
	if known := knownFields(fe.FieldPath()); len(known) > 0 {
		detail += " (known: " + strings.Join(known, ", ") + ")"
	}
	return &field.Error{Type: field.ErrorTypeForbidden, Field: fe.FieldPath(), Detail: detail}
}

// knownFields lists the fields of the object that holds the field at path (such as
// rewrite.rules[0].into): those the File type has there.
func knownFields(path string) []string {
	t := reflect.TypeFor[File]()
	parts := strings.Split(path, ".")
	for _, part := range parts[:len(parts)-1] {
		name, index, _ := strings.Cut(part, "[")
		f, ok := jsonField(t, name)
		if !ok {
			return nil
		}
		t = f
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if index != "" && (t.Kind() == reflect.Slice || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// jsonField is the type of the field of struct t that JSON names name.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := 0; i < t.NumField(); i++ {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); n == name {
			return t.Field(i).Type, true
		}
	}
	return nil, false
}

// decodeError turns a JSON type error into a field error on the field it names.
func decodeError(err error) *field.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if te.Type == reflect.TypeFor[Mode]() {
			return notSupportedMode(field.NewPath(te.Field), Mode(te.Value))
		}
		return field.Invalid(field.NewPath(te.Field), te.Value, "must be of type "+typeName(te.Type))
	}
	return field.Invalid(nil, nil, err.Error())
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "list"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.Kind().String()
}
