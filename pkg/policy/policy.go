package policy

// Policy is a compiled, immutable policy: hosts normalized, rewrite rules sorted, globs
// checked, rule settings resolved per namespace. It is safe for concurrent use; a reload
// builds a new one.
type Policy struct {
	region        string
	addonRegistry string

	allowed        []registryPrefix
	allowedText    string // for messages
	allowEKSAddons bool
	marketplace    []registryPrefix

	rewrites          []rewriteRule // longest From first
	pinnedDigests     PinnedDigests
	eksAddonsToRegion bool
	injectRegion      bool

	rules ruleSettings

	excludeNamespaces []string
	excludeImages     []string
	overrides         []compiledOverride
	exceptions        []compiledException

	images *imageCache
}

type rewriteRule struct {
	from, to registryPrefix
	// pullThroughCache: to is an ECR pull-through cache.
	pullThroughCache bool
}

type compiledOverride struct {
	namespaces []string
	rules      ruleSettings
}

// Region is the cluster's AWS region.
func (p *Policy) Region() string { return p.region }

// Mode returns the mode of rule in namespace, after overrides. In an excluded namespace
// every rule is off.
func (p *Policy) Mode(rule RuleID, namespace string) Mode {
	s := p.settingsFor(namespace)
	if s == nil || rule.index() < 0 {
		return ModeOff
	}
	return s.mode(rule)
}

// settingsFor is the setting of every rule in namespace, or nil when nothing is checked
// there.
func (p *Policy) settingsFor(namespace string) *ruleSettings {
	if matchAny(p.excludeNamespaces, namespace) {
		return nil
	}
	for i := range p.overrides {
		if matchAny(p.overrides[i].namespaces, namespace) {
			return &p.overrides[i].rules
		}
	}
	return &p.rules
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
