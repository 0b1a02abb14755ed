package policy

import "sync"

// imageClass is what the policy concludes about one image reference, computed once: its
// parse, where its registry stands (excluded, Marketplace, allowed, an ECR host and its
// region, an EKS add-on registry) and where image-rewrite moves it. The image rules read
// it and their modes; none of them looks at the reference again.
type imageClass struct {
	img image
	err error // the parse error; nothing else is set when the reference does not parse

	excluded    bool // matched by exclude.images
	marketplace bool // under registries.marketplace
	allowed     bool // under registries.allowed, or the region's add-on registry when allowed
	ecr         ecrHost
	isECR       bool // ecr is set: the host is an ECR registry
	addon       bool // an EKS add-on registry, of any region

	// rewritten is the reference image-rewrite moves the image to, "" if none.
	rewritten string
	// note is what the user must be told about that rewrite (a pinned digest a
	// pull-through cache cannot fill; a move across partitions), "" if nothing; the
	// evaluation adds where and the rule id.
	note string
}

// classify parses raw and classifies it against the policy.
func (p *Policy) classify(raw string) *imageClass {
	c := &imageClass{}
	if c.img, c.err = parseImage(raw); c.err != nil {
		return c
	}
	host, path := c.img.host, c.img.path
	c.excluded = p.isExcludedImage(c.img)
	c.marketplace = p.isMarketplace(host, path)
	c.allowed = p.isAllowed(host, path)
	c.ecr, c.isECR = parseECRHost(host)
	c.addon = c.isECR && isAddonAccount(c.ecr.Account)
	if to, note, ok := p.rewrite(c); ok {
		c.rewritten, c.note = to.String(), note
	}
	return c
}

// otherRegion reports whether the image is in the ECR registry of another region than
// the cluster's.
func (c *imageClass) otherRegion(region string) bool { return c.isECR && c.ecr.Region != region }

// imageCacheSize bounds the memo of classified images. A cluster runs far fewer distinct
// images; when a flood of distinct references fills it, it starts over.
const imageCacheSize = 4096

// imageCache memoizes each image reference's classification. Parsing and rebuilding
// references through distribution/reference's regular expressions is the engine's
// largest cost, and the same images arrive again and again. A classification depends
// only on the reference and the policy, so each Policy has its own cache. It is safe for
// concurrent use and invisible to callers: an answer is the same whether it is cached or
// not.
type imageCache struct {
	policy  *Policy
	mu      sync.RWMutex
	entries map[string]*imageClass
}

func newImageCache(p *Policy) *imageCache {
	return &imageCache{policy: p, entries: make(map[string]*imageClass)}
}

// class returns the classification of raw, computing it on the first request.
func (c *imageCache) class(raw string) *imageClass {
	c.mu.RLock()
	ic, ok := c.entries[raw]
	c.mu.RUnlock()
	if ok {
		return ic
	}
	ic = c.policy.classify(raw)
	c.mu.Lock()
	if len(c.entries) >= imageCacheSize {
		clear(c.entries)
	}
	c.entries[raw] = ic
	c.mu.Unlock()
	return ic
}
