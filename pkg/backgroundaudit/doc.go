// Package backgroundaudit is the background audit of `privateguard serve
// --background-audit-interval`: every interval, one replica judges everything `privateguard
// audit --cluster` judges, with the policy in force, and writes what it finds as
// OpenReports Report objects (openreports.io/v1alpha1), the successor of wg-policy's
// PolicyReport that Policy Reporter, Kyverno and Kubewarden read.
//
// Admission sees objects as they are created or changed; the audit sees what is already
// running: workloads admitted before the webhook was installed or before a policy change,
// during an outage of the mutating webhook (whose failurePolicy is Ignore), or under an
// exception that has since expired.
//
// What it writes: one Report named "privateguard" per namespace with findings, holding a
// result per finding (source and policy "privateguard", rule = the rule id, the message,
// the object as subject, and path, image and mode as properties):
//
//   - fail: a violation of a rule in enforce mode (admission would deny the object);
//   - warn: a violation of a rule in audit mode, a change a rule in audit mode would make,
//     or a warning admission gives with the object;
//   - skip: a violation a policy exception waives (with the exception and its reason).
//
// Changes of rules in enforce mode are not findings: admission makes them, and the
// templates of workloads are never mutated. A Report holds at most MaxResults results,
// fail first, then warn, then skip; its summary counts those it holds, its
// configuration.limits.maxResults says the cap, and the annotation OmittedAnnotation says
// how many were left out. A Report whose namespace has no findings left is emptied, not
// deleted, so readers see the namespace is clean. Results keep the timestamp of the pass
// that first found them: a pass that finds nothing new writes nothing.
//
// What it costs the webhook: nothing on the admission path. The audit has its own
// Kubernetes client with its own low rate limit, lists page by page (one page of pods in
// memory at a time, plus the service accounts and IngressClasses it needs as facts, plus
// at most MaxResults results per namespace), and yields the CPU between pages. Only the
// replica holding the Lease runs it; losing the Lease stops the pass in progress. It
// never makes the server exit: a failed pass is logged, counted and retried at the next
// interval.
package backgroundaudit
