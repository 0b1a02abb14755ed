package requirements

import "strings"

// EndpointType is the type of a VPC endpoint.
type EndpointType string

const (
	// Interface endpoints are ENIs in the cluster's subnets, with private DNS.
	Interface EndpointType = "Interface"
	// Gateway endpoints are routes in the subnets' route tables (S3).
	Gateway EndpointType = "Gateway"
)

// Endpoint is a VPC endpoint of the AWS guide's table that a private cluster may need.
type Endpoint struct {
	// Service is the service's part of the endpoint service name: ecr.api, s3, sts.
	Service string
	// Type is Interface or Gateway.
	Type EndpointType
	// ChinaPrefix: in the China regions the endpoint service name begins with
	// cn.com.amazonaws instead of com.amazonaws (as DescribeVpcEndpointServices lists
	// them there).
	ChinaPrefix bool
	// Purpose says what goes through the endpoint.
	Purpose string
}

// Endpoints are the VPC endpoints requirements may ask for, in the order they are
// reported. Everything that asks for an endpoint names it by Service from this table.
var Endpoints = []Endpoint{
	{Service: "ecr.api", Type: Interface, ChinaPrefix: true, Purpose: "ECR API: image manifests' authorization and pull-through cache"},
	{Service: "ecr.dkr", Type: Interface, ChinaPrefix: true, Purpose: "ECR registry: the Docker registry API nodes pull from"},
	{Service: "s3", Type: Gateway, Purpose: "S3: ECR serves image layers from S3"},
	{Service: "sts", Type: Interface, ChinaPrefix: true, Purpose: "STS: IRSA's AssumeRoleWithWebIdentity at the regional endpoint"},
	{Service: "eks-auth", Type: Interface, Purpose: "EKS Auth: EKS Pod Identity's AssumeRoleForPodIdentity"},
	{Service: "ec2", Type: Interface, ChinaPrefix: true, Purpose: "EC2 API"},
	{Service: "elasticloadbalancing", Type: Interface, Purpose: "Elastic Load Balancing API"},
	{Service: "autoscaling", Type: Interface, ChinaPrefix: true, Purpose: "EC2 Auto Scaling API"},
	{Service: "logs", Type: Interface, Purpose: "CloudWatch Logs"},
	{Service: "xray", Type: Interface, ChinaPrefix: true, Purpose: "AWS X-Ray"},
	{Service: "elasticfilesystem", Type: Interface, ChinaPrefix: true, Purpose: "Amazon EFS API"},
	{Service: "secretsmanager", Type: Interface, Purpose: "Secrets Manager: the upstream credentials of pull-through cache rules"},
}

// Services named by the rules of this package.
const (
	serviceECRAPI         = "ecr.api"
	serviceECRDKR         = "ecr.dkr"
	serviceS3             = "s3"
	serviceSTS            = "sts"
	serviceEKSAuth        = "eks-auth"
	serviceSecretsManager = "secretsmanager"
)

// endpointIndex indexes Endpoints by Service.
var endpointIndex = func() map[string]int {
	m := make(map[string]int, len(Endpoints))
	for i, e := range Endpoints {
		m[e.Service] = i
	}
	return m
}()

// ServiceName is the endpoint service name of e in region:
// com.amazonaws.<region>.<service>, or cn.com.amazonaws.<region>.<service> for the
// services so named in the China regions.
func (e *Endpoint) ServiceName(region string) string {
	prefix := "com.amazonaws."
	if e.ChinaPrefix && strings.HasPrefix(region, "cn-") {
		prefix = "cn." + prefix
	}
	return prefix + region + "." + e.Service
}
