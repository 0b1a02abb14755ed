package policy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// LintWarning is a problem of a policy file that loads: a part of it that has no effect,
// or that will not do what it seems to. `privateguard lint` prints them.
type LintWarning struct {
	// Field is the field concerned, such as rewrite.rules[1].from.
	Field string
	// Message says what is wrong and how to fix it.
	Message string
}

func (w LintWarning) String() string { return w.Field + ": " + w.Message }

// Lint checks a policy file's content as ParseFrom does, returning every error at once
// as a *LoadError, and, for a valid file, its warnings, in the order of the file:
//
//   - region: a region the EKS add-on registry table of this release does not know, when
//     add-on images are allowed or moved there and registries.eksAddonRegistry does not
//     name its registry: the add-on registry is then only a guess.
//   - rewrite.eksAddonsToRegion with registries.allowEKSAddons false and the add-on
//     registry not under registries.allowed: moved add-on images would be denied.
//   - rewrite.rules[i].from under registries.allowed or registries.marketplace: images
//     there are never rewritten, so the rule never applies.
//   - rules.<id>.fix on a rule that is off in every namespace.
//   - overrides[i]: every namespace glob is covered by an earlier override (identical,
//     `*`, or a literal namespace an earlier glob matches) or by exclude.namespaces: the
//     first match wins, so the override never applies.
//   - exclude.images[i] matching every image under a rewrite rule's from: those public
//     images are neither rewritten nor denied, and a private cluster cannot pull them;
//     or under an allowed registry: the exclusion has no effect.
//   - exceptions[i].expires: an exception that has expired at now (it no longer applies),
//     or expires within 14 days.
//
// A rewrite `to` outside registries.allowed is an error of the file already, not a
// warning.
func Lint(source string, data []byte, now time.Time) ([]LintWarning, error) {
	f, errs := decodeFile(data)
	var p *Policy
	if f != nil {
		var verrs field.ErrorList
		p, verrs = compile(f)
		errs = append(errs, verrs...)
	}
	if len(errs) > 0 {
		return nil, &LoadError{Source: source, Errs: errs}
	}
	var warnings []LintWarning
	warn := func(fp *field.Path, format string, args ...any) {
		warnings = append(warnings, LintWarning{Field: fp.String(), Message: fmt.Sprintf(format, args...)})
	}
	p.lintRegion(f, warn)
	p.lintRewrite(f, warn)
	dead := deadOverrides(f)
	p.lintRules(f, dead, warn)
	lintOverrides(dead, warn)
	p.lintExcludeImages(f, warn)
	p.lintExceptions(now, warn)
	return warnings, nil
}

// expiryNotice is how long before an exception expires lint says so.
const expiryNotice = 14 * 24 * time.Hour

func (p *Policy) lintExceptions(now time.Time, warn warnFunc) {
	for i := range p.exceptions {
		ex := &p.exceptions[i]
		fp := field.NewPath("exceptions").Index(i).Child("expires")
		date := ex.expires.Format(expiryDateLayout)
		switch {
		case ex.expires.IsZero():
		case ex.expired(now):
			warn(fp, "exception %s expired on %s and no longer applies: what it waived is denied again; remove it, or renew it with a new date and reason", quote(ex.name), date)
		case ex.expires.Sub(now) <= expiryNotice:
			days := int(ex.expires.Sub(now).Hours()/24) + 1
			warn(fp, "exception %s expires on %s, in %d days: from then what it waives is denied", quote(ex.name), date, days)
		}
	}
}

type warnFunc func(fp *field.Path, format string, args ...any)

// RegionKnown reports whether the EKS add-on registry table of this release has a row for
// the policy's region. For another region the add-on registry is assumed to be that of
// account 602401143452, unless registries.eksAddonRegistry names it.
func (p *Policy) RegionKnown() bool { return knownAddonRegion(p.region) }

// AddonRegistry is the EKS add-on registry host of the policy's region: the built-in
// table's, or registries.eksAddonRegistry.
func (p *Policy) AddonRegistry() string { return p.addonRegistry }

func (p *Policy) lintRegion(f *File, warn warnFunc) {
	if p.RegionKnown() || f.Registries.EKSAddonRegistry != "" || !p.allowEKSAddons && !p.eksAddonsToRegion {
		return
	}
	warn(field.NewPath("region"), "%s is not in the EKS add-on registry table of this release; its add-on registry is assumed to be %s: check the Amazon EKS User Guide page \"View Amazon container image registries for Amazon EKS add-ons\" and set registries.eksAddonRegistry",
		p.region, p.addonRegistry)
}

func (p *Policy) lintRewrite(f *File, warn warnFunc) {
	if p.eksAddonsToRegion && !p.allowEKSAddons && !p.isAllowed(p.addonRegistry, "") {
		warn(field.NewPath("rewrite", "eksAddonsToRegion"), "EKS add-on images are moved to %s, which is not allowed (registries.allowEKSAddons is false and registries.allowed does not hold it): the moved images would be denied; set registries.allowEKSAddons: true or rewrite.eksAddonsToRegion: false",
			p.addonRegistry)
	}
	for i, r := range f.Rewrite.Rules {
		from, err := parseRegistryPrefix(r.From)
		if err != nil {
			continue
		}
		fp := field.NewPath("rewrite", "rules").Index(i).Child("from")
		switch {
		case p.isMarketplace(from.host, from.path):
			warn(fp, "%s is an AWS Marketplace registry: its images are never rewritten, so the rule never applies; remove it", from)
		case p.isAllowed(from.host, from.path):
			warn(fp, "%s is under registries.allowed: its images are never rewritten, so the rule never applies; remove it", from)
		}
	}
}

func (p *Policy) lintRules(f *File, dead map[int]string, warn warnFunc) {
	for _, id := range fixable {
		s, ok := f.Rules[id]
		if !ok || s.Fix == nil || !p.offEverywhere(id, dead) {
			continue
		}
		warn(field.NewPath("rules").Key(string(id)).Child("fix"), "the rule is off in every namespace, so fix has no effect")
	}
}

// offEverywhere reports whether rule is off by default and in every override that can
// apply.
func (p *Policy) offEverywhere(rule RuleID, dead map[int]string) bool {
	if p.rules.mode(rule) != ModeOff {
		return false
	}
	for i := range p.overrides {
		if _, never := dead[i]; !never && p.overrides[i].rules.mode(rule) != ModeOff {
			return false
		}
	}
	return true
}

// deadOverrides are the overrides that never apply, by index, with the reason.
func deadOverrides(f *File) map[int]string {
	dead := map[int]string{}
	for i, o := range f.Overrides {
		if len(o.Namespaces) == 0 {
			continue
		}
		if globsCovered(o.Namespaces, f.Exclude.Namespaces) {
			dead[i] = "every namespace here is in exclude.namespaces, where no rule runs: the override never applies"
			continue
		}
		for j := 0; j < i; j++ {
			if globsCovered(o.Namespaces, f.Overrides[j].Namespaces) {
				dead[i] = fmt.Sprintf("every namespace here is matched by overrides[%d] first (the first match wins): the override never applies; merge it into overrides[%d] or move it before", j, j)
				break
			}
		}
	}
	return dead
}

func lintOverrides(dead map[int]string, warn warnFunc) {
	for _, i := range slices.Sorted(maps.Keys(dead)) {
		warn(field.NewPath("overrides").Index(i).Child("namespaces"), "%s", dead[i])
	}
}

// globsCovered reports whether every glob of globs matches only names that one of
// earlier matches: the same glob, `*`, or a literal name that an earlier glob matches.
// Other overlaps of globs are not looked for.
func globsCovered(globs, earlier []string) bool {
	if len(earlier) == 0 {
		return false
	}
	for _, g := range globs {
		covered := false
		for _, e := range earlier {
			if e == g || e == "*" || !hasGlobMeta(g) && matchAny([]string{e}, g) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func (p *Policy) lintExcludeImages(f *File, warn warnFunc) {
	for i, g := range f.Exclude.Images {
		fp := field.NewPath("exclude", "images").Index(i)
		if from, ok := globCoversPrefix(g, p.rewriteFroms(f)); ok {
			warn(fp, "matches every image under %s, a rewrite rule's from: those images are neither rewritten nor denied, and a private cluster cannot pull them; narrow the glob", from)
			continue
		}
		if a, ok := globCoversPrefix(g, p.allowed); ok {
			warn(fp, "matches images under the allowed registry %s, which every image rule allows already: the exclusion has no effect there", a)
		}
	}
}

// rewriteFroms are the from prefixes of the rewrite rules that can apply, in the order
// of the file.
func (p *Policy) rewriteFroms(f *File) []registryPrefix {
	var froms []registryPrefix
	for _, r := range f.Rewrite.Rules {
		from, err := parseRegistryPrefix(r.From)
		if err == nil && !p.isAllowed(from.host, from.path) && !p.isMarketplace(from.host, from.path) {
			froms = append(froms, from)
		}
	}
	return froms
}

// globCoversPrefix reports the first prefix under which glob matches an image of any
// name: probe repositories one and two path components deep under it, as exclude.images
// globs are matched against the normalized repository.
func globCoversPrefix(glob string, prefixes []registryPrefix) (registryPrefix, bool) {
	for _, pr := range prefixes {
		base := pr.String()
		one, _ := path.Match(glob, base+"/privateguard-lint-probe")
		two, _ := path.Match(glob, base+"/privateguard-lint-probe/probe")
		if one || two {
			return pr, true
		}
	}
	return registryPrefix{}, false
}

// ImageExplanation is what the policy concludes about one image reference, for
// `privateguard explain`: the verdict itself comes from evaluating a pod.
type ImageExplanation struct {
	// Normalized is the reference as the container runtime resolves it
	// (docker.io/library/nginx:1.27); empty when it does not parse.
	Normalized string
	// ParseError is why the reference does not parse.
	ParseError error
	// Excluded: an exclude.images glob matches the image.
	Excluded bool
	// Marketplace: the image is under registries.marketplace.
	Marketplace bool
	// Allowed: the image is under registries.allowed, or the allowed add-on registry.
	Allowed bool
	// AddonImage: the image is in an EKS add-on registry (of any region).
	AddonImage bool
	// RewriteFrom and RewriteTo are the rewrite rule that moves the image (as
	// normalized), or empty; AddonMove says the move is that of an add-on image to the
	// add-on registry of the region (rewrite.eksAddonsToRegion) instead.
	RewriteFrom, RewriteTo string
	AddonMove              bool
}

// ExplainImage explains what the policy makes of raw, from its classification: the
// matching rewrite rule is the engine's, so explain never restates it.
func (p *Policy) ExplainImage(raw string) ImageExplanation {
	ic := p.images.class(raw)
	if ic.err != nil {
		return ImageExplanation{ParseError: ic.err}
	}
	x := ImageExplanation{
		Normalized:  ic.img.String(),
		Excluded:    ic.excluded,
		Marketplace: ic.marketplace,
		Allowed:     ic.allowed,
		AddonImage:  ic.addon,
	}
	if ic.rewritten == "" {
		return x
	}
	if p.eksAddonsToRegion && ic.addon && ic.img.host != p.addonRegistry {
		x.AddonMove = true
		return x
	}
	for i := range p.rewrites {
		if r := &p.rewrites[i]; r.from.contains(ic.img.host, ic.img.path) {
			x.RewriteFrom, x.RewriteTo = r.from.String(), r.to.String()
			break
		}
	}
	return x
}
