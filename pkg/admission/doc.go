// Package admission adapts privateguard's policy engine to Kubernetes admission: it turns
// an AdmissionRequest into the engine's inputs (a typed object and the Facts about it) and
// the engine's Decision into an AdmissionResponse.
//
// Two handlers, one per webhook:
//
//   - Mutator (POST /mutate) applies the mutating rules in enforce mode to pods, as
//     targeted JSON patch operations built from the engine's changes, and warns about the
//     changes rules in audit mode would make. It never denies: the validating webhook
//     re-checks the final object, so a pod is still denied when the mutating webhook did
//     not run (failurePolicy Ignore, or a reinvocation order that skipped it).
//   - Validator (POST /validate) judges the final object: pods as they are, the seven
//     workload kinds through their pod template as their pods would be after mutation
//     (templates are never patched: GitOps tools would see drift), and Ingresses. An
//     enforced violation denies with 403 and every violation in one message; a violation
//     in audit mode allows, with a warning, an audit annotation, a log line and a metric.
//
// Requests neither webhook looks at (DELETE, CONNECT, other kinds and subresources) are
// allowed without decoding the object. An object that cannot be decoded is answered with
// an error (400), never allowed silently. dryRun requests get the same answer: nothing
// here has side effects.
//
// # Service accounts
//
// The only network call on the admission path is the service-account lookup that says
// whether a pod is an IRSA pod, made only when the sts-regional-endpoint rule is on in the
// namespace. When it fails (an error, not "not found"), both webhooks judge IRSA from the
// pod alone — from AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE in its env, as the EKS
// pod identity webhook sets them — and log and count the failure. Denying instead would
// make every pod creation in the cluster depend on this webhook's own connection to the
// API server, which failurePolicy cannot express; and the validating webhook still denies
// an IRSA pod (recognised from its env) whose STS setting is wrong.
//
// # What is logged
//
// Every log line of a request carries its kind, namespace, name, uid and operation, and
// findings carry rule, mode and field path. Objects are never logged whole: env values
// can be secrets.
package admission
