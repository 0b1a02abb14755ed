package policy

import "strings"

// defaultAddonAccount publishes the Amazon EKS add-on images (VPC CNI, CoreDNS, kube-proxy,
// EBS/EFS CSI drivers, ...) in most regions. A region the table does not know is assumed to
// use it, as the older regions do; lint warns about such a region.
const defaultAddonAccount = "602401143452"

// addonRegistryRegion is one row of the add-on registry table: the account that publishes
// the Amazon EKS add-on images in a region, and the region's partition.
type addonRegistryRegion struct {
	region    string
	account   string
	partition string // "aws", "aws-cn" or "aws-us-gov"
}

// addonRegistries is the whole of the Amazon EKS User Guide page "View Amazon container
// image registries for Amazon EKS add-ons" for the aws, aws-cn and aws-us-gov partitions,
// one row per region, ordered by partition and region. Regions that use
// defaultAddonAccount are listed too, so the table is the page and a region missing from
// it is unknown, not silently "default".
//
// Where the page prints a registry host in another region than its row (ap-east-2's row
// names a host in ap-east-1), the row's account is taken in the row's own region: an image
// is pulled through the ECR endpoints of the cluster's region, so the add-on registry of
// ap-east-2 is 533267051163.dkr.ecr.ap-east-2.amazonaws.com.
//
// The page's row for the European Sovereign Cloud (partition aws-eusc, domain
// amazonaws.eu) is outside this table, as are the isolated partitions.
var addonRegistries = []addonRegistryRegion{
	{"af-south-1", "877085696533", "aws"},
	{"ap-east-1", "800184023465", "aws"},
	{"ap-east-2", "533267051163", "aws"},
	{"ap-northeast-1", "602401143452", "aws"},
	{"ap-northeast-2", "602401143452", "aws"},
	{"ap-northeast-3", "602401143452", "aws"},
	{"ap-south-1", "602401143452", "aws"},
	{"ap-south-2", "900889452093", "aws"},
	{"ap-southeast-1", "602401143452", "aws"},
	{"ap-southeast-2", "602401143452", "aws"},
	{"ap-southeast-3", "296578399912", "aws"},
	{"ap-southeast-4", "491585149902", "aws"},
	{"ap-southeast-5", "151610086707", "aws"},
	{"ap-southeast-6", "333609536671", "aws"},
	{"ap-southeast-7", "121268973566", "aws"},
	{"ca-central-1", "602401143452", "aws"},
	{"ca-west-1", "761377655185", "aws"},
	{"eu-central-1", "602401143452", "aws"},
	{"eu-central-2", "900612956339", "aws"},
	{"eu-north-1", "602401143452", "aws"},
	{"eu-south-1", "590381155156", "aws"},
	{"eu-south-2", "455263428931", "aws"},
	{"eu-west-1", "602401143452", "aws"},
	{"eu-west-2", "602401143452", "aws"},
	{"eu-west-3", "602401143452", "aws"},
	{"il-central-1", "066635153087", "aws"},
	{"me-central-1", "759879836304", "aws"},
	{"me-south-1", "558608220178", "aws"},
	{"mx-central-1", "730335286997", "aws"},
	{"sa-east-1", "602401143452", "aws"},
	{"us-east-1", "602401143452", "aws"},
	{"us-east-2", "602401143452", "aws"},
	{"us-west-1", "602401143452", "aws"},
	{"us-west-2", "602401143452", "aws"},

	{"cn-north-1", "918309763551", "aws-cn"},
	{"cn-northwest-1", "961992271922", "aws-cn"},

	{"us-gov-east-1", "151742754352", "aws-us-gov"},
	{"us-gov-west-1", "013241004608", "aws-us-gov"},
}

// addonAccounts indexes addonRegistries by region: the account of the region's add-on
// registry, for every region of the table.
var addonAccounts = func() map[string]string {
	m := make(map[string]string, len(addonRegistries))
	for _, r := range addonRegistries {
		m[r.region] = r.account
	}
	return m
}()

// addonPublishers is the set of accounts that publish add-on images in some region of
// addonRegistries. Classification reads it for every ECR image, hence a set.
var addonPublishers = func() map[string]bool {
	m := make(map[string]bool)
	for _, r := range addonRegistries {
		m[r.account] = true
	}
	return m
}()

// isAddonAccount reports whether account publishes EKS add-on images in some region.
func isAddonAccount(account string) bool {
	return addonPublishers[account]
}

// knownAddonRegion reports whether addonRegistries has a row for region. lint warns about a
// policy region it does not know: its add-on registry is then only a guess.
func knownAddonRegion(region string) bool {
	_, ok := addonAccounts[region]
	return ok
}

// addonRegistry is the host of the EKS add-on registry of region. A region the table does
// not know is given defaultAddonAccount.
func addonRegistry(region string) string {
	account, ok := addonAccounts[region]
	if !ok {
		account = defaultAddonAccount
	}
	return account + ".dkr.ecr." + region + "." + regionDomain(region)
}

// partitionOf is the AWS partition of region: "aws-cn" for the China regions, "aws-us-gov"
// for AWS GovCloud (US), "aws" for every other region. A move of an image between
// partitions is reported, since the two sides share no accounts or credentials.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}
