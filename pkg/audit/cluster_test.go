package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/privateguard/privateguard/pkg/policy"
)

// clusterObjects is a small EKS cluster: an IRSA application whose pods were already
// mutated, a public-image storefront, an ALB Ingress, a mirror pod, the excluded
// kube-system, and a nightly CronJob.
func clusterObjects() []runtime.Object {
	labels := map[string]string{"app": "orders-api"}
	ordersTemplate := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			ServiceAccountName: "orders-api",
			Containers:         []corev1.Container{{Name: "api", Image: "111122223333.dkr.ecr.us-west-2.amazonaws.com/orders-api:1.8.0"}},
		},
	}
	// The running pod got the variables from the mutating webhook.
	ordersPod := ordersTemplate.Spec.DeepCopy()
	ordersPod.Containers[0].Env = []corev1.EnvVar{
		{Name: "AWS_STS_REGIONAL_ENDPOINTS", Value: "regional"},
		{Name: "AWS_REGION", Value: "us-west-2"},
		{Name: "AWS_DEFAULT_REGION", Value: "us-west-2"},
	}
	class := "alb"
	return []runtime.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "orders-api", Annotations: map[string]string{
			policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/orders-api",
		}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "default"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "orders-api"}, Spec: appsv1.DeploymentSpec{Template: ordersTemplate}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "orders-api-7f9c4"}, Spec: appsv1.ReplicaSetSpec{Template: ordersTemplate}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "orders-api-7f9c4-x2k8d", Labels: labels}, Spec: *ordersPod},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront"}, Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "storefront", Image: "ghcr.io/acme/storefront:2.3.1"}}},
		}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront-6d5b9-abcde"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "storefront", Image: "ghcr.io/acme/storefront:2.3.1"}},
		}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront"}, Spec: networkingv1.IngressSpec{
			IngressClassName: &class, TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.internal"}}},
		}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "static-web-node-1", Annotations: map[string]string{
			policy.MirrorPodAnnotation: "5f3c",
		}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "ghcr.io/acme/static:1"}}}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "aws-node"}, Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "aws-node", Image: "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.2"}}},
		}}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "nightly-report"}, Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "report", Image: "python:3.13-slim"}}}}},
		}}},
	}
}

// request is one call a ClusterLister made to the cluster.
type request struct {
	verb, resource, namespace string
	limit                     int64
	continueToken             string
}

// fakeCluster serves objs through a fake client and records every request in requests.
// serve, when set, answers the lists it handles instead of the fake.
type fakeCluster struct {
	objs     []runtime.Object
	serve    func(resource string, list client.ObjectList, opts *client.ListOptions) (handled bool, err error)
	requests []request
}

func (f *fakeCluster) reader() client.Reader {
	base := fake.NewClientBuilder().WithScheme(scheme).WithRuntimeObjects(f.objs...).Build()
	record := func(verb string, obj runtime.Object) {
		f.requests = append(f.requests, request{verb: verb, resource: resourceOf(obj)})
	}
	return interceptor.NewClient(base, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			o := (&client.ListOptions{}).ApplyOptions(opts)
			resource := resourceOf(list)
			f.requests = append(f.requests, request{verb: "list", resource: resource, namespace: o.Namespace, limit: o.Limit, continueToken: o.Continue})
			if f.serve != nil {
				if handled, err := f.serve(resource, list, o); handled {
					return err
				}
			}
			return c.List(ctx, list, opts...)
		},
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			record("get", obj)
			return c.Get(ctx, key, obj, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			record("create", obj)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			record("update", obj)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			record("patch", obj)
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			record("delete", obj)
			return c.Delete(ctx, obj, opts...)
		},
	})
}

// resourceOf is the resource of an object or list of policy.Kinds.
func resourceOf(obj runtime.Object) string {
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	gvk := gvks[0]
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	return policy.KindFor(gvk).Resource
}

func TestClusterListerList(t *testing.T) {
	t.Run("every kind of the table is listed in pages of PageSize, read-only", func(t *testing.T) {
		cluster := &fakeCluster{objs: clusterObjects()}
		l := ClusterLister{Client: cluster.reader(), PageSize: 50}
		if _, err := l.List(context.Background()); err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, r := range cluster.requests {
			if r.verb != "list" {
				t.Errorf("%s %s: the audit only lists", r.verb, r.resource)
				continue
			}
			if r.limit != 50 {
				t.Errorf("list %s with limit %d, want 50", r.resource, r.limit)
			}
			if r.namespace != "" {
				t.Errorf("list %s in namespace %q, want all namespaces", r.resource, r.namespace)
			}
			listed = append(listed, r.resource)
		}
		want := "serviceaccounts ingressclasses ingressclassparams deployments statefulsets daemonsets replicasets replicationcontrollers cronjobs jobs pods ingresses"
		if got := strings.Join(listed, " "); got != want {
			t.Errorf("listed %s, want %s", got, want)
		}
	})

	t.Run("objects come typed, with apiVersion and kind, sorted by namespace and name", func(t *testing.T) {
		l := ClusterLister{Client: (&fakeCluster{objs: clusterObjects()}).reader()}
		got, err := l.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"cluster: v1 ServiceAccount orders/orders-api (typed)",
			"cluster: v1 ServiceAccount shop/default (typed)",
			"cluster: apps/v1 Deployment orders/orders-api (typed)",
			"cluster: apps/v1 Deployment shop/storefront (typed)",
			"cluster: apps/v1 DaemonSet kube-system/aws-node (typed)",
			"cluster: apps/v1 ReplicaSet orders/orders-api-7f9c4 (typed)",
			"cluster: batch/v1 CronJob orders/nightly-report (typed)",
			"cluster: v1 Pod orders/orders-api-7f9c4-x2k8d (typed)",
			"cluster: v1 Pod shop/static-web-node-1 (typed)",
			"cluster: v1 Pod shop/storefront-6d5b9-abcde (typed)",
			"cluster: networking.k8s.io/v1 Ingress shop/storefront (typed)",
		}
		if g, w := strings.Join(describeResources(got), "\n"), strings.Join(want, "\n"); g != w {
			t.Errorf("got:\n%s\nwant:\n%s", g, w)
		}
	})

	t.Run("Namespace limits every namespaced list to one namespace; IngressClasses stay facts for it", func(t *testing.T) {
		cluster := &fakeCluster{objs: clusterObjects()}
		l := ClusterLister{Client: cluster.reader(), Namespace: "shop"}
		got, err := l.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if ns := r.Object.(metav1.Object).GetNamespace(); ns != "shop" {
				t.Errorf("listed an object of namespace %s", ns)
			}
		}
		for _, r := range cluster.requests {
			want := "shop"
			if r.resource == "ingressclasses" || r.resource == "ingressclassparams" {
				want = "" // cluster-scoped
			}
			if r.namespace != want {
				t.Errorf("list %s in namespace %q, want %q", r.resource, r.namespace, want)
			}
		}
	})

	t.Run("pages served by the API server are all read", func(t *testing.T) {
		pages := map[string]*corev1.PodList{
			"":   {ListMeta: metav1.ListMeta{Continue: "p2"}, Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p1"}}}},
			"p2": {Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p2"}}}},
		}
		cluster := &fakeCluster{serve: func(resource string, list client.ObjectList, opts *client.ListOptions) (bool, error) {
			if resource != "pods" {
				return false, nil
			}
			pages[opts.Continue].DeepCopyInto(list.(*corev1.PodList))
			return true, nil
		}}
		got, err := (&ClusterLister{Client: cluster.reader()}).List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := "cluster: v1 Pod a/p1 (typed)\ncluster: v1 Pod a/p2 (typed)"
		if g := strings.Join(describeResources(got), "\n"); g != want {
			t.Errorf("got:\n%s\nwant:\n%s", g, want)
		}
		var pods []request
		for _, r := range cluster.requests {
			if r.resource == "pods" {
				pods = append(pods, r)
			}
		}
		if len(pods) != 2 || pods[1].continueToken != "p2" || pods[1].limit != DefaultPageSize {
			t.Errorf("pod requests = %+v, want two pages of DefaultPageSize, the second with continue p2", pods)
		}
	})

	t.Run("a list error names the resource and the scope", func(t *testing.T) {
		cluster := &fakeCluster{serve: func(resource string, _ client.ObjectList, _ *client.ListOptions) (bool, error) {
			if resource != "ingresses" {
				return false, nil
			}
			return true, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "", errors.New("RBAC: access denied"))
		}}
		_, err := (&ClusterLister{Client: cluster.reader(), Namespace: "shop"}).List(context.Background())
		want := `list ingresses in namespace shop: ingresses.networking.k8s.io is forbidden: RBAC: access denied`
		if err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
}

func TestClusterListerSkipsACRDTheClusterDoesNotHave(t *testing.T) {
	cluster := &fakeCluster{objs: clusterObjects(), serve: func(resource string, _ client.ObjectList, _ *client.ListOptions) (bool, error) {
		if resource == "ingressclassparams" {
			return true, &meta.NoKindMatchError{GroupKind: policy.IngressClassParamsGVK.GroupKind(), SearchedVersions: []string{"v1beta1"}}
		}
		if resource == "deployments" {
			return true, errors.New("connection refused")
		}
		return false, nil
	}}
	// IngressClassParams come before Deployments: the error must be the Deployments'.
	_, err := (&ClusterLister{Client: cluster.reader()}).List(context.Background())
	if err == nil || !strings.Contains(err.Error(), "list deployments in all namespaces: connection refused") {
		t.Fatalf("List = %v; want IngressClassParams skipped (no such CRD) and the Deployment failure reported", err)
	}
}

func TestRESTMapperMapsEveryKindToItsResource(t *testing.T) {
	m := RESTMapper()
	for _, kind := range policy.Kinds {
		mapping, err := m.RESTMapping(kind.GVK.GroupKind(), kind.GVK.Version)
		if err != nil {
			t.Errorf("%s: %v", kind.GVK, err)
			continue
		}
		wantScope := meta.RESTScopeNameNamespace
		if kind.ClusterScoped {
			wantScope = meta.RESTScopeNameRoot
		}
		if mapping.Resource != kind.GVK.GroupVersion().WithResource(kind.Resource) || mapping.Scope.Name() != wantScope {
			t.Errorf("%s maps to %s (%s), want %s (%s)", kind.GVK, mapping.Resource, mapping.Scope.Name(), kind.Resource, wantScope)
		}
	}
}
