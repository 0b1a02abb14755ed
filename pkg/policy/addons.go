package policy

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// addonFlagRule is one of the two rules that require command-line flags of an AWS add-on
// that would otherwise call a public AWS endpoint.
type addonFlagRule struct {
	rule RuleID
	// binary names the add-on in messages.
	binary string
	// repositories are the last path components of the add-on's image repositories.
	repositories map[string]bool
	// flags are the required settings, each a boolean flag and the value it must have.
	flags []requiredFlag
	// applies further limits the containers judged, nil for all.
	applies func(cl *commandLine) bool
	// why is the reason, for messages.
	why string
	// chartValues say how the add-on's own Helm chart sets the flags.
	chartValues string
}

type requiredFlag struct {
	name  string
	value bool
}

func (f requiredFlag) String() string { return "--" + f.name + "=" + strconv.FormatBool(f.value) }

// clusterAutoscalerArches are the architectures Cluster Autoscaler publishes images for
// as cluster-autoscaler-<arch>.
var clusterAutoscalerArches = []string{"amd64", "arm64", "arm", "ppc64le", "s390x"}

var clusterAutoscalerRule = addonFlagRule{
	rule:   RuleClusterAutoscalerStaticInstanceList,
	binary: "cluster-autoscaler",
	repositories: func() map[string]bool {
		m := map[string]bool{"cluster-autoscaler": true}
		for _, arch := range clusterAutoscalerArches {
			m["cluster-autoscaler-"+arch] = true
		}
		return m
	}(),
	flags:       []requiredFlag{{"aws-use-static-instance-list", true}},
	applies:     selectsAWSCloudProvider,
	why:         "without it Cluster Autoscaler fetches the EC2 instance type list from a public pricing endpoint a private cluster cannot reach",
	chartValues: "the cluster-autoscaler chart's value extraArgs.aws-use-static-instance-list=true",
}

var lbControllerRule = addonFlagRule{
	rule:         RuleLBControllerWAFShield,
	binary:       "aws-load-balancer-controller",
	repositories: map[string]bool{"aws-load-balancer-controller": true},
	flags:        []requiredFlag{{"enable-shield", false}, {"enable-waf", false}, {"enable-wafv2", false}},
	why:          "a private cluster has no endpoint for AWS Shield, WAF and WAFv2, and the controller fails calling them",
	chartValues:  "the aws-load-balancer-controller chart's values enableShield=false, enableWaf=false and enableWafv2=false",
}

// addonFlagRules are the two add-on flag rules, in documentation order.
var addonFlagRules = [...]*addonFlagRule{&clusterAutoscalerRule, &lbControllerRule}

// fixAddonFlags appends the missing flags to args where the rule's fix is on and args is
// where the binary reads them (not behind a shell script).
func (e *evaluation) fixAddonFlags() {
	e.eachAddonContainer(true, func(r *addonFlagRule, mode Mode, c *container, cl *commandLine, missing []string) {
		if cl.script != nil || cl.problem != "" || len(missing) == 0 {
			return
		}
		argsPath := c.path(e.spec).Child("args")
		for _, arg := range missing {
			e.addChange(c, r.rule, mode, AddArg, argsPath, "", arg, "")
		}
		if mode == ModeEnforce {
			c.addArgs(missing...)
		}
	})
}

// checkAddonFlags flags add-on containers that lack a required flag, or whose flags
// cannot be read.
func (e *evaluation) checkAddonFlags() {
	e.eachAddonContainer(false, func(r *addonFlagRule, mode Mode, c *container, cl *commandLine, missing []string) {
		flags := strings.Join(missing, " ")
		switch {
		case cl.problem != "":
			e.addViolation(r.rule, mode, cl.script, c.image, fmt.Sprintf(
				"container %s (%s) runs %s, but its flags cannot be read: %s; run the binary with %s in command and args, or set %s [%s]",
				quote(c.name), cl.script, r.binary, cl.problem, r.flagsText(), r.chartValues, r.rule))
		case len(missing) == 0:
		case cl.script != nil:
			e.addViolation(r.rule, mode, cl.script, c.image, fmt.Sprintf(
				"container %s (%s) runs %s from a shell script without %s; %s; the flags cannot be appended to args there (an argument after the script is the shell's $0): add them to the script, or set %s [%s]",
				quote(c.name), cl.script, r.binary, flags, r.why, r.chartValues, r.rule))
		default:
			argsPath := c.path(e.spec).Child("args")
			hint := "add it to args"
			if len(missing) > 1 {
				hint = "add them to args"
			}
			e.addViolation(r.rule, mode, argsPath, c.image, fmt.Sprintf(
				"container %s (%s) runs %s without %s; %s; %s, set %s, or set rules.%s.fix: true [%s]",
				quote(c.name), argsPath, r.binary, flags, r.why, hint, r.chartValues, r.rule, r.rule))
		}
	})
}

// flagsText is the rule's required flags as they are written.
func (r *addonFlagRule) flagsText() string {
	out := make([]string, len(r.flags))
	for i, f := range r.flags {
		out[i] = f.String()
	}
	return strings.Join(out, " ")
}

// eachAddonContainer calls fn for every container the add-on rules judge, with its
// command line and the flags it lacks, as arguments to append. fixing limits it to rules
// whose fix is on.
func (e *evaluation) eachAddonContainer(fixing bool, fn func(r *addonFlagRule, mode Mode, c *container, cl *commandLine, missing []string)) {
	for _, r := range addonFlagRules {
		mode := e.rules.mode(r.rule)
		if mode == ModeOff || fixing && !e.rules.fix(r.rule) {
			continue
		}
		for i := range e.containers {
			c := &e.containers[i]
			if !r.runsIn(c, e.p.images) {
				continue
			}
			cl := c.commandLine(e.spec)
			if cl.problem == "" && r.applies != nil && !r.applies(cl) {
				continue
			}
			var missing []string
			if cl.problem == "" {
				missing = r.missing(cl)
			}
			fn(r, mode, c, cl, missing)
		}
	}
}

// runsIn reports whether c is a judged regular or init container running the add-on's
// image.
func (r *addonFlagRule) runsIn(c *container, cache *imageCache) bool {
	if !c.judged || c.ref.List == EphemeralContainers {
		return false
	}
	ic := c.imageClass(cache)
	return ic.err == nil && r.repositories[path.Base(ic.img.path)]
}

// missing lists, as arguments to append, the required flags the command line does not
// set to the required value.
func (r *addonFlagRule) missing(cl *commandLine) []string {
	var out []string
	for _, f := range r.flags {
		if v, ok := cl.boolFlag(f.name); !ok || v != f.value {
			out = append(out, f.String())
		}
	}
	return out
}

// selectsAWSCloudProvider reports whether a Cluster Autoscaler container runs for AWS:
// --cloud-provider=aws or --cloud-provider aws, or no --cloud-provider at all (aws is the
// default of the builds that run on EKS).
func selectsAWSCloudProvider(cl *commandLine) bool {
	provider, _ := cl.flag("cloud-provider", false)
	return provider == "" || provider == "aws"
}

// commandLine is the container's command line, read once until args change.
func (c *container) commandLine(spec *field.Path) *commandLine {
	if c.cmdline == nil {
		cl := parseCommandLine(c.command, c.args, c.path(spec))
		c.cmdline = &cl
	}
	return c.cmdline
}
