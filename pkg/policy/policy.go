package policy

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Policy is a compiled, immutable policy: hosts normalized, rewrite rules sorted, globs
// checked, modes resolved. It is safe for concurrent use; a reload builds a new one.
type Policy struct {
	region        string
	addonRegistry string

	allowed        []registryPrefix
	allowedText    string // for messages
	allowEKSAddons bool
	marketplace    []registryPrefix

	rewrites          []rewriteRule // longest From first
	eksAddonsToRegion bool
	injectRegion      bool

	modes         ruleModes
	fixAutoscaler bool
	fixLBC        bool

	excludeNamespaces []string
	excludeImages     []string
	overrides         []compiledOverride

	images *imageCache
}

type rewriteRule struct {
	from, to registryPrefix
}

type compiledOverride struct {
	namespaces []string
	modes      ruleModes
}

// Region is the cluster's AWS region.
func (p *Policy) Region() string { return p.region }

// Mode returns the mode of rule in namespace: "" when the namespace is excluded, otherwise
// the mode after overrides.
func (p *Policy) Mode(rule RuleID, namespace string) Mode {
	m := p.modesFor(namespace)
	if m == nil || rule.index() < 0 {
		return ""
	}
	return m.of(rule)
}

// modesFor is the effective mode of every rule in namespace, or nil when nothing is
// checked there.
func (p *Policy) modesFor(namespace string) *ruleModes {
	if matchAny(p.excludeNamespaces, namespace) {
		return nil
	}
	for i := range p.overrides {
		if matchAny(p.overrides[i].namespaces, namespace) {
			return &p.overrides[i].modes
		}
	}
	return &p.modes
}

// compile validates f and builds the Policy, collecting every error with its path.
func compile(f *File) (*Policy, field.ErrorList) {
	var errs field.ErrorList
	root := (*field.Path)(nil)
	if f.APIVersion != APIVersion {
		errs = append(errs, field.NotSupported(childPath(root, "apiVersion"), f.APIVersion, []string{APIVersion}))
	}
	if f.Kind != FileKind {
		errs = append(errs, field.NotSupported(childPath(root, "kind"), f.Kind, []string{FileKind}))
	}
	p := &Policy{
		region:            f.Region,
		allowEKSAddons:    boolOr(f.Registries.AllowEKSAddons, true),
		eksAddonsToRegion: boolOr(f.Rewrite.EKSAddonsToRegion, true),
		injectRegion:      boolOr(f.IRSA.InjectRegion, true),
	}
	p.images = newImageCache(p)
	regionPath := childPath(root, "region")
	switch {
	case f.Region == "":
		errs = append(errs, field.Required(regionPath, "the cluster's AWS region, such as us-west-2"))
	case !isRegionName(f.Region):
		errs = append(errs, field.Invalid(regionPath, f.Region, "not an AWS region name, such as us-west-2"))
	default:
		p.addonRegistry = addonRegistry(f.Region)
	}

	defaultMode := f.Mode
	if defaultMode == "" {
		defaultMode = ModeEnforce
	}
	if !defaultMode.valid() {
		errs = append(errs, notSupportedMode(childPath(root, "mode"), defaultMode))
	}
	for i := range p.modes {
		p.modes[i] = defaultMode
	}

	regs := childPath(root, "registries")
	var allowedNames []string
	for i, s := range f.Registries.Allowed {
		fp := regs.Child("allowed").Index(i)
		prefix, err := parseRegistryPrefix(s)
		if err != nil {
			errs = append(errs, field.Invalid(fp, s, err.Error()))
			continue
		}
		if ecr, ok := parseECRHost(prefix.host); ok && p.addonRegistry != "" && ecr.Region != f.Region {
			errs = append(errs, field.Invalid(fp, s, fmt.Sprintf("an ECR registry of region %s, but region is %s: a private cluster reaches ECR only in its own region", ecr.Region, f.Region)))
			continue
		}
		p.allowed = append(p.allowed, prefix)
		allowedNames = append(allowedNames, prefix.String())
	}
	p.allowedText = strings.Join(allowedNames, ", ")
	if p.allowedText == "" {
		p.allowedText = "none"
	}
	marketplace := f.Registries.Marketplace
	if marketplace == nil {
		marketplace = DefaultMarketplace
	}
	for i, s := range marketplace {
		prefix, err := parseRegistryPrefix(s)
		if err != nil {
			errs = append(errs, field.Invalid(regs.Child("marketplace").Index(i), s, err.Error()))
			continue
		}
		p.marketplace = append(p.marketplace, prefix)
	}

	rw := childPath(root, "rewrite").Child("rules")
	seen := map[registryPrefix]int{}
	for i, r := range f.Rewrite.Rules {
		fp := rw.Index(i)
		from, ferr := parseRegistryPrefix(r.From)
		if ferr != nil {
			errs = append(errs, field.Invalid(fp.Child("from"), r.From, ferr.Error()))
		}
		to, terr := parseRegistryPrefix(r.To)
		if terr != nil {
			errs = append(errs, field.Invalid(fp.Child("to"), r.To, terr.Error()))
		}
		if ferr != nil || terr != nil {
			continue
		}
		if j, dup := seen[from]; dup {
			errs = append(errs, field.Duplicate(fp.Child("from"), fmt.Sprintf("%s (also rewrite.rules[%d].from)", r.From, j)))
			continue
		}
		seen[from] = i
		if p.isMarketplace(to.host, to.path) {
			errs = append(errs, field.Invalid(fp.Child("to"), r.To, "an AWS Marketplace registry cannot be a mirror"))
			continue
		}
		// A mirror outside the allowed registries would be rewritten to and then denied,
		// and could be rewritten again: rewriting must land in an allowed registry.
		if !p.isAllowed(to.host, to.path) {
			errs = append(errs, field.Invalid(fp.Child("to"), r.To, "not under registries.allowed ("+p.allowedText+"): rewritten images would be denied"))
			continue
		}
		p.rewrites = append(p.rewrites, rewriteRule{from: from, to: to})
	}
	sort.SliceStable(p.rewrites, func(a, b int) bool {
		return len(p.rewrites[a].from.path) > len(p.rewrites[b].from.path)
	})

	ruleIDs := make([]string, 0, len(f.Rules))
	for id := range f.Rules {
		ruleIDs = append(ruleIDs, string(id))
	}
	sort.Strings(ruleIDs)
	p.fixAutoscaler, p.fixLBC = true, true
	for _, s := range ruleIDs {
		id := RuleID(s)
		settings := f.Rules[id]
		fp := childPath(root, "rules").Key(s)
		idx := id.index()
		if idx < 0 {
			errs = append(errs, notSupportedRule(fp, id))
			continue
		}
		if settings.Mode != "" {
			if !settings.Mode.valid() {
				errs = append(errs, notSupportedMode(fp.Child("mode"), settings.Mode))
			} else {
				p.modes[idx] = settings.Mode
			}
		}
		if settings.Fix != nil {
			switch id {
			case RuleClusterAutoscalerStaticInstanceList:
				p.fixAutoscaler = *settings.Fix
			case RuleLBControllerWAFShield:
				p.fixLBC = *settings.Fix
			default:
				errs = append(errs, field.Forbidden(fp.Child("fix"), "only cluster-autoscaler-static-instance-list and lb-controller-waf-shield can fix"))
			}
		}
	}

	ex := childPath(root, "exclude")
	errs = append(errs, checkGlobs(ex.Child("namespaces"), f.Exclude.Namespaces)...)
	errs = append(errs, checkGlobs(ex.Child("images"), f.Exclude.Images)...)
	p.excludeNamespaces = f.Exclude.Namespaces
	p.excludeImages = f.Exclude.Images

	for i, o := range f.Overrides {
		fp := childPath(root, "overrides").Index(i)
		if len(o.Namespaces) == 0 {
			errs = append(errs, field.Required(fp.Child("namespaces"), "the namespaces the override applies to"))
		}
		errs = append(errs, checkGlobs(fp.Child("namespaces"), o.Namespaces)...)
		if !o.Mode.valid() {
			errs = append(errs, notSupportedMode(fp.Child("mode"), o.Mode))
		}
		co := compiledOverride{namespaces: o.Namespaces, modes: p.modes}
		for j, id := range o.Rules {
			idx := id.index()
			if idx < 0 {
				errs = append(errs, notSupportedRule(fp.Child("rules").Index(j), id))
				continue
			}
			co.modes[idx] = o.Mode
		}
		if len(o.Rules) == 0 {
			for k := range co.modes {
				co.modes[k] = o.Mode
			}
		}
		p.overrides = append(p.overrides, co)
	}
	return p, errs
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func notSupportedMode(p *field.Path, m Mode) *field.Error {
	return field.NotSupported(p, m, []Mode{ModeEnforce, ModeAudit, ModeOff})
}

func notSupportedRule(p *field.Path, id RuleID) *field.Error {
	return field.NotSupported(p, id, Rules[:])
}

func checkGlobs(p *field.Path, globs []string) field.ErrorList {
	var errs field.ErrorList
	for i, g := range globs {
		if g == "" {
			errs = append(errs, field.Invalid(p.Index(i), g, "must not be empty"))
		} else if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, field.Invalid(p.Index(i), g, "bad glob: "+err.Error()))
		}
	}
	return errs
}

// isAllowed reports whether the repository lies under registries.allowed or, with
// allowEKSAddons, in the EKS add-on registry of the region.
func (p *Policy) isAllowed(host, repoPath string) bool {
	if p.allowEKSAddons && host == p.addonRegistry {
		return true
	}
	for _, a := range p.allowed {
		if a.contains(host, repoPath) {
			return true
		}
	}
	return false
}

// isMarketplace reports whether the repository lies under a Marketplace registry.
func (p *Policy) isMarketplace(host, repoPath string) bool {
	for _, m := range p.marketplace {
		if m.contains(host, repoPath) {
			return true
		}
	}
	return false
}

// isExcludedImage reports whether an exclude.images glob matches the image.
func (p *Policy) isExcludedImage(img image) bool {
	if len(p.excludeImages) == 0 {
		return false
	}
	return matchAny(p.excludeImages, img.String()) || matchAny(p.excludeImages, img.repository())
}
