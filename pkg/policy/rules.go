package policy

import (
	"encoding/json"
	"reflect"
)

// RuleID names one rule of the policy. The ids are part of the interface: they appear in
// the policy file, in every message, in warnings and in metric labels.
type RuleID string

// The eight rules, in the order of the policy file's documentation.
const (
	RuleImageRegistry                       RuleID = "image-registry"
	RuleImageRegion                         RuleID = "image-region"
	RuleImageRewrite                        RuleID = "image-rewrite"
	RuleSTSRegionalEndpoint                 RuleID = "sts-regional-endpoint"
	RuleMarketplaceImage                    RuleID = "marketplace-image"
	RuleClusterAutoscalerStaticInstanceList RuleID = "cluster-autoscaler-static-instance-list"
	RuleLBControllerWAFShield               RuleID = "lb-controller-waf-shield"
	RuleALBCertificateDiscovery             RuleID = "alb-certificate-discovery"
)

// Rules lists every rule id, in documentation order.
var Rules = [...]RuleID{
	RuleImageRegistry,
	RuleImageRegion,
	RuleImageRewrite,
	RuleSTSRegionalEndpoint,
	RuleMarketplaceImage,
	RuleClusterAutoscalerStaticInstanceList,
	RuleLBControllerWAFShield,
	RuleALBCertificateDiscovery,
}

// index gives the rule's position in Rules, or -1 for an unknown id. A switch, not a
// scan or a map: the compiler turns it into a search on length and bytes, and the hot
// path asks it for every rule of every object.
func (r RuleID) index() int {
	switch r {
	case RuleImageRegistry:
		return 0
	case RuleImageRegion:
		return 1
	case RuleImageRewrite:
		return 2
	case RuleSTSRegionalEndpoint:
		return 3
	case RuleMarketplaceImage:
		return 4
	case RuleClusterAutoscalerStaticInstanceList:
		return 5
	case RuleLBControllerWAFShield:
		return 6
	case RuleALBCertificateDiscovery:
		return 7
	}
	return -1
}

// Mode is how a rule acts on what it finds.
type Mode string

const (
	// ModeEnforce denies violations and applies mutations.
	ModeEnforce Mode = "enforce"
	// ModeAudit allows the object but reports each finding as a warning, an audit
	// annotation, a log line and a metric; mutating rules in audit mode change nothing.
	ModeAudit Mode = "audit"
	// ModeOff disables the rule.
	ModeOff Mode = "off"
)

func (m Mode) valid() bool { return m == ModeEnforce || m == ModeAudit || m == ModeOff }

// ruleSetting is how one rule acts in a namespace.
type ruleSetting struct {
	mode Mode
	// fix lets the mutating webhook append an add-on's missing flags (the two add-on
	// flag rules only).
	fix bool
}

// ruleSettings holds the setting of every rule, indexed like Rules: the policy's own,
// and a copy per override.
type ruleSettings [len(Rules)]ruleSetting

func (s *ruleSettings) mode(r RuleID) Mode { return s[r.index()].mode }

func (s *ruleSettings) fix(r RuleID) bool { return s[r.index()].fix }

// fixable are the rules whose fix setting means something.
var fixable = [...]RuleID{RuleClusterAutoscalerStaticInstanceList, RuleLBControllerWAFShield}

// UnmarshalJSON reads a mode. YAML 1.1 reads an unquoted `off` as the boolean false, so
// false is accepted as off: `mode: off` must mean what it says.
func (m *Mode) UnmarshalJSON(data []byte) error {
	if string(data) == "false" {
		*m = ModeOff
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		// A type error lets the decoder name the field.
		return &json.UnmarshalTypeError{Value: string(data), Type: reflect.TypeFor[Mode]()}
	}
	*m = Mode(s)
	return nil
}
