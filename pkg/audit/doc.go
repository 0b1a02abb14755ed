// Package audit is `privateguard audit`: the policy engine run over manifests or over a
// live cluster, read-only, to see what admission would deny, warn about and change before
// the webhook enforces anything.
//
// Enforcing a policy on a cluster that already runs workloads is a leap: the first
// rollout after the webhook is installed may be denied. The audit answers "what would
// happen?" first, with the same engine (pkg/policy) and the same answers as admission:
//
//   - Manifests (ManifestReader): files, directories (recursive *.yaml, *.yml, *.json,
//     in lexical order, hidden files and directories skipped) and stdin, so that
//     `helm template ... | privateguard audit --config policy.yaml -f -` judges a chart
//     before it is installed. Input is read as `kubectl apply -f` reads it: documents
//     split on `---` lines by apimachinery's YAML reader, each YAML or JSON (a .yaml file
//     may hold JSON documents, a .json file a stream of objects), a byte order mark
//     honoured, List and typed lists (PodList) flattened. Documents are decoded strictly,
//     so a misspelt or duplicated field (`contianers:`) is an error rather than a pod the
//     audit silently finds empty.
//   - A cluster (ClusterLister): every kind of policy.Kinds (service accounts, the seven
//     workload kinds, pods and Ingresses), listed page by page through a
//     controller-runtime client.Reader.
//
// ServiceAccounts found in either source are the facts for IRSA detection: a pod or
// template whose service account carries eks.amazonaws.com/role-arn is an IRSA pod.
// Objects without a namespace are taken to be in the namespace given with -n, else
// `default`, as `kubectl apply` would place them.
//
// Judge turns the objects into a Report: one Result per judged object (what admission
// would answer after mutation, the violations left, the changes made or that would be
// made) and a Summary. Kinds the engine does not judge, and mirror pods, are counted as
// skipped; ServiceAccounts are read, not judged, and are not counted.
//
// A Report is written as JSON (WriteJSON, the `-o json` contract), JUnit XML (WriteJUnit:
// a test suite per source, a test case per object, a failure per denial) or SARIF 2.1.0
// (WriteSARIF: a result per finding, located at the line of its file where the object's
// document starts, which the manifest reader records in Resource.Line).
//
// The command line (flags, text output, exit codes) is cmd/webhook's: this package reads,
// judges and reports.
package audit
