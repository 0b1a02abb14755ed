package admission

import (
	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Log keys. Lines are short and lowercase; values are names and paths, never objects.
const (
	keyKind           = "kind"
	keyNamespace      = "namespace"
	keyName           = "name"
	keyUID            = "uid"
	keyOperation      = "operation"
	keySubResource    = "subresource"
	keyDryRun         = "dryRun"
	keyRule           = "rule"
	keyMode           = "mode"
	keyPath           = "path"
	keyServiceAccount = "serviceAccount"
	keyRules          = "rules"
	keyCount          = "count"
)

// RequestLogger is the LogConstructor of both webhooks: every line logged for a request
// carries its kind, namespace, name, uid and operation. It accepts a nil request (lines
// logged before one is decoded).
func RequestLogger(base logr.Logger, req *admission.Request) logr.Logger {
	if req == nil {
		return base
	}
	l := base.WithValues(keyKind, req.Kind.Kind, keyNamespace, req.Namespace, keyName, req.Name,
		keyUID, req.UID, keyOperation, req.Operation)
	if req.SubResource != "" {
		l = l.WithValues(keySubResource, req.SubResource)
	}
	if req.DryRun != nil && *req.DryRun {
		l = l.WithValues(keyDryRun, true)
	}
	return l
}
