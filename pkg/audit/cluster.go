package audit

import (
	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/privateguard/privateguard/pkg/policy"
)

// ClusterLister reads, and only reads, what the audit judges from a live cluster: every
// kind of policy.Kinds (service accounts for IRSA, the workload kinds, pods and
// Ingresses). It needs the list permission on those resources, nothing more.
type ClusterLister struct {
	// Client reads the cluster: only List is called. NewClusterReader makes one.
	Client client.Reader
	// Namespace limits the listing to one namespace; empty lists all namespaces.
	Namespace string
	// PageSize is the number of objects per list request. Zero means DefaultPageSize.
	PageSize int64
}

// List returns every object, with Source "cluster", kind after kind in the order of
// policy.Kinds, each kind sorted by namespace and name.
func (l *ClusterLister) List(ctx context.Context) ([]Resource, error) {
	pageSize := l.PageSize
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	var out []Resource
	for i := range policy.Kinds {
		kind := &policy.Kinds[i]
		objs, err := listAll(ctx, pageSize, l.pages(kind))
		if err != nil && kind.Optional && (meta.IsNoMatchError(err) || apierrors.IsNotFound(err)) {
			continue // a CRD this cluster does not have (IngressClassParams without the controller)
		}
		if err != nil {
			scope := "all namespaces"
			if l.Namespace != "" {
				scope = "namespace " + l.Namespace
			}
			return nil, fmt.Errorf("list %s in %s: %w", kind.Resource, scope, err)
		}
		sort.SliceStable(objs, func(i, j int) bool {
			a, b := objs[i].(metav1.Object), objs[j].(metav1.Object)
			if a.GetNamespace() != b.GetNamespace() {
				return a.GetNamespace() < b.GetNamespace()
			}
			return a.GetName() < b.GetName()
		})
		for _, obj := range objs {
			// Typed clients return items without apiVersion and kind.
			obj.GetObjectKind().SetGroupVersionKind(kind.GVK)
			out = append(out, Resource{Object: obj, Source: ClusterSource})
		}
	}
	return out, nil
}

// pages lists kind one page at a time: the items of the page, as objects, and the
// continue token of the next.
func (l *ClusterLister) pages(kind *policy.Kind) listPage[runtime.Object] {
	return func(ctx context.Context, opts metav1.ListOptions) ([]runtime.Object, string, error) {
		list, ok := kind.NewList().(client.ObjectList)
		if !ok {
			return nil, "", fmt.Errorf("%T is not a list", kind.NewList())
		}
		var listOpts []client.ListOption
		if !kind.ClusterScoped { // IngressClasses are facts for every namespace
			listOpts = append(listOpts, client.InNamespace(l.Namespace))
		}
		if opts.Limit > 0 {
			listOpts = append(listOpts, client.Limit(opts.Limit))
		}
		if opts.Continue != "" {
			listOpts = append(listOpts, client.Continue(opts.Continue))
		}
		if err := l.Client.List(ctx, list, listOpts...); err != nil {
			return nil, "", err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, "", err
		}
		return items, list.GetContinue(), nil
	}
}

// NewClusterReader returns a client that reads the kinds of policy.Kinds from the cluster
// of cfg. Its REST mapping comes from the same table, so it asks the API server nothing
// but the lists themselves (no discovery).
func NewClusterReader(cfg *rest.Config) (client.Reader, error) {
	return client.New(cfg, client.Options{Scheme: scheme, Mapper: RESTMapper()})
}

// RESTMapper maps each kind of policy.Kinds to its resource and scope, without
// discovery.
func RESTMapper() meta.RESTMapper {
	var versions []schema.GroupVersion
	for i := range policy.Kinds {
		versions = append(versions, policy.Kinds[i].GVK.GroupVersion())
	}
	m := meta.NewDefaultRESTMapper(versions)
	for i := range policy.Kinds {
		kind := &policy.Kinds[i]
		plural := kind.GVK.GroupVersion().WithResource(kind.Resource)
		singular := kind.GVK.GroupVersion().WithResource(strings.ToLower(kind.GVK.Kind))
		scope := meta.RESTScopeNamespace
		if kind.ClusterScoped {
			scope = meta.RESTScopeRoot
		}
		m.AddSpecific(kind.GVK, plural, singular, scope)
	}
	return m
}

// Walk lists one kind of policy.Kinds page by page and calls fn with each page's objects
// (Source "cluster", in the API server's order), so that a caller judging a large cluster
// holds one page at a time. An optional kind the cluster does not serve is walked as
// empty. When the continue token expires mid-list (HTTP 410), Walk returns the error:
// unlike List it cannot take back the pages already given, and the caller decides
// whether to start the kind again (apierrors.IsResourceExpired).
func (l *ClusterLister) Walk(ctx context.Context, kind *policy.Kind, fn func([]Resource) error) error {
	pageSize := l.PageSize
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	list := l.pages(kind)
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		objs, next, err := list(ctx, opts)
		if err != nil && kind.Optional && (meta.IsNoMatchError(err) || apierrors.IsNotFound(err)) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", kind.Resource, err)
		}
		page := make([]Resource, len(objs))
		for i, obj := range objs {
			obj.GetObjectKind().SetGroupVersionKind(kind.GVK)
			page[i] = Resource{Object: obj, Source: ClusterSource}
		}
		if err := fn(page); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		opts.Continue = next
	}
}
