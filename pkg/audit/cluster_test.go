package audit

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/privateguard/privateguard/pkg/policy"
)

var _ kubernetes.Interface = (*fake.Clientset)(nil)

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

func TestClusterListerList(t *testing.T) {
	t.Run("every kind is listed in pages of PageSize, read-only", func(t *testing.T) {
		client := fake.NewClientset(clusterObjects()...)
		l := ClusterLister{Client: client, PageSize: 50}
		if _, err := l.List(context.Background()); err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, a := range client.Actions() {
			list, ok := a.(k8stesting.ListActionImpl)
			if !ok {
				t.Errorf("%s %s: the audit only lists", a.GetVerb(), a.GetResource().Resource)
				continue
			}
			if limit := list.ListOptions.Limit; limit != 50 {
				t.Errorf("list %s with limit %d, want 50", a.GetResource().Resource, limit)
			}
			listed = append(listed, a.GetResource().Resource)
		}
		want := "serviceaccounts deployments statefulsets daemonsets replicasets replicationcontrollers cronjobs jobs pods ingresses"
		if got := strings.Join(listed, " "); got != want {
			t.Errorf("listed %s, want %s", got, want)
		}
	})

	t.Run("objects come typed, with apiVersion and kind, sorted by namespace and name", func(t *testing.T) {
		l := ClusterLister{Client: fake.NewClientset(clusterObjects()...)}
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

	t.Run("Namespace limits every list to one namespace", func(t *testing.T) {
		client := fake.NewClientset(clusterObjects()...)
		l := ClusterLister{Client: client, Namespace: "shop"}
		got, err := l.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if ns := r.Object.(metav1.Object).GetNamespace(); ns != "shop" {
				t.Errorf("listed an object of namespace %s", ns)
			}
		}
		for _, a := range client.Actions() {
			if a.GetNamespace() != "shop" {
				t.Errorf("list %s in namespace %q, want shop", a.GetResource().Resource, a.GetNamespace())
			}
		}
	})

	t.Run("pages served by the API server are all read", func(t *testing.T) {
		client := fake.NewClientset()
		pages := map[string]*corev1.PodList{
			"":   {ListMeta: metav1.ListMeta{Continue: "p2"}, Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p1"}}}},
			"p2": {Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p2"}}}},
		}
		client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, pages[a.(k8stesting.ListActionImpl).ListOptions.Continue], nil
		})
		got, err := (&ClusterLister{Client: client}).List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := "cluster: v1 Pod a/p1 (typed)\ncluster: v1 Pod a/p2 (typed)"
		if g := strings.Join(describeResources(got), "\n"); g != want {
			t.Errorf("got:\n%s\nwant:\n%s", g, want)
		}
	})

	t.Run("a list error names the resource and the scope", func(t *testing.T) {
		client := fake.NewClientset()
		client.PrependReactor("list", "ingresses", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "", errors.New("RBAC: access denied"))
		})
		_, err := (&ClusterLister{Client: client, Namespace: "shop"}).List(context.Background())
		want := `list ingresses in namespace shop: ingresses.networking.k8s.io is forbidden: RBAC: access denied`
		if err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
}
