package policy

// Pull is where a node pulls an image from once image-rewrite has run: what the
// requirements command needs to know of an image to say which endpoints its pull uses.
type Pull struct {
	// Image is the reference pulled, normalized; empty when the reference does not parse.
	Image string
	// Repository is the repository path of the reference as written, normalized (without
	// the host): the add-on an image is can be told from it.
	Repository string
	// Host is the registry host pulled from.
	Host string
	// ECR: Host is an ECR private registry reached through PrivateLink (not a dual-stack
	// host); Region is its region.
	ECR    bool
	Region string
	// Marketplace: the image is under registries.marketplace, always denied.
	Marketplace bool
}

// PullOf returns where the image raw is pulled from after image-rewrite (a rewrite rule,
// or the move of an EKS add-on image to the region's add-on registry). It does not ask
// whether the image is allowed: a denied image is never pulled.
func (p *Policy) PullOf(raw string) Pull {
	ic := p.images.class(raw)
	if ic.err != nil {
		return Pull{}
	}
	pull := Pull{Image: ic.img.String(), Repository: ic.img.path, Host: ic.img.host}
	if ic.rewritten != "" {
		if img, err := parseImage(ic.rewritten); err == nil {
			pull.Image, pull.Host = img.String(), img.host
		}
	}
	if h, ok := parseECRHost(pull.Host); ok && !h.DualStack {
		pull.ECR, pull.Region = true, h.Region
	}
	pull.Marketplace = ic.marketplace
	return pull
}
