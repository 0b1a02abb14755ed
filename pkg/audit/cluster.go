package audit

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// ClusterLister reads, and only reads, what the audit judges from a live cluster: service
// accounts (for IRSA), the seven workload kinds, pods and Ingresses. It needs the list
// permission on those resources, nothing more.
type ClusterLister struct {
	// Client is the cluster's typed clientset.
	Client kubernetes.Interface
	// Namespace limits the listing to one namespace; empty lists all namespaces.
	Namespace string
	// PageSize is the number of objects per list request. Zero means DefaultPageSize.
	PageSize int64
}

// listFunc lists one kind with a typed client: it returns a *corev1.PodList or the like.
type listFunc func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error)

// clusterKind is one kind the lister reads.
type clusterKind struct {
	resource string
	gvk      schema.GroupVersionKind
	list     listFunc
}

// kinds are the kinds read, in the order of the output: service accounts first, as they
// are facts, then workloads, pods and Ingresses.
func (l *ClusterLister) kinds() []clusterKind {
	c, ns := l.Client, l.Namespace
	return []clusterKind{
		{"serviceaccounts", corev1.SchemeGroupVersion.WithKind("ServiceAccount"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ServiceAccounts(ns).List(ctx, o)
		}},
		{"deployments", appsv1.SchemeGroupVersion.WithKind("Deployment"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().Deployments(ns).List(ctx, o)
		}},
		{"statefulsets", appsv1.SchemeGroupVersion.WithKind("StatefulSet"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().StatefulSets(ns).List(ctx, o)
		}},
		{"daemonsets", appsv1.SchemeGroupVersion.WithKind("DaemonSet"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().DaemonSets(ns).List(ctx, o)
		}},
		{"replicasets", appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AppsV1().ReplicaSets(ns).List(ctx, o)
		}},
		{"replicationcontrollers", corev1.SchemeGroupVersion.WithKind("ReplicationController"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ReplicationControllers(ns).List(ctx, o)
		}},
		{"cronjobs", batchv1.SchemeGroupVersion.WithKind("CronJob"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().CronJobs(ns).List(ctx, o)
		}},
		{"jobs", batchv1.SchemeGroupVersion.WithKind("Job"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().Jobs(ns).List(ctx, o)
		}},
		{"pods", corev1.SchemeGroupVersion.WithKind("Pod"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Pods(ns).List(ctx, o)
		}},
		{"ingresses", networkingv1.SchemeGroupVersion.WithKind("Ingress"), func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.NetworkingV1().Ingresses(ns).List(ctx, o)
		}},
	}
}

// List returns every object, with Source "cluster", kind after kind (see kinds), each
// kind sorted by namespace and name.
func (l *ClusterLister) List(ctx context.Context) ([]Resource, error) {
	pageSize := l.PageSize
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	var out []Resource
	for _, k := range l.kinds() {
		objs, err := listAll(ctx, pageSize, k.list.pages)
		if err != nil {
			scope := "all namespaces"
			if l.Namespace != "" {
				scope = "namespace " + l.Namespace
			}
			return nil, fmt.Errorf("list %s in %s: %w", k.resource, scope, err)
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
			obj.GetObjectKind().SetGroupVersionKind(k.gvk)
			out = append(out, Resource{Object: obj, Source: ClusterSource})
		}
	}
	return out, nil
}

// pages is list as a listPage: the list's items, as objects, and its continue token.
func (list listFunc) pages(ctx context.Context, opts metav1.ListOptions) ([]runtime.Object, string, error) {
	obj, err := list(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, "", err
	}
	listMeta, err := meta.ListAccessor(obj)
	if err != nil {
		return nil, "", err
	}
	return items, listMeta.GetContinue(), nil
}
