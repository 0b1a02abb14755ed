# What the AWS side of the private cluster needs, in us-west-2. Written by privateguard requirements.

variable "vpc_id" {
  type        = string
  description = "The VPC of the cluster."
}

variable "subnet_ids" {
  type        = list(string)
  description = "The subnets of the interface endpoints: the cluster's private subnets, one per Availability Zone."
}

variable "security_group_ids" {
  type        = list(string)
  description = "The security groups of the interface endpoints: they must allow HTTPS (443) from the nodes and pods."
}

variable "route_table_ids" {
  type        = list(string)
  description = "The route tables of the cluster's private subnets, for the S3 gateway endpoint."
}

variable "docker_hub_credential_arn" {
  type        = string
  description = "The ARN of the Secrets Manager secret with the Docker Hub credential: its name must begin with ecr-pullthroughcache/, in the account and region of the rule."
}

variable "ghcr_credential_arn" {
  type        = string
  description = "The ARN of the Secrets Manager secret with the GitHub Container Registry credential: its name must begin with ecr-pullthroughcache/, in the account and region of the rule."
}

variable "acme_acr_credential_arn" {
  type        = string
  description = "The ARN of the Secrets Manager secret with the Microsoft Azure Container Registry credential: its name must begin with ecr-pullthroughcache/, in the account and region of the rule."
}

variable "platform_role_arn" {
  type        = string
  description = "The ARN of the IAM role ECR assumes to read the upstream registry 444455556666.dkr.ecr.us-west-2.amazonaws.com (another account)."
}

resource "aws_ecr_pull_through_cache_rule" "docker_hub" {
  # Docker Hub (docker.io) for rewrite.rules[0], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "docker-hub"
  upstream_registry_url = "registry-1.docker.io"
  credential_arn        = var.docker_hub_credential_arn
}

resource "aws_ecr_pull_through_cache_rule" "ecr_public" {
  # Amazon ECR Public (public.ecr.aws) for rewrite.rules[1], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "ecr-public"
  upstream_registry_url = "public.ecr.aws"
}

resource "aws_ecr_pull_through_cache_rule" "k8s" {
  # Kubernetes container image registry (registry.k8s.io) for rewrite.rules[2], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "k8s"
  upstream_registry_url = "registry.k8s.io"
}

resource "aws_ecr_pull_through_cache_rule" "ghcr" {
  # GitHub Container Registry (ghcr.io/acme) for rewrite.rules[3], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "ghcr"
  upstream_registry_url = "ghcr.io"
  credential_arn        = var.ghcr_credential_arn
}

resource "aws_ecr_pull_through_cache_rule" "acme_acr" {
  # Microsoft Azure Container Registry (acme.azurecr.io) for rewrite.rules[4], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "acme-acr"
  upstream_registry_url = "acme.azurecr.io"
  credential_arn        = var.acme_acr_credential_arn
}

resource "aws_ecr_pull_through_cache_rule" "platform" {
  # Amazon ECR private registry (444455556666.dkr.ecr.us-west-2.amazonaws.com/platform-team) for rewrite.rules[5], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix      = "platform"
  upstream_registry_url      = "444455556666.dkr.ecr.us-west-2.amazonaws.com"
  upstream_repository_prefix = "platform-team"
  custom_role_arn            = var.platform_role_arn
}

resource "aws_vpc_endpoint" "ecr_api" {
  # DaemonSet kube-system/aws-node: pulls from ECR 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.19.2-eksbuild.1, 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1, 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-network-policy-agent:v1.1.6-eksbuild.1
  # Deployment kube-system/aws-load-balancer-controller: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/eks/aws-load-balancer-controller:v2.11.0
  # Deployment kube-system/cluster-autoscaler: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/k8s/autoscaling/cluster-autoscaler:v1.32.1
  # Deployment kube-system/ebs-csi-controller: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/ebs-csi-driver/aws-ebs-csi-driver:v1.38.1, 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/eks-distro/kubernetes-csi/external-provisioner:v5.1.0-eks-1-32-1
  # Deployment kube-system/efs-csi-controller: pulls from ECR 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efs-csi-driver:v2.1.0
  # DaemonSet amazon-cloudwatch/fluent-bit: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/aws-observability/aws-for-fluent-bit:2.32.4
  # DaemonSet amazon-cloudwatch/cloudwatch-agent: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/cloudwatch-agent/cloudwatch-agent:1.300050.0b1062
  # DaemonSet observability/xray-daemon: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/amazon/aws-xray-daemon:3.3.13
  # Deployment observability/adot-collector: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/aws-observability/aws-otel-collector:v0.42.0
  # Pod batch/report-builder: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/report-builder:1.4.0
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.ecr.api"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "ecr_dkr" {
  # DaemonSet kube-system/aws-node: pulls from ECR 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.19.2-eksbuild.1, 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1, 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-network-policy-agent:v1.1.6-eksbuild.1
  # Deployment kube-system/aws-load-balancer-controller: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/eks/aws-load-balancer-controller:v2.11.0
  # Deployment kube-system/cluster-autoscaler: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/k8s/autoscaling/cluster-autoscaler:v1.32.1
  # Deployment kube-system/ebs-csi-controller: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/ebs-csi-driver/aws-ebs-csi-driver:v1.38.1, 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/eks-distro/kubernetes-csi/external-provisioner:v5.1.0-eks-1-32-1
  # Deployment kube-system/efs-csi-controller: pulls from ECR 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efs-csi-driver:v2.1.0
  # DaemonSet amazon-cloudwatch/fluent-bit: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/aws-observability/aws-for-fluent-bit:2.32.4
  # DaemonSet amazon-cloudwatch/cloudwatch-agent: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/cloudwatch-agent/cloudwatch-agent:1.300050.0b1062
  # DaemonSet observability/xray-daemon: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/amazon/aws-xray-daemon:3.3.13
  # Deployment observability/adot-collector: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/aws-observability/aws-otel-collector:v0.42.0
  # Pod batch/report-builder: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/report-builder:1.4.0
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.ecr.dkr"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "s3" {
  # DaemonSet kube-system/aws-node: pulls from ECR 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.19.2-eksbuild.1, 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1, 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-network-policy-agent:v1.1.6-eksbuild.1
  # Deployment kube-system/aws-load-balancer-controller: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/eks/aws-load-balancer-controller:v2.11.0
  # Deployment kube-system/cluster-autoscaler: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/k8s/autoscaling/cluster-autoscaler:v1.32.1
  # Deployment kube-system/ebs-csi-controller: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/ebs-csi-driver/aws-ebs-csi-driver:v1.38.1, 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/eks-distro/kubernetes-csi/external-provisioner:v5.1.0-eks-1-32-1
  # Deployment kube-system/efs-csi-controller: pulls from ECR 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efs-csi-driver:v2.1.0
  # DaemonSet amazon-cloudwatch/fluent-bit: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/aws-observability/aws-for-fluent-bit:2.32.4
  # DaemonSet amazon-cloudwatch/cloudwatch-agent: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/cloudwatch-agent/cloudwatch-agent:1.300050.0b1062
  # DaemonSet observability/xray-daemon: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/amazon/aws-xray-daemon:3.3.13
  # Deployment observability/adot-collector: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ecr-public/aws-observability/aws-otel-collector:v0.42.0
  # Pod batch/report-builder: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/ghcr/acme/report-builder:1.4.0
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.us-west-2.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
}

resource "aws_vpc_endpoint" "sts" {
  # DaemonSet kube-system/aws-node: runs as service account aws-node, annotated eks.amazonaws.com/role-arn (IRSA)
  # Deployment kube-system/aws-load-balancer-controller: runs as service account aws-load-balancer-controller, annotated eks.amazonaws.com/role-arn (IRSA)
  # Pod batch/report-builder: container app sets AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (IRSA)
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.sts"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "eks_auth" {
  # Deployment kube-system/cluster-autoscaler: container cluster-autoscaler uses EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI)
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.eks-auth"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "ec2" {
  # DaemonSet kube-system/aws-node: runs Amazon VPC CNI (602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1), which attaches network interfaces and assigns pod IP addresses
  # Deployment kube-system/aws-load-balancer-controller: runs AWS Load Balancer Controller (public.ecr.aws/eks/aws-load-balancer-controller:v2.11.0), which manages load balancers, target groups and security groups (Shield, WAF and WAFv2 are turned off by lb-controller-waf-shield)
  # Deployment kube-system/cluster-autoscaler: runs Cluster Autoscaler (registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.1), which scales Auto Scaling groups and reads instance types
  # Deployment kube-system/ebs-csi-controller: runs Amazon EBS CSI driver (public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.38.1), which creates, attaches and snapshots EBS volumes
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.ec2"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "elasticloadbalancing" {
  # Deployment kube-system/aws-load-balancer-controller: runs AWS Load Balancer Controller (public.ecr.aws/eks/aws-load-balancer-controller:v2.11.0), which manages load balancers, target groups and security groups (Shield, WAF and WAFv2 are turned off by lb-controller-waf-shield)
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.elasticloadbalancing"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "autoscaling" {
  # Deployment kube-system/cluster-autoscaler: runs Cluster Autoscaler (registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.1), which scales Auto Scaling groups and reads instance types
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.autoscaling"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "logs" {
  # DaemonSet amazon-cloudwatch/fluent-bit: runs Fluent Bit (public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4), which ships container logs to CloudWatch Logs (its usual output on EKS)
  # DaemonSet amazon-cloudwatch/cloudwatch-agent: runs CloudWatch agent (public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300050.0b1062), which sends Container Insights logs and metrics as log events
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.logs"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "xray" {
  # DaemonSet observability/xray-daemon: runs AWS X-Ray daemon (amazon/aws-xray-daemon:3.3.13), which sends trace segments to X-Ray
  # Deployment observability/adot-collector: runs AWS Distro for OpenTelemetry collector (public.ecr.aws/aws-observability/aws-otel-collector:v0.42.0), which exports traces to X-Ray
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.xray"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "elasticfilesystem" {
  # Deployment kube-system/efs-csi-controller: runs Amazon EFS CSI driver (602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efs-csi-driver:v2.1.0), which creates access points on EFS file systems
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.elasticfilesystem"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "secretsmanager" {
  # Policy rewrite.rules[0]: the pull-through cache rule of docker.io reads its Docker Hub credential from a Secrets Manager secret
  # Policy rewrite.rules[3]: the pull-through cache rule of ghcr.io/acme reads its GitHub Container Registry credential from a Secrets Manager secret
  # Policy rewrite.rules[4]: the pull-through cache rule of acme.azurecr.io reads its Microsoft Azure Container Registry credential from a Secrets Manager secret
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.secretsmanager"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}
