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
	f := c.imageFacts(e.p.images)
	if f.rewritten == "" {
		return
	}
	e.addChange(c, RuleImageRewrite, mode, SetImage, c.path(e.spec).Child("image"), c.image, f.rewritten, "")
	if mode == ModeEnforce {
		c.image, c.facts = f.rewritten, nil
	}
}

// rewrite is the image's new home, if image-rewrite moves it. Images already allowed,
// excluded and Marketplace images stay; the result is always allowed, so a second pass
// changes nothing.
func (p *Policy) rewrite(img image) (image, bool) {
	if p.isMarketplace(img.host, img.path) || p.isAllowed(img.host, img.path) || p.isExcludedImage(img) {
		return image{}, false
	}
	if p.eksAddonsToRegion {
		if ecr, ok := parseECRHost(img.host); ok && isAddonAccount(ecr.Account) && img.host != p.addonRegistry {
			if to, err := img.withRepository(p.addonRegistry, img.path); err == nil {
				return to, true
			}
			return image{}, false
		}
	}
	for _, r := range p.rewrites {
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
			return image{}, false
		}
		to, err := img.withRepository(r.to.host, newPath)
		if err != nil {
			return image{}, false
		}
		return to, true
	}
	return image{}, false
}

// checkImage judges one container's image: at most one violation, the most specific of
// marketplace-image, image-region and image-registry. A rule that is off leaves the image
// to the next one. The field path is built only for a violation: most images pass.
func (e *evaluation) checkImage(c *container) {
	rule, mode, explanation := e.imageVerdict(c)
	if rule == "" {
		return
	}
	p := c.path(e.spec).Child("image")
	e.addViolation(rule, mode, p, c.image, fmt.Sprintf("image %s (%s) %s [%s]", quote(c.image), p, explanation, rule))
}

// imageVerdict is the violation of the container's image, if any: the rule, its mode, and
// what is wrong and how to fix it.
func (e *evaluation) imageVerdict(c *container) (RuleID, Mode, string) {
	registryMode := e.modes.of(RuleImageRegistry)
	f := c.imageFacts(e.p.images)
	img := f.img
	switch {
	case f.err != nil:
		if registryMode == ModeOff {
			return "", "", ""
		}
		return RuleImageRegistry, registryMode, fmt.Sprintf("cannot be parsed: %v; use a valid image reference such as %s/app:1.0",
			f.err, e.p.exampleRegistry())
	case e.p.isExcludedImage(img):
		return "", "", ""
	}
	if m := e.modes.of(RuleMarketplaceImage); m != ModeOff && e.p.isMarketplace(img.host, img.path) {
		return RuleMarketplaceImage, m, "is an AWS Marketplace image; metered Marketplace images cannot reach the AWS Marketplace Metering Service from a private cluster; use a non-metered edition mirrored into your own ECR"
	}
	if e.p.isAllowed(img.host, img.path) {
		return "", "", ""
	}
	ecr, isECR := parseECRHost(img.host)
	if m := e.modes.of(RuleImageRegion); m != ModeOff && isECR && ecr.Region != e.p.region {
		return RuleImageRegion, m, fmt.Sprintf(
			"is in the ECR registry of region %s, but the cluster runs in %s; a private cluster reaches ECR only in its own region through its VPC endpoints%s; replicate the repository to %s",
			ecr.Region, e.p.region, dualStackNote(ecr), e.p.region)
	}
	if registryMode == ModeOff {
		return "", "", ""
	}
	return RuleImageRegistry, registryMode, fmt.Sprintf(
		"is not in an allowed private registry (allowed: %s)%s; mirror it into ECR or add a rewrite rule",
		e.p.allowedText, dualStackNoteFor(ecr, isECR))
}

func dualStackNoteFor(ecr ecrHost, isECR bool) string {
	if !isECR {
		return ""
	}
	return dualStackNote(ecr)
}

// dualStackNote explains why an ECR dual-stack host fails in a private cluster.
func dualStackNote(ecr ecrHost) string {
	if !ecr.DualStack {
		return ""
	}
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

func quote(s string) string { return strconv.Quote(s) }
