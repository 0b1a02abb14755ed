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

resource "aws_ecr_pull_through_cache_rule" "docker_hub" {
  # Docker Hub (docker.io) for rewrite.rules[0], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "docker-hub"
  upstream_registry_url = "registry-1.docker.io"
  credential_arn        = var.docker_hub_credential_arn
}

resource "aws_ecr_pull_through_cache_rule" "kubernetes" {
  # Kubernetes container image registry (registry.k8s.io) for rewrite.rules[1], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "kubernetes"
  upstream_registry_url = "registry.k8s.io"
}

resource "aws_ecr_pull_through_cache_rule" "ecr_public" {
  # Amazon ECR Public (public.ecr.aws) for rewrite.rules[2], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "ecr-public"
  upstream_registry_url = "public.ecr.aws"
}

resource "aws_ecr_pull_through_cache_rule" "quay" {
  # Quay (quay.io) for rewrite.rules[3], in 111122223333.dkr.ecr.us-west-2.amazonaws.com.
  ecr_repository_prefix = "quay"
  upstream_registry_url = "quay.io"
}

resource "aws_vpc_endpoint" "ecr_api" {
  # Deployment autoscaling/cluster-autoscaler: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/kubernetes/autoscaling/cluster-autoscaler:v1.32.1
  # Pod shop/web: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/busybox:1.36, 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27
  # Deployment orders/orders-api: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/orders-api:1.8.0
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.ecr.api"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "ecr_dkr" {
  # Deployment autoscaling/cluster-autoscaler: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/kubernetes/autoscaling/cluster-autoscaler:v1.32.1
  # Pod shop/web: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/busybox:1.36, 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27
  # Deployment orders/orders-api: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/orders-api:1.8.0
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.ecr.dkr"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "s3" {
  # Deployment autoscaling/cluster-autoscaler: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/kubernetes/autoscaling/cluster-autoscaler:v1.32.1
  # Pod shop/web: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/busybox:1.36, 111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27
  # Deployment orders/orders-api: pulls from ECR 111122223333.dkr.ecr.us-west-2.amazonaws.com/orders-api:1.8.0
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.us-west-2.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
}

resource "aws_vpc_endpoint" "sts" {
  # Deployment orders/orders-api: runs as service account orders-api, annotated eks.amazonaws.com/role-arn (IRSA)
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.sts"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "ec2" {
  # Deployment autoscaling/cluster-autoscaler: runs Cluster Autoscaler (registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.1), which scales Auto Scaling groups and reads instance types
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.ec2"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "autoscaling" {
  # Deployment autoscaling/cluster-autoscaler: runs Cluster Autoscaler (registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.1), which scales Auto Scaling groups and reads instance types
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.autoscaling"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}

resource "aws_vpc_endpoint" "secretsmanager" {
  # Policy rewrite.rules[0]: the pull-through cache rule of docker.io reads its Docker Hub credential from a Secrets Manager secret
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.us-west-2.secretsmanager"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
}
