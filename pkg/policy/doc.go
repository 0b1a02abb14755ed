// Package policy is privateguard's decision engine: it loads the policy file and judges
// pods, workload pod templates and Ingresses against it.
//
// The package is pure. It takes a typed object, the facts an adapter looked up (the
// namespace; whether the pod's service account is an IRSA one) and a compiled Policy, and
// returns a Decision: the changes the mutating rules make and the violations the
// validating rules find, each with its field path. It makes no network call, has no
// Kubernetes client, no logger and no globals that change.
//
// # Why the rules exist
//
// An Amazon EKS private cluster has no outbound internet access. AWS's guide "Deploy
// private clusters with limited internet access" lists what must then hold; each rule
// enforces one requirement at deploy time, before a pod is stuck in ImagePullBackOff:
//
//   - image-registry: "your cluster must pull images from a container registry that's in
//     your VPC". Images outside registries.allowed (and the region's EKS add-on registry)
//     are denied, and so are image references that cannot be parsed.
//   - image-region: ECR is reached through VPC endpoints of the cluster's own region (the
//     guide's note on the Amazon EFS CSI driver: images must come from the cluster's
//     region). An ECR image of another region is denied; dual-stack ECR hosts (.on.aws)
//     have no PrivateLink endpoint, and the message says so.
//   - image-rewrite: public images must be mirrored. Public registries are rewritten to ECR
//     pull-through-cache prefixes (longest matching rewrite.rules[].from wins, Docker Hub's
//     library/ kept, tag and digest kept), and EKS add-on images of another region to the
//     add-on registry of the cluster's region.
//   - sts-regional-endpoint: "pods configured with IAM roles for service accounts acquire
//     credentials from an AWS Security Token Service (AWS STS) API call"; the global STS
//     endpoint is not reachable, so IRSA pods get AWS_STS_REGIONAL_ENDPOINTS=regional (and
//     AWS_REGION / AWS_DEFAULT_REGION), and an IRSA container with another value is denied.
//   - marketplace-image: AWS Marketplace metered images cannot reach the AWS Marketplace
//     Metering Service; they are denied and never rewritten.
//   - cluster-autoscaler-static-instance-list: "when deploying Cluster Autoscaler, set
//     --aws-use-static-instance-list=true", since the instance list comes from a public
//     endpoint otherwise.
//   - lb-controller-waf-shield: the AWS Load Balancer Controller must run with
//     --enable-shield=false --enable-waf=false --enable-wafv2=false, because those
//     services have no VPC endpoint.
//   - alb-certificate-discovery: "certificate discovery using hostnames from Ingress
//     objects isn't supported" (no ACM endpoint); an ALB Ingress serving HTTPS must carry
//     alb.ingress.kubernetes.io/certificate-arn.
//
// Every rule runs in a Mode: enforce (deny, or mutate), audit (allow and report what
// would be denied or changed) or off. exclude.namespaces turns every rule off in some
// namespaces, overrides change modes per namespace, exclude.images exempts images from the
// image rules.
//
// # Using the engine
//
// Load or Parse a policy file into a *Policy once; a reload builds a new one. Then
//
//   - MutatePod gives the mutating webhook's changes, ValidatePod judges the final object
//     as it is (the validating webhook's re-check), EvaluatePod does both, as admission
//     answers end to end;
//   - EvaluatePodTemplate judges a workload's template as its pods would be after
//     mutation;
//   - ValidateIngress judges an Ingress.
//
// On UPDATE only the images the update changes are judged: label and status updates of
// running pods must keep working.
package policy
