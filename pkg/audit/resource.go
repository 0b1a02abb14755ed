package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	sigsjson "sigs.k8s.io/json"

	"github.com/privateguard/privateguard/pkg/policy"
)

// Resource is one Kubernetes object to audit and where it came from.
type Resource struct {
	// Object is typed for the kinds of policy.Kinds (*corev1.Pod, *appsv1.Deployment,
	// *networkingv1.Ingress, *corev1.ServiceAccount, ...) and a
	// *metav1.PartialObjectMetadata for every other kind. Its GroupVersionKind is
	// always set.
	Object runtime.Object
	// Source is the file the object was read from, "stdin", or "cluster".
	Source string
	// Line is the line of Source where the object's document starts, from 1; 0 when
	// unknown (a cluster). The items of a List share the List's line.
	Line int
}

// Sources of resources that are not files.
const (
	StdinSource   = "stdin"
	ClusterSource = "cluster"
)

// scheme knows the kinds of policy.Kinds and their lists, and nothing else: the reader
// decodes those kinds into typed objects, the cluster lister lists them. Other versions
// of these kinds (extensions/v1beta1 Ingress, apps/v1beta2 Deployment) are no longer
// served by Kubernetes and are read as metadata only, then skipped.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	AddToScheme(s)
	return s
}()

// AddToScheme adds the kinds of policy.Kinds and their lists to s, for a client that
// reads them beside other kinds (the background audit's, which also writes Reports).
func AddToScheme(s *runtime.Scheme) {
	versions := map[schema.GroupVersion]bool{}
	for i := range policy.Kinds {
		kind := &policy.Kinds[i]
		s.AddKnownTypeWithName(kind.GVK, kind.New())
		s.AddKnownTypeWithName(kind.GVK.GroupVersion().WithKind(kind.GVK.Kind+"List"), kind.NewList())
		versions[kind.GVK.GroupVersion()] = true
	}
	for gv := range versions {
		// ListOptions and the other option types, for the client's list requests.
		metav1.AddToGroupVersion(s, gv)
	}
}

// Scheme is the scheme of the kinds of policy.Kinds, for clients (and fakes) that read
// them.
func Scheme() *runtime.Scheme { return scheme }

// deserializer decodes the kinds of policy.Kinds strictly: an unknown or duplicated field
// is an error, as with `kubectl apply`'s default field validation. Leniency here would
// let a misspelt `initContainer:` hide an image from the audit.
var deserializer = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// Errors of decoding a document.
var (
	// ErrNotObject is returned for a document that is not a JSON or YAML object.
	ErrNotObject = errors.New("not a Kubernetes object")
	// ErrMissingKind is returned for an object without kind.
	ErrMissingKind = errors.New("missing kind")
	// ErrMissingAPIVersion is returned for an object without apiVersion.
	ErrMissingAPIVersion = errors.New("missing apiVersion")
)

// unmarshal decodes JSON as the API server does: field names are case-sensitive, so
// `Kind:` is not `kind:`.
var unmarshal = sigsjson.UnmarshalCaseSensitivePreserveInts

// typeAndItems is what decodeObjects reads of a document before choosing how to decode it.
type typeAndItems struct {
	metav1.TypeMeta `json:",inline"`
	Items           json.RawMessage `json:"items"`
}

// decodeObjects decodes one JSON document into its objects: one, or the items of a List
// (kind List, or a typed list such as PodList whose items may omit apiVersion and kind).
// kinds, when set, skips the objects of the other kinds without decoding them.
func decodeObjects(data []byte, kinds func(schema.GroupVersionKind) bool) ([]runtime.Object, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, ErrNotObject
	}
	var head typeAndItems
	if err := unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	if head.Kind == "" {
		return nil, fmt.Errorf("%w: every document must be a Kubernetes object with apiVersion and kind", ErrMissingKind)
	}
	if head.APIVersion == "" {
		return nil, fmt.Errorf("%w: every document must be a Kubernetes object with apiVersion and kind", ErrMissingAPIVersion)
	}
	if strings.HasSuffix(head.Kind, "List") && isJSONArray(head.Items) {
		return decodeList(head, kinds)
	}
	if kinds != nil && !kinds(head.GroupVersionKind()) {
		return nil, nil
	}
	obj, err := decodeObject(data, head.TypeMeta)
	if err != nil {
		return nil, err
	}
	return []runtime.Object{obj}, nil
}

// decodeList decodes the items of a list. Items of a typed list (PodList) take their
// apiVersion and kind from the list when they omit them, as the API server writes them.
func decodeList(list typeAndItems, kinds func(schema.GroupVersionKind) bool) ([]runtime.Object, error) {
	var items []json.RawMessage
	if err := unmarshal(list.Items, &items); err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	itemKind := strings.TrimSuffix(list.Kind, "List")
	var objs []runtime.Object
	for i, item := range items {
		if itemKind != "" {
			filled, err := fillTypeMeta(item, list.APIVersion, itemKind)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			item = filled
		}
		got, err := decodeObjects(item, kinds)
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// fillTypeMeta sets apiVersion and kind in item where it has neither. An item that is
// not an object is left for decodeObjects to reject.
func fillTypeMeta(item json.RawMessage, apiVersion, kind string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := unmarshal(item, &obj); err != nil || obj == nil {
		return item, nil
	}
	if _, ok := obj["apiVersion"]; ok {
		return item, nil
	}
	if _, ok := obj["kind"]; ok {
		return item, nil
	}
	obj["apiVersion"], _ = json.Marshal(apiVersion)
	obj["kind"], _ = json.Marshal(kind)
	return json.Marshal(obj)
}

// decodeObject decodes a single object: typed and strict for the judged kinds, metadata
// only for the others.
func decodeObject(data []byte, tm metav1.TypeMeta) (runtime.Object, error) {
	gvk := tm.GroupVersionKind()
	if policy.KindFor(gvk) == nil {
		var meta metav1.PartialObjectMetadata
		if err := unmarshal(data, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", describe(data, tm), err)
		}
		meta.SetGroupVersionKind(gvk)
		return &meta, nil
	}
	obj, _, err := deserializer.Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describe(data, tm), err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

func isJSONArray(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '['
}

// describe names an object in an error: its kind and, when it can be read, its name.
func describe(data []byte, tm metav1.TypeMeta) string {
	var named struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if unmarshal(data, &named) == nil && named.Metadata.Name != "" {
		return fmt.Sprintf("%s %q", tm.Kind, named.Metadata.Name)
	}
	return tm.Kind
}
