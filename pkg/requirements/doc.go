// Package requirements says what the AWS side of an Amazon EKS private cluster must
// provide for a privateguard policy and a set of workloads: the ECR pull-through cache
// rules the policy's rewrite rules assume, and the VPC endpoints the workloads call.
//
// AWS's guide "Deploy private clusters with limited internet access" lists the VPC
// endpoints a private cluster may need; which ones a cluster does need depends on what
// runs in it. This package reads that from the objects themselves: images that come from
// ECR need ecr.api, ecr.dkr and the s3 gateway; IRSA pods need sts; EKS Pod Identity
// needs eks-auth; the add-ons of the guide (Cluster Autoscaler, the AWS Load Balancer
// Controller, the EFS and EBS CSI drivers, ...) are known by their image repositories
// (Addons) and need the endpoints of the AWS APIs they call (Endpoints). It cannot see the
// AWS calls an application makes through its own SDK: those endpoints are the
// application owner's to add.
//
// The package is pure: it takes the compiled policy, its cache rules and the objects read
// by pkg/audit, and returns Requirements, which it writes as text, JSON or Terraform.
package requirements
