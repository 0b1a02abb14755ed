package admission

import (
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/privateguard/privateguard/pkg/policy"
)

// Errors of a request that cannot be judged. Each is answered with 400.
var (
	// ErrNoRequest: the AdmissionReview carries no request (no uid).
	ErrNoRequest = errors.New("the AdmissionReview has no request (request.uid is empty)")
	// ErrNoObject: a CREATE or UPDATE without request.object, or an UPDATE without
	// request.oldObject.
	ErrNoObject = errors.New("object missing")
	// ErrWrongKind: the object is not of the kind the request names.
	ErrWrongKind = errors.New("object of the wrong kind")
)

// checkRequest rejects what is not an admission request at all.
func checkRequest(req *admission.Request) error {
	if req.UID == "" {
		return ErrNoRequest
	}
	return nil
}

// kindOf says which kind of the engine's table the request is about, from its kind,
// subresource and operation alone, or nil when neither webhook looks at it: nothing is
// decoded for such requests.
func kindOf(req *admission.Request) *policy.Kind {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return nil
	}
	k := policy.KindFor(schema.GroupVersionKind(req.Kind))
	if k == nil || k.Role == policy.RoleFact {
		return nil
	}
	if req.SubResource == "" {
		return k
	}
	for _, sub := range k.Subresources {
		if sub == req.SubResource {
			return k
		}
	}
	return nil // status, scale, binding, eviction, ...: no image changes
}

// namespaceOf is the object's namespace, else the request's (an object created without
// one in its manifest may not carry it yet).
func namespaceOf(obj runtime.Object, req *admission.Request) string {
	if m, ok := obj.(interface{ GetNamespace() string }); ok && m.GetNamespace() != "" {
		return m.GetNamespace()
	}
	return req.Namespace
}

// decodeObjects decodes the request's object and, on UPDATE, the object before it, into
// the kind's typed form.
func decodeObjects(req *admission.Request, k *policy.Kind) (obj, old runtime.Object, err error) {
	if obj, err = decodeAs(req.Object, k, "object"); err != nil {
		return nil, nil, err
	}
	if req.Operation == admissionv1.Update {
		if old, err = decodeAs(req.OldObject, k, "oldObject"); err != nil {
			return nil, nil, err
		}
	}
	return obj, old, nil
}

// decodeAs decodes one object of the request (what: "object" or "oldObject"), checking
// it is of the kind the request names.
func decodeAs(raw runtime.RawExtension, k *policy.Kind, what string) (runtime.Object, error) {
	if len(raw.Raw) == 0 {
		return nil, fmt.Errorf("request.%s: %w", what, ErrNoObject)
	}
	obj := k.New()
	if err := json.Unmarshal(raw.Raw, obj); err != nil {
		return nil, fmt.Errorf("decode request.%s as a %s: %w", what, k.GVK.Kind, err)
	}
	if got := obj.GetObjectKind().GroupVersionKind(); got.Kind != "" && got != k.GVK {
		return nil, fmt.Errorf("request.%s is a %s, but the request is for a %s: %w",
			what, kindString(got), kindString(k.GVK), ErrWrongKind)
	}
	return obj, nil
}

// kindString writes a kind as apiVersion/kind does: v1 Pod, apps/v1 Deployment.
func kindString(gvk schema.GroupVersionKind) string {
	return gvk.GroupVersion().String() + " " + gvk.Kind
}
