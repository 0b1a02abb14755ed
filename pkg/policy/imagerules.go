package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// rewriteImage applies image-rewrite to one container: EKS add-on images of another region
// move to the region's add-on registry, other images to the mirror of the longest
// matching rewrite rule.
func (e *evaluation) rewriteImage(c *container, mode Mode) {
	ic := c.imageClass(e.p.images)
	if ic.rewritten == "" {
		return
	}
	p := c.path(e.spec).Child("image")
	e.addChange(c, RuleImageRewrite, mode, SetImage, p, c.image, ic.rewritten, "")
	if ic.note != "" {
		e.addWarning(RuleImageRewrite, p, c.image, fmt.Sprintf("image %s (%s) %s [%s]", quote(c.image), p, ic.note, RuleImageRewrite))
	}
	if mode == ModeEnforce {
		c.image, c.class = ic.rewritten, nil
	}
}

// rewrite is the image's new home, if image-rewrite moves it, and what the user must be
// told about the move. Images already allowed, excluded and Marketplace images stay; the
// result is always allowed, so a second pass changes nothing.
func (p *Policy) rewrite(ic *imageClass) (image, string, bool) {
	img := ic.img
	if ic.marketplace || ic.allowed || ic.excluded {
		return image{}, "", false
	}
	if p.eksAddonsToRegion && ic.addon && img.host != p.addonRegistry {
		to, err := img.withRepository(p.addonRegistry, img.path)
		return to, p.partitionNote(ic, to), err == nil
	}
	for i := range p.rewrites {
		r := &p.rewrites[i]
		if !r.from.contains(img.host, img.path) {
			continue
		}
		rest := strings.TrimPrefix(img.path[len(r.from.path):], "/")
		newPath := r.to.path
		switch {
		case newPath == "":
			newPath = rest
		case rest != "":
			newPath += "/" + rest
		}
		if newPath == "" {
			return image{}, "", false
		}
		to, err := img.withRepository(r.to.host, newPath)
		if err != nil {
			return image{}, "", false
		}
		to, note := p.pinnedDigest(r, to)
		return to, note, true
	}
	return image{}, "", false
}

// pinnedDigest applies rewrite.pinnedDigests to an image rewritten by r. An ECR
// pull-through cache cannot fill a cold cache from a pull by digest, even tag@digest
// (aws/containers-roadmap#2837): the pod would sit in ImagePullBackOff.
func (p *Policy) pinnedDigest(r *rewriteRule, to image) (image, string) {
	if !r.pullThroughCache || to.digest == "" {
		return to, ""
	}
	const why = "an ECR pull-through cache cannot fill a cold cache from a pull by digest (aws/containers-roadmap#2837)"
	if p.pinnedDigests == PinnedDigestsDropWhenTagged && to.tag != "" {
		to.digest = ""
		return to, fmt.Sprintf("is pinned by digest; rewritten to the pull-through cache %s without its digest, since %s; the tag is no longer pinned: copy the image into a regular ECR repository (pullThroughCache: false) to keep the digest",
			r.to, why)
	}
	how := "pull it by tag once from inside the VPC to warm the cache"
	if to.tag == "" {
		how = "pull it once from inside the VPC to warm the cache"
	}
	return to, fmt.Sprintf("is pinned by digest and rewritten to the pull-through cache %s, but %s: %s, or copy the image into a regular ECR repository (pullThroughCache: false)",
		r.to, why, how)
}

// checkImage judges one container's image: at most one violation, the most specific of
// marketplace-image, image-region and image-registry. A rule that is off leaves the image
// to the next one. The field path is built only for a violation: most images pass.
func (e *evaluation) checkImage(c *container) {
	rule, mode, explanation := e.imageVerdict(c.imageClass(e.p.images))
	if mode == ModeOff {
		return
	}
	p := c.path(e.spec).Child("image")
	e.addViolation(rule, mode, p, c.image, fmt.Sprintf("image %s (%s) %s [%s]", quote(c.image), p, explanation, rule))
}

// imageVerdict is the image's classification judged by the rules' modes: the rule that
// finds it at fault, its mode (ModeOff when none does), and what is wrong and how to fix
// it.
func (e *evaluation) imageVerdict(ic *imageClass) (RuleID, Mode, string) {
	registryMode := e.rules.mode(RuleImageRegistry)
	switch {
	case ic.err != nil:
		return RuleImageRegistry, registryMode, fmt.Sprintf("cannot be parsed: %s; use a valid image reference such as %s/app:1.0",
			truncate(ic.err.Error()), e.p.exampleRegistry())
	case ic.excluded:
		return "", ModeOff, ""
	}
	if m := e.rules.mode(RuleMarketplaceImage); m != ModeOff && ic.marketplace {
		return RuleMarketplaceImage, m, "is an AWS Marketplace image; metered Marketplace images cannot reach the AWS Marketplace Metering Service from a private cluster; use a non-metered edition mirrored into your own ECR"
	}
	if ic.allowed {
		return "", ModeOff, ""
	}
	if m := e.rules.mode(RuleImageRegion); m != ModeOff && ic.otherRegion(e.p.region) {
		return RuleImageRegion, m, fmt.Sprintf(
			"is in the ECR registry of region %s, but the cluster runs in %s; a private cluster reaches ECR only in its own region through its VPC endpoints%s; replicate the repository to %s",
			ic.ecr.Region, e.p.region, dualStackNote(ic), e.p.region)
	}
	return RuleImageRegistry, registryMode, fmt.Sprintf(
		"is not in an allowed private registry (allowed: %s)%s; mirror it into ECR or add a rewrite rule",
		e.p.allowedText, dualStackNote(ic))
}

// dualStackNote explains why an ECR dual-stack host fails in a private cluster.
func dualStackNote(ic *imageClass) string {
	if !ic.isECR || !ic.ecr.DualStack {
		return ""
	}
	ecr := ic.ecr
	endpoint := "dkr.ecr"
	if ecr.FIPS {
		endpoint = "dkr.ecr-fips"
	}
	return fmt.Sprintf("; ECR dual-stack endpoints (.on.aws) have no PrivateLink VPC endpoint, use %s.%s.%s.%s",
		ecr.Account, endpoint, ecr.Region, regionDomain(ecr.Region))
}

// exampleRegistry is a registry to show in messages: the first allowed one.
func (p *Policy) exampleRegistry() string {
	if len(p.allowed) > 0 {
		return p.allowed[0].String()
	}
	return p.addonRegistry
}

// maxQuoted bounds a value quoted in a message: an image or value of a megabyte must
// not come back as a megabyte of message.
const maxQuoted = 256

// truncate cuts s at maxQuoted characters, saying how much was left out.
func truncate(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("...(%d more bytes)", len(s)-cut)
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// quote is s, cut by truncate, in Go string syntax.
func quote(s string) string { return strconv.Quote(truncate(s)) }

// partitionNote says when moving an add-on image crosses AWS partitions (aws-cn or
// aws-us-gov to aws, or back): the move is made, since the image can only be pulled in
// the cluster's own partition, but the same path may not be published there.
func (p *Policy) partitionNote(ic *imageClass, to image) string {
	from, into := partitionOf(ic.ecr.Region), partitionOf(p.region)
	if from == into {
		return ""
	}
	return fmt.Sprintf("is an EKS add-on image of the %s partition and is moved to the add-on registry of %s in the %s partition, %s; check that the %s partition publishes %s",
		from, p.region, into, to.host, into, to.path)
}
