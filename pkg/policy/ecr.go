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
