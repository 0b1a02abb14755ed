package admission

import (
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
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

// objectKind is what a request is about, as far as the webhooks care.
type objectKind int

const (
	// otherKind: neither webhook looks at it.
	otherKind objectKind = iota
	podKind
	workloadKind
	ingressKind
)

var (
	podGVK     = corev1.SchemeGroupVersion.WithKind("Pod")
	ingressGVK = networkingv1.SchemeGroupVersion.WithKind("Ingress")
)

// ephemeralContainers is the pods subresource `kubectl debug` writes to.
const ephemeralContainers = "ephemeralcontainers"

// checkRequest rejects what is not an admission request at all.
func checkRequest(req *admission.Request) error {
	if req.UID == "" {
		return ErrNoRequest
	}
	return nil
}

// classify says what the request is about, from its kind, subresource and operation
// alone: nothing is decoded for requests neither webhook looks at.
func classify(req *admission.Request) (objectKind, workload) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return otherKind, workload{}
	}
	gvk := schema.GroupVersionKind(req.Kind)
	if gvk == podGVK {
		if req.SubResource == "" || req.SubResource == ephemeralContainers {
			return podKind, workload{}
		}
		return otherKind, workload{} // status, binding, eviction, ...: no image changes
	}
	if req.SubResource != "" {
		return otherKind, workload{} // status and scale of workloads
	}
	if gvk == ingressGVK {
		return ingressKind, workload{}
	}
	if w, ok := workloads[gvk]; ok {
		return workloadKind, w
	}
	return otherKind, workload{}
}

// namespaceOf is the object's namespace, else the request's (an object created without
// one in its manifest may not carry it yet).
func namespaceOf(objectNamespace string, req *admission.Request) string {
	if objectNamespace != "" {
		return objectNamespace
	}
	return req.Namespace
}

// decode decodes one object of the request (what: "object" or "oldObject") into its
// typed form, checking it is of the kind the request names.
func decode[T any, PT interface {
	*T
	runtime.Object
}](raw runtime.RawExtension, want schema.GroupVersionKind, what string) (PT, error) {
	if len(raw.Raw) == 0 {
		return nil, fmt.Errorf("request.%s: %w", what, ErrNoObject)
	}
	obj := PT(new(T))
	if err := json.Unmarshal(raw.Raw, obj); err != nil {
		return nil, fmt.Errorf("decode request.%s as a %s: %w", what, want.Kind, err)
	}
	if got := obj.GetObjectKind().GroupVersionKind(); got.Kind != "" && got != want {
		return nil, fmt.Errorf("request.%s is a %s, but the request is for a %s: %w",
			what, kindString(got), kindString(want), ErrWrongKind)
	}
	return obj, nil
}

// kindString writes a kind as apiVersion/kind does: v1 Pod, apps/v1 Deployment.
func kindString(gvk schema.GroupVersionKind) string {
	return gvk.GroupVersion().String() + " " + gvk.Kind
}

// decodePods decodes the pod of the request and, on UPDATE, the pod before it.
func decodePods(req *admission.Request) (pod, old *corev1.Pod, err error) {
	pod, err = decode[corev1.Pod](req.Object, podGVK, "object")
	if err != nil {
		return nil, nil, err
	}
	if req.Operation == admissionv1.Update {
		if old, err = decode[corev1.Pod](req.OldObject, podGVK, "oldObject"); err != nil {
			return nil, nil, err
		}
	}
	return pod, old, nil
}

// decodeIngress decodes the Ingress of the request. The old object is not needed:
// alb-certificate-discovery judges the Ingress as it is.
func decodeIngress(req *admission.Request) (*networkingv1.Ingress, error) {
	return decode[networkingv1.Ingress](req.Object, ingressGVK, "object")
}
