package policy

import "strings"

// ecrHost is what an Amazon ECR registry host name says about the registry.
//
// The recognised forms are
//
//	<account>.dkr.ecr.<region>.amazonaws.com          (commercial and GovCloud partitions)
//	<account>.dkr.ecr-fips.<region>.amazonaws.com     (FIPS endpoints)
//	<account>.dkr.ecr.<region>.amazonaws.com.cn       (China partition)
//	<account>.dkr-ecr.<region>.on.aws                 (dual-stack; no PrivateLink endpoint)
//	<account>.dkr-ecr-fips.<region>.on.aws            (dual-stack FIPS)
type ecrHost struct {
	Account   string
	Region    string
	FIPS      bool
	DualStack bool
}

// parseECRHost reports whether host (lower case, without a port) is an ECR registry host,
// and what it names. It is on the admission path, so it slices strings instead of running
// a regular expression.
func parseECRHost(host string) (ecrHost, bool) {
	account, rest, ok := strings.Cut(host, ".")
	if !ok || !isAccountID(account) {
		return ecrHost{}, false
	}
	var h ecrHost
	h.Account = account
	service, rest, ok := strings.Cut(rest, ".")
	if !ok {
		return ecrHost{}, false
	}
	var region string
	switch service {
	case "dkr":
		endpoint, r, ok := strings.Cut(rest, ".")
		if !ok {
			return ecrHost{}, false
		}
		switch endpoint {
		case "ecr":
		case "ecr-fips":
			h.FIPS = true
		default:
			return ecrHost{}, false
		}
		var suffixOK bool
		region, suffixOK = cutSuffixes(r, ".amazonaws.com", ".amazonaws.com.cn")
		if !suffixOK {
			return ecrHost{}, false
		}
	case "dkr-ecr", "dkr-ecr-fips":
		h.DualStack = true
		h.FIPS = service == "dkr-ecr-fips"
		var suffixOK bool
		region, suffixOK = cutSuffixes(rest, ".on.aws")
		if !suffixOK {
			return ecrHost{}, false
		}
	default:
		return ecrHost{}, false
	}
	if !isRegionName(region) {
		return ecrHost{}, false
	}
	h.Region = region
	return h, true
}

// cutSuffixes removes the first of suffixes that s ends with.
func cutSuffixes(s string, suffixes ...string) (string, bool) {
	for _, suffix := range suffixes {
		if before, ok := strings.CutSuffix(s, suffix); ok {
			return before, true
		}
	}
	return s, false
}

// isAccountID reports whether s is a twelve-digit AWS account id.
func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isRegionName reports whether s looks like an AWS region name: lower-case words joined by
// dashes, ending in a number (us-west-2, us-gov-east-1, cn-north-1, eu-isoe-west-1).
func isRegionName(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		last := i == len(parts)-1
		for j := 0; j < len(p); j++ {
			c := p[j]
			if last && (c < '0' || c > '9') || !last && (c < 'a' || c > 'z') {
				return false
			}
		}
	}
	return true
}

// regionDomain is the DNS suffix of ECR in the region's partition.
func regionDomain(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// defaultAddonAccount publishes the Amazon EKS add-on images (VPC CNI, CoreDNS, kube-proxy,
// EBS/EFS CSI drivers, ...) in most regions.
const defaultAddonAccount = "602401143452"

// addonAccounts is the account of the Amazon EKS add-on registry in each region that does
// not use defaultAddonAccount. Source: the Amazon EKS User Guide, "View Amazon container
// image registries for Amazon EKS add-ons".
var addonAccounts = map[string]string{
	"af-south-1":     "877085696533",
	"ap-east-1":      "800184023465",
	"ap-east-2":      "533267051163",
	"ap-south-2":     "900889452093",
	"ap-southeast-3": "296578399912",
	"ap-southeast-4": "491585149902",
	"ap-southeast-6": "333609536671",
	"ap-southeast-7": "121268973566",
	"ca-west-1":      "761377655185",
	"eu-central-2":   "900612956339",
	"eu-south-1":     "590381155156",
	"eu-south-2":     "455263428931",
	"il-central-1":   "066635153087",
	"me-central-1":   "759879836304",
	"me-south-1":     "558608220178",
	"mx-central-1":   "730335286997",
	"cn-north-1":     "918309763551",
	"cn-northwest-1": "961992271922",
	"us-gov-east-1":  "151742754352",
	"us-gov-west-1":  "013241004608",
}

// isAddonAccount reports whether account publishes EKS add-on images in some region.
func isAddonAccount(account string) bool {
	if account == defaultAddonAccount {
		return true
	}
	for _, a := range addonAccounts {
		if a == account {
			return true
		}
	}
	return false
}

// addonRegistry is the host of the EKS add-on registry of region.
func addonRegistry(region string) string {
	account, ok := addonAccounts[region]
	if !ok {
		account = defaultAddonAccount
	}
	return account + ".dkr.ecr." + region + "." + regionDomain(region)
}
