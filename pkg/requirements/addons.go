package requirements

import "strings"

// Addon is a component known by its image repository that calls AWS APIs, and the VPC
// endpoints those calls need.
type Addon struct {
	// Name is the add-on's name for people.
	Name string
	// Repositories are the last components of its image repository paths, matched on
	// `/` boundaries: cluster-autoscaler matches registry.k8s.io/autoscaling/cluster-autoscaler.
	Repositories []string
	// Endpoints are the services it calls, by Endpoint.Service.
	Endpoints []string
	// Why says what it calls them for.
	Why string
}

// Addons are the add-ons requirements recognises, by image repository. An add-on
// installed from a copy renamed under another repository is not recognised, and the
// AWS calls of an application's own SDK are never seen: README ("What the AWS side
// needs") says so.
var Addons = []Addon{
	{
		Name: "Cluster Autoscaler",
		Repositories: []string{"cluster-autoscaler", "cluster-autoscaler-amd64", "cluster-autoscaler-arm64",
			"cluster-autoscaler-arm", "cluster-autoscaler-ppc64le", "cluster-autoscaler-s390x"},
		Endpoints: []string{"autoscaling", "ec2"},
		Why:       "scales Auto Scaling groups and reads instance types",
	},
	{
		Name:         "AWS Load Balancer Controller",
		Repositories: []string{"aws-load-balancer-controller"},
		Endpoints:    []string{"elasticloadbalancing", "ec2"},
		Why:          "manages load balancers, target groups and security groups (Shield, WAF and WAFv2 are turned off by lb-controller-waf-shield)",
	},
	{
		Name:         "Amazon EFS CSI driver",
		Repositories: []string{"aws-efs-csi-driver"},
		Endpoints:    []string{"elasticfilesystem"},
		Why:          "creates access points on EFS file systems",
	},
	{
		Name:         "Amazon EBS CSI driver",
		Repositories: []string{"aws-ebs-csi-driver"},
		Endpoints:    []string{"ec2"},
		Why:          "creates, attaches and snapshots EBS volumes",
	},
	{
		Name:         "Amazon VPC CNI",
		Repositories: []string{"amazon-k8s-cni"},
		Endpoints:    []string{"ec2"},
		Why:          "attaches network interfaces and assigns pod IP addresses",
	},
	{
		Name:         "CloudWatch agent",
		Repositories: []string{"amazon/cloudwatch-agent", "cloudwatch-agent/cloudwatch-agent"},
		Endpoints:    []string{"logs"},
		Why:          "sends Container Insights logs and metrics as log events",
	},
	{
		Name:         "Fluent Bit",
		Repositories: []string{"aws-for-fluent-bit", "fluent-bit"},
		Endpoints:    []string{"logs"},
		Why:          "ships container logs to CloudWatch Logs (its usual output on EKS)",
	},
	{
		Name:         "AWS X-Ray daemon",
		Repositories: []string{"aws-xray-daemon"},
		Endpoints:    []string{"xray"},
		Why:          "sends trace segments to X-Ray",
	},
	{
		Name:         "AWS Distro for OpenTelemetry collector",
		Repositories: []string{"aws-otel-collector"},
		Endpoints:    []string{"xray"},
		Why:          "exports traces to X-Ray",
	},
}

// addonOf returns the add-on whose image repository path is repo (normalized, without
// the host), or nil.
func addonOf(repo string) *Addon {
	for i := range Addons {
		for _, r := range Addons[i].Repositories {
			if repo == r || strings.HasSuffix(repo, "/"+r) {
				return &Addons[i]
			}
		}
	}
	return nil
}
