package policy

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// addonFlagRule is one of the two rules that require command-line flags of an AWS add-on
// that would otherwise call a public AWS endpoint.
type addonFlagRule struct {
	rule RuleID
	// repository is the last path component of the add-on's image repository.
	repository string
	// flags are the required settings, each a boolean flag and the value it must have.
	flags []requiredFlag
	// applies further limits the containers judged, nil for all.
	applies func(c *container) bool
	// why is the reason, for messages.
	why string
}

type requiredFlag struct {
	name  string
	value bool
}

func (f requiredFlag) String() string { return "--" + f.name + "=" + strconv.FormatBool(f.value) }

var clusterAutoscalerRule = addonFlagRule{
	rule:       RuleClusterAutoscalerStaticInstanceList,
	repository: "cluster-autoscaler",
	flags:      []requiredFlag{{"aws-use-static-instance-list", true}},
	applies:    selectsAWSCloudProvider,
	why:        "without it Cluster Autoscaler fetches the EC2 instance type list from a public pricing endpoint a private cluster cannot reach",
}

var lbControllerRule = addonFlagRule{
	rule:       RuleLBControllerWAFShield,
	repository: "aws-load-balancer-controller",
	flags:      []requiredFlag{{"enable-shield", false}, {"enable-waf", false}, {"enable-wafv2", false}},
	why:        "a private cluster has no endpoint for AWS Shield, WAF and WAFv2, and the controller fails calling them",
}

// addonFlagRules are the two add-on flag rules, in documentation order.
var addonFlagRules = [...]*addonFlagRule{&clusterAutoscalerRule, &lbControllerRule}

// fixAddonFlags appends the missing flags to args where the rule's fix is on.
func (e *evaluation) fixAddonFlags() {
	e.eachMissingFlags(true, func(r *addonFlagRule, mode Mode, c *container, argsPath *field.Path, missing []string) {
		for _, arg := range missing {
			e.addChange(c, r.rule, mode, AddArg, argsPath, "", arg, "")
		}
		if mode == ModeEnforce {
			c.addArgs(missing...)
		}
	})
}

// checkAddonFlags flags add-on containers that lack a required flag.
func (e *evaluation) checkAddonFlags() {
	e.eachMissingFlags(false, func(r *addonFlagRule, mode Mode, c *container, argsPath *field.Path, missing []string) {
		hint := "add it to args"
		if len(missing) > 1 {
			hint = "add them to args"
		}
		e.addViolation(r.rule, mode, argsPath, c.image, fmt.Sprintf(
			"container %s (%s) runs %s without %s; %s; %s, or set rules.%s.fix: true [%s]",
			quote(c.name), argsPath, r.repository, strings.Join(missing, " "), r.why, hint, r.rule, r.rule))
	})
}

// eachMissingFlags calls fn for every add-on container that lacks some of its rule's
// flags, with the flags as arguments to append. fixing limits it to rules whose fix is on.
func (e *evaluation) eachMissingFlags(fixing bool, fn func(r *addonFlagRule, mode Mode, c *container, argsPath *field.Path, missing []string)) {
	for _, r := range addonFlagRules {
		mode := e.rules.mode(r.rule)
		if mode == ModeOff || fixing && !e.rules.fix(r.rule) {
			continue
		}
		for i := range e.containers {
			c := &e.containers[i]
			if !r.judges(c, e.p.images) {
				continue
			}
			missing := r.missing(c)
			if len(missing) == 0 {
				continue
			}
			args := make([]string, len(missing))
			for j, f := range missing {
				args[j] = f.String()
			}
			fn(r, mode, c, c.path(e.spec).Child("args"), args)
		}
	}
}

// judges reports whether the rule looks at c: a judged regular or init container running
// the add-on's image.
func (r *addonFlagRule) judges(c *container, cache *imageCache) bool {
	if !c.judged || c.ref.List == EphemeralContainers {
		return false
	}
	ic := c.imageClass(cache)
	if ic.err != nil || !(ic.img.path == r.repository || strings.HasSuffix(ic.img.path, "/"+r.repository)) {
		return false
	}
	return r.applies == nil || r.applies(c)
}

// missing lists the required flags the container's command and args do not set to the
// required value. The last occurrence of a flag wins, as in the add-ons' flag parsing.
func (r *addonFlagRule) missing(c *container) []requiredFlag {
	var out []requiredFlag
	for _, f := range r.flags {
		if v, ok := boolFlag(c, f.name); !ok || v != f.value {
			out = append(out, f)
		}
	}
	return out
}

// boolFlag is the value of a boolean --name flag in command and args: --name alone is
// true, --name=<bool> takes the value.
func boolFlag(c *container, name string) (value, set bool) {
	visit := func(tokens []string) {
		for _, t := range tokens {
			flag, ok := strings.CutPrefix(t, "--"+name)
			switch {
			case !ok:
			case flag == "":
				value, set = true, true
			case flag[0] == '=':
				if v, err := strconv.ParseBool(flag[1:]); err == nil {
					value, set = v, true
				} else {
					value, set = false, false
				}
			}
		}
	}
	visit(c.command)
	visit(c.args)
	return value, set
}

// selectsAWSCloudProvider reports whether a Cluster Autoscaler container runs for AWS:
// --cloud-provider=aws, or no --cloud-provider at all.
func selectsAWSCloudProvider(c *container) bool {
	provider := ""
	visit := func(tokens []string) {
		for i, t := range tokens {
			if v, ok := strings.CutPrefix(t, "--cloud-provider="); ok {
				provider = v
			} else if t == "--cloud-provider" && i+1 < len(tokens) {
				provider = tokens[i+1]
			}
		}
	}
	visit(c.command)
	visit(c.args)
	return provider == "" || provider == "aws"
}
