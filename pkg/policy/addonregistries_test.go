package policy

import "testing"

// addonRegistryPage is the Amazon EKS User Guide page "View Amazon container image
// registries for Amazon EKS add-ons", written out row by row for the aws, aws-cn and
// aws-us-gov partitions. The hosts are spelled out rather than built, so the test checks
// the table and the host format both. ap-east-2's host is in ap-east-2, although the page
// prints it in ap-east-1 (see addonRegistries).
var addonRegistryPage = []struct {
	region, account, host, partition string
}{
	{"af-south-1", "877085696533", "877085696533.dkr.ecr.af-south-1.amazonaws.com", "aws"},
	{"ap-east-1", "800184023465", "800184023465.dkr.ecr.ap-east-1.amazonaws.com", "aws"},
	{"ap-east-2", "533267051163", "533267051163.dkr.ecr.ap-east-2.amazonaws.com", "aws"},
	{"ap-northeast-1", "602401143452", "602401143452.dkr.ecr.ap-northeast-1.amazonaws.com", "aws"},
	{"ap-northeast-2", "602401143452", "602401143452.dkr.ecr.ap-northeast-2.amazonaws.com", "aws"},
	{"ap-northeast-3", "602401143452", "602401143452.dkr.ecr.ap-northeast-3.amazonaws.com", "aws"},
	{"ap-south-1", "602401143452", "602401143452.dkr.ecr.ap-south-1.amazonaws.com", "aws"},
	{"ap-south-2", "900889452093", "900889452093.dkr.ecr.ap-south-2.amazonaws.com", "aws"},
	{"ap-southeast-1", "602401143452", "602401143452.dkr.ecr.ap-southeast-1.amazonaws.com", "aws"},
	{"ap-southeast-2", "602401143452", "602401143452.dkr.ecr.ap-southeast-2.amazonaws.com", "aws"},
	{"ap-southeast-3", "296578399912", "296578399912.dkr.ecr.ap-southeast-3.amazonaws.com", "aws"},
	{"ap-southeast-4", "491585149902", "491585149902.dkr.ecr.ap-southeast-4.amazonaws.com", "aws"},
	{"ap-southeast-5", "151610086707", "151610086707.dkr.ecr.ap-southeast-5.amazonaws.com", "aws"},
	{"ap-southeast-6", "333609536671", "333609536671.dkr.ecr.ap-southeast-6.amazonaws.com", "aws"},
	{"ap-southeast-7", "121268973566", "121268973566.dkr.ecr.ap-southeast-7.amazonaws.com", "aws"},
	{"ca-central-1", "602401143452", "602401143452.dkr.ecr.ca-central-1.amazonaws.com", "aws"},
	{"ca-west-1", "761377655185", "761377655185.dkr.ecr.ca-west-1.amazonaws.com", "aws"},
	{"eu-central-1", "602401143452", "602401143452.dkr.ecr.eu-central-1.amazonaws.com", "aws"},
	{"eu-central-2", "900612956339", "900612956339.dkr.ecr.eu-central-2.amazonaws.com", "aws"},
	{"eu-north-1", "602401143452", "602401143452.dkr.ecr.eu-north-1.amazonaws.com", "aws"},
	{"eu-south-1", "590381155156", "590381155156.dkr.ecr.eu-south-1.amazonaws.com", "aws"},
	{"eu-south-2", "455263428931", "455263428931.dkr.ecr.eu-south-2.amazonaws.com", "aws"},
	{"eu-west-1", "602401143452", "602401143452.dkr.ecr.eu-west-1.amazonaws.com", "aws"},
	{"eu-west-2", "602401143452", "602401143452.dkr.ecr.eu-west-2.amazonaws.com", "aws"},
	{"eu-west-3", "602401143452", "602401143452.dkr.ecr.eu-west-3.amazonaws.com", "aws"},
	{"il-central-1", "066635153087", "066635153087.dkr.ecr.il-central-1.amazonaws.com", "aws"},
	{"me-central-1", "759879836304", "759879836304.dkr.ecr.me-central-1.amazonaws.com", "aws"},
	{"me-south-1", "558608220178", "558608220178.dkr.ecr.me-south-1.amazonaws.com", "aws"},
	{"mx-central-1", "730335286997", "730335286997.dkr.ecr.mx-central-1.amazonaws.com", "aws"},
	{"sa-east-1", "602401143452", "602401143452.dkr.ecr.sa-east-1.amazonaws.com", "aws"},
	{"us-east-1", "602401143452", "602401143452.dkr.ecr.us-east-1.amazonaws.com", "aws"},
	{"us-east-2", "602401143452", "602401143452.dkr.ecr.us-east-2.amazonaws.com", "aws"},
	{"us-west-1", "602401143452", "602401143452.dkr.ecr.us-west-1.amazonaws.com", "aws"},
	{"us-west-2", "602401143452", "602401143452.dkr.ecr.us-west-2.amazonaws.com", "aws"},
	{"cn-north-1", "918309763551", "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn", "aws-cn"},
	{"cn-northwest-1", "961992271922", "961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn", "aws-cn"},
	{"us-gov-east-1", "151742754352", "151742754352.dkr.ecr.us-gov-east-1.amazonaws.com", "aws-us-gov"},
	{"us-gov-west-1", "013241004608", "013241004608.dkr.ecr.us-gov-west-1.amazonaws.com", "aws-us-gov"},
}

func TestAddonRegistryPage(t *testing.T) {
	for _, tt := range addonRegistryPage {
		t.Run(tt.region+" pulls add-ons from "+tt.account, func(t *testing.T) {
			if got := addonRegistry(tt.region); got != tt.host {
				t.Errorf("addonRegistry(%q) = %q, want %q", tt.region, got, tt.host)
			}
			if !isAddonAccount(tt.account) {
				t.Errorf("isAddonAccount(%q) = false, want true", tt.account)
			}
			if !knownAddonRegion(tt.region) {
				t.Errorf("knownAddonRegion(%q) = false, want true", tt.region)
			}
			if got := partitionOf(tt.region); got != tt.partition {
				t.Errorf("partitionOf(%q) = %q, want %q", tt.region, got, tt.partition)
			}
		})
	}
}

func TestAddonRegistriesHoldOnlyThePage(t *testing.T) {
	onPage := make(map[string]string, len(addonRegistryPage))
	for _, row := range addonRegistryPage {
		onPage[row.region] = row.partition
	}
	seen := make(map[string]bool, len(addonRegistries))
	for _, row := range addonRegistries {
		partition, ok := onPage[row.region]
		switch {
		case !ok:
			t.Errorf("addonRegistries has %s, which the page does not list", row.region)
		case seen[row.region]:
			t.Errorf("addonRegistries lists %s twice", row.region)
		case row.partition != partition:
			t.Errorf("addonRegistries puts %s in partition %q, want %q", row.region, row.partition, partition)
		}
		seen[row.region] = true
	}
	if len(seen) != len(onPage) {
		t.Errorf("addonRegistries has %d regions, want the %d of the page", len(seen), len(onPage))
	}
}

func TestAddonRegistryOfAnUnknownRegion(t *testing.T) {
	tests := []struct {
		name, region, host, partition string
	}{
		{"an unknown region falls back to the default account", "xx-test-1", "602401143452.dkr.ecr.xx-test-1.amazonaws.com", "aws"},
		{"an unknown China region keeps the China domain", "cn-test-1", "602401143452.dkr.ecr.cn-test-1.amazonaws.com.cn", "aws-cn"},
		{"an unknown GovCloud region is in aws-us-gov", "us-gov-test-1", "602401143452.dkr.ecr.us-gov-test-1.amazonaws.com", "aws-us-gov"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := addonRegistry(tt.region); got != tt.host {
				t.Errorf("addonRegistry(%q) = %q, want %q", tt.region, got, tt.host)
			}
			if knownAddonRegion(tt.region) {
				t.Errorf("knownAddonRegion(%q) = true, want false", tt.region)
			}
			if got := partitionOf(tt.region); got != tt.partition {
				t.Errorf("partitionOf(%q) = %q, want %q", tt.region, got, tt.partition)
			}
		})
	}
}

func TestIsAddonAccount(t *testing.T) {
	tests := []struct {
		name, account string
		want          bool
	}{
		{"the default account publishes add-ons", "602401143452", true},
		{"a special-region account publishes add-ons", "151610086707", true},
		{"a customer account does not", "111122223333", false},
		{"the European Sovereign Cloud account is outside the table", "877088126301", false},
		{"an empty account does not", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isAddonAccount(tt.account); got != tt.want {
				t.Errorf("isAddonAccount(%q) = %v, want %v", tt.account, got, tt.want)
			}
		})
	}
}
