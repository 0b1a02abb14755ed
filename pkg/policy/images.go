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
	img, err := c.parsedImage(e.p.images)
	if err != nil {
		return // image-registry reports it
	}
	to, ok := e.p.rewrite(img)
	if !ok {
		return
	}
	s := to.String()
	e.addChange(c, RuleImageRewrite, mode, SetImage, c.path(e.spec).Child("image"), c.image, s, "")
	if mode == ModeEnforce {
		c.setImage(to, s)
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
// to the next one.
func (e *evaluation) checkImage(c *container) {
	imagePath := c.path(e.spec).Child("image")
	registryMode := e.modes.of(RuleImageRegistry)
	img, err := c.parsedImage(e.p.images)
	if err != nil {
		if registryMode != ModeOff {
			e.addViolation(RuleImageRegistry, registryMode, imagePath, c.image, fmt.Sprintf(
				"image %s (%s) cannot be parsed: %v; use a valid image reference such as %s/app:1.0 [%s]",
				quote(c.image), imagePath, err, e.p.exampleRegistry(), RuleImageRegistry))
		}
		return
	}
	if e.p.isExcludedImage(img) {
		return
	}
	if m := e.modes.of(RuleMarketplaceImage); m != ModeOff && e.p.isMarketplace(img.host, img.path) {
		e.addViolation(RuleMarketplaceImage, m, imagePath, c.image, fmt.Sprintf(
			"image %s (%s) is an AWS Marketplace image; metered Marketplace images cannot reach the AWS Marketplace Metering Service from a private cluster; use a non-metered edition mirrored into your own ECR [%s]",
			quote(c.image), imagePath, RuleMarketplaceImage))
		return
	}
	if e.p.isAllowed(img.host, img.path) {
		return
	}
	ecr, isECR := parseECRHost(img.host)
	if m := e.modes.of(RuleImageRegion); m != ModeOff && isECR && ecr.Region != e.p.region {
		e.addViolation(RuleImageRegion, m, imagePath, c.image, fmt.Sprintf(
			"image %s (%s) is in the ECR registry of region %s, but the cluster runs in %s; a private cluster reaches ECR only in its own region through its VPC endpoints%s; replicate the repository to %s [%s]",
			quote(c.image), imagePath, ecr.Region, e.p.region, dualStackNote(ecr), e.p.region, RuleImageRegion))
		return
	}
	if registryMode != ModeOff {
		e.addViolation(RuleImageRegistry, registryMode, imagePath, c.image, fmt.Sprintf(
			"image %s (%s) is not in an allowed private registry (allowed: %s)%s; mirror it into ECR or add a rewrite rule [%s]",
			quote(c.image), imagePath, e.p.allowedText, dualStackNoteFor(ecr, isECR), RuleImageRegistry))
	}
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
