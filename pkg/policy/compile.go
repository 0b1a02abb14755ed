package policy

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// compile validates f and builds the Policy, one section of the file after the other,
// collecting every error with its path.
func compile(f *File) (*Policy, field.ErrorList) {
	p := &Policy{
		region:            f.Region,
		allowEKSAddons:    boolOr(f.Registries.AllowEKSAddons, true),
		eksAddonsToRegion: boolOr(f.Rewrite.EKSAddonsToRegion, true),
		injectRegion:      boolOr(f.IRSA.InjectRegion, true),
	}
	p.images = newImageCache(p)
	var errs field.ErrorList
	errs = append(errs, p.compileHeader(f)...)
	errs = append(errs, p.compileDefaultMode(f.Mode)...)
	errs = append(errs, p.compileRegistries(&f.Registries, field.NewPath("registries"))...)
	errs = append(errs, p.compileRewrite(&f.Rewrite, field.NewPath("rewrite"))...)
	errs = append(errs, p.compileRules(f.Rules)...)
	errs = append(errs, p.compileExclude(&f.Exclude, field.NewPath("exclude"))...)
	errs = append(errs, p.compileOverrides(f.Overrides, field.NewPath("overrides"))...)
	errs = append(errs, p.compileExceptions(f.Exceptions, field.NewPath("exceptions"))...)
	return p, errs
}

// compileHeader checks apiVersion, kind and region.
func (p *Policy) compileHeader(f *File) field.ErrorList {
	var errs field.ErrorList
	if f.APIVersion != APIVersion {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), f.APIVersion, []string{APIVersion}))
	}
	if f.Kind != FileKind {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), f.Kind, []string{FileKind}))
	}
	regionPath := field.NewPath("region")
	switch {
	case f.Region == "":
		errs = append(errs, field.Required(regionPath, "the cluster's AWS region, such as us-west-2"))
	case !isRegionName(f.Region):
		errs = append(errs, field.Invalid(regionPath, f.Region, "not an AWS region name, such as us-west-2"))
	default:
		p.addonRegistry = addonRegistry(f.Region)
	}
	return errs
}

// compileRegistries reads registries.eksAddonRegistry, registries.allowed and
// registries.marketplace.
func (p *Policy) compileRegistries(r *Registries, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.EKSAddonRegistry != "" {
		ap := fp.Child("eksAddonRegistry")
		prefix, err := parseRegistryPrefix(r.EKSAddonRegistry)
		ecr, isECR := parseECRHost(prefix.host)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(ap, r.EKSAddonRegistry, err.Error()))
		case prefix.path != "" || !isECR:
			errs = append(errs, field.Invalid(ap, r.EKSAddonRegistry, "must be an ECR registry host, such as 602401143452.dkr.ecr.us-west-2.amazonaws.com"))
		case p.addonRegistry != "" && ecr.Region != p.region:
			errs = append(errs, field.Invalid(ap, r.EKSAddonRegistry, fmt.Sprintf("an ECR registry of region %s, but region is %s", ecr.Region, p.region)))
		default:
			p.addonRegistry = prefix.host
		}
	}
	var allowedNames []string
	for i, s := range r.Allowed {
		ip := fp.Child("allowed").Index(i)
		prefix, err := parseRegistryPrefix(s)
		if err != nil {
			errs = append(errs, field.Invalid(ip, s, err.Error()))
			continue
		}
		if ecr, ok := parseECRHost(prefix.host); ok && p.addonRegistry != "" && ecr.Region != p.region {
			errs = append(errs, field.Invalid(ip, s, fmt.Sprintf("an ECR registry of region %s, but region is %s: a private cluster reaches ECR only in its own region", ecr.Region, p.region)))
			continue
		}
		p.allowed = append(p.allowed, prefix)
		allowedNames = append(allowedNames, prefix.String())
	}
	p.allowedText = strings.Join(allowedNames, ", ")
	if p.allowedText == "" {
		p.allowedText = "none"
	}
	marketplace := r.Marketplace
	if marketplace == nil {
		marketplace = DefaultMarketplace
	}
	for i, s := range marketplace {
		prefix, err := parseRegistryPrefix(s)
		if err != nil {
			errs = append(errs, field.Invalid(fp.Child("marketplace").Index(i), s, err.Error()))
			continue
		}
		p.marketplace = append(p.marketplace, prefix)
	}
	return errs
}

// compileRewrite reads rewrite.rules: each from once, each to an allowed registry that is
// not a Marketplace one. The rules are sorted longest from first.
func (p *Policy) compileRewrite(rw *Rewrite, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[registryPrefix]int{}
	for i, r := range rw.Rules {
		rp := fp.Child("rules").Index(i)
		from, ferr := parseRegistryPrefix(r.From)
		if ferr != nil {
			errs = append(errs, field.Invalid(rp.Child("from"), r.From, ferr.Error()))
		}
		to, terr := parseRegistryPrefix(r.To)
		if terr != nil {
			errs = append(errs, field.Invalid(rp.Child("to"), r.To, terr.Error()))
		}
		if ferr != nil || terr != nil {
			continue
		}
		if j, dup := seen[from]; dup {
			errs = append(errs, field.Duplicate(rp.Child("from"), fmt.Sprintf("%s (also rewrite.rules[%d].from)", r.From, j)))
			continue
		}
		seen[from] = i
		if p.isMarketplace(to.host, to.path) {
			errs = append(errs, field.Invalid(rp.Child("to"), r.To, "an AWS Marketplace registry cannot be a mirror"))
			continue
		}
		// A mirror outside the allowed registries would be rewritten to and then denied,
		// and could be rewritten again: rewriting must land in an allowed registry.
		if !p.isAllowed(to.host, to.path) {
			errs = append(errs, field.Invalid(rp.Child("to"), r.To, "not under registries.allowed ("+p.allowedText+"): rewritten images would be denied"))
			continue
		}
		p.rewrites = append(p.rewrites, rewriteRule{from: from, to: to, pullThroughCache: boolOr(r.PullThroughCache, true)})
	}
	switch p.pinnedDigests = rw.PinnedDigests; p.pinnedDigests {
	case "":
		p.pinnedDigests = PinnedDigestsKeep
	case PinnedDigestsKeep, PinnedDigestsDropWhenTagged:
	default:
		errs = append(errs, field.NotSupported(fp.Child("pinnedDigests"), rw.PinnedDigests, []PinnedDigests{PinnedDigestsKeep, PinnedDigestsDropWhenTagged}))
	}
	sort.SliceStable(p.rewrites, func(a, b int) bool {
		return len(p.rewrites[a].from.path) > len(p.rewrites[b].from.path)
	})
	return errs
}

// compileDefaultMode gives every rule the policy's mode, and the add-on flag rules their
// default fix.
func (p *Policy) compileDefaultMode(defaultMode Mode) field.ErrorList {
	var errs field.ErrorList
	if defaultMode == "" {
		defaultMode = ModeEnforce
	}
	if !defaultMode.valid() {
		errs = append(errs, notSupportedMode(field.NewPath("mode"), defaultMode))
	}
	for i := range p.rules {
		p.rules[i] = ruleSetting{mode: defaultMode}
	}
	for _, id := range fixable {
		p.rules[id.index()].fix = true
	}
	return errs
}

// compileRules applies the rules section: each entry's mode and fix.
func (p *Policy) compileRules(rules map[RuleID]RuleSettings) field.ErrorList {
	var errs field.ErrorList
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for _, s := range ids {
		id, settings := RuleID(s), rules[RuleID(s)]
		fp := field.NewPath("rules").Key(s)
		idx := id.index()
		if idx < 0 {
			errs = append(errs, notSupportedRule(fp, id))
			continue
		}
		if settings.Mode != "" {
			if !settings.Mode.valid() {
				errs = append(errs, notSupportedMode(fp.Child("mode"), settings.Mode))
			} else {
				p.rules[idx].mode = settings.Mode
			}
		}
		if settings.Fix != nil {
			if id != RuleClusterAutoscalerStaticInstanceList && id != RuleLBControllerWAFShield {
				errs = append(errs, field.Forbidden(fp.Child("fix"), "only cluster-autoscaler-static-instance-list and lb-controller-waf-shield can fix"))
				continue
			}
			p.rules[idx].fix = *settings.Fix
		}
	}
	return errs
}

// compileExclude checks the exclude globs.
func (p *Policy) compileExclude(ex *Exclude, fp *field.Path) field.ErrorList {
	p.excludeNamespaces = ex.Namespaces
	p.excludeImages = ex.Images
	return append(checkGlobs(fp.Child("namespaces"), ex.Namespaces), checkGlobs(fp.Child("images"), ex.Images)...)
}

// compileOverrides builds each override's settings from the policy's, after compileRules.
func (p *Policy) compileOverrides(overrides []Override, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, o := range overrides {
		op := fp.Index(i)
		if len(o.Namespaces) == 0 {
			errs = append(errs, field.Required(op.Child("namespaces"), "the namespaces the override applies to"))
		}
		errs = append(errs, checkGlobs(op.Child("namespaces"), o.Namespaces)...)
		if !o.Mode.valid() {
			errs = append(errs, notSupportedMode(op.Child("mode"), o.Mode))
		}
		co := compiledOverride{namespaces: o.Namespaces, rules: p.rules}
		for j, id := range o.Rules {
			idx := id.index()
			if idx < 0 {
				errs = append(errs, notSupportedRule(op.Child("rules").Index(j), id))
				continue
			}
			co.rules[idx].mode = o.Mode
		}
		if len(o.Rules) == 0 {
			for k := range co.rules {
				co.rules[k].mode = o.Mode
			}
		}
		p.overrides = append(p.overrides, co)
	}
	return errs
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
