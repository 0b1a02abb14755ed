package ingressclass

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	networkingclient "k8s.io/client-go/kubernetes/typed/networking/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/privateguard/privateguard/pkg/policy"
)

func albIngress(class *string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: networkingv1.IngressSpec{IngressClassName: class}}
}

func testCache(t *testing.T, objs ...runtime.Object) (*Cache, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	group := policy.IngressClassParamsGVK.Group
	classes := fake.NewClientset(
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb-internal", Annotations: map[string]string{policy.DefaultIngressClassAnnotation: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: policy.ALBController, Parameters: &networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: "IngressClassParams", Name: "internal"}}},
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
	)
	params := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
		"metadata": map[string]any{"name": "internal"},
		"spec":     map[string]any{"scheme": "internal", "certificateArn": []any{"arn:aws:acm:us-west-2:111122223333:certificate/abc"}},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{paramsResource: "IngressClassParamsList"}, objs...)
	// Created through its resource: the fake would guess "ingressclassparamses" from the kind.
	if _, err := dyn.Resource(paramsResource).Create(context.Background(), params, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return NewCache(fakeNetworking{classes.NetworkingV1()}, dyn, Options{}), dyn
}

// fakeNetworking is the fake clientset's networking client, saying as the clientset does
// that it cannot stream an initial list (WatchListClient).
type fakeNetworking struct {
	networkingclient.NetworkingV1Interface
}

func (fakeNetworking) IsWatchListSemanticsUnSupported() bool { return true }

func TestLookupsBeforeAndAfterTheInformerSyncs(t *testing.T) {
	for _, started := range []bool{false, true} {
		name := "unsynced: direct reads"
		if started {
			name = "synced: from the informer"
		}
		t.Run(name, func(t *testing.T) {
			c, _ := testCache(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if started {
				go c.Start(ctx)
				deadline := time.Now().Add(5 * time.Second)
				for !c.informer.HasSynced() {
					if time.Now().After(deadline) {
						t.Fatal("the IngressClass informer did not sync in 5s")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			internal := "alb-internal"
			facts, err := policy.IngressClassFactsFor(albIngress(&internal), c.For(ctx))
			if err != nil || facts.Controller != policy.ALBController || len(facts.CertificateARNs) != 1 || facts.ParamsProblem != "" {
				t.Errorf("named class: facts %+v, err %v", facts, err)
			}
			facts, err = policy.IngressClassFactsFor(albIngress(nil), c.For(ctx))
			if err != nil || facts.Name != "alb-internal" {
				t.Errorf("default class: facts %+v, err %v", facts, err)
			}
			missing := "gone"
			facts, err = policy.IngressClassFactsFor(albIngress(&missing), c.For(ctx))
			if err != nil || facts.Controller != "" {
				t.Errorf("a class that does not exist: facts %+v, err %v", facts, err)
			}
		})
	}
}

func TestParamsAreRememberedAndErrorsReported(t *testing.T) {
	c, dyn := testCache(t)
	ctx := context.Background()
	gets := 0
	dyn.PrependReactor("get", "ingressclassparams", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		return false, nil, nil
	})
	for range 3 {
		if _, ok, err := c.For(ctx).IngressClassParams("internal"); !ok || err != nil {
			t.Fatalf("params: ok %v err %v", ok, err)
		}
	}
	if gets != 1 {
		t.Errorf("%d GETs for three lookups within the TTL, want 1", gets)
	}
	dyn.PrependReactor("get", "ingressclassparams", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the server is currently unable to handle the request")
	})
	if _, _, err := c.For(ctx).IngressClassParams("other"); err == nil {
		t.Error("a failing GET gave no error")
	}
}

func TestAHungIngressClassWatchIsRestarted(t *testing.T) {
	classes := fake.NewClientset()
	var watches atomic.Int32
	classes.PrependWatchReactor("ingressclasses", func(k8stesting.Action) (bool, watch.Interface, error) {
		watches.Add(1)
		return true, watch.NewFake(), nil // accepted, then silent: no event, no bookmark
	})
	dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	c := NewCache(fakeNetworking{classes.NetworkingV1()}, dyn, Options{WatchIdleTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Start(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for watches.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d watches in 5s with a 100ms idle timeout: a silent watch is not restarted", watches.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClassesTheInformerHasNotSeenAreRead: one kubectl apply creates an IngressClass and
// its Ingress a moment apart, and the Ingress's review can come before the watch brings
// the class. Here the watch brings nothing at all.
func TestClassesTheInformerHasNotSeenAreRead(t *testing.T) {
	classes := fake.NewClientset()
	classes.PrependWatchReactor("ingressclasses", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, watch.NewFake(), nil
	})
	var gets, lists atomic.Int32
	classes.PrependReactor("get", "ingressclasses", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		return false, nil, nil
	})
	classes.PrependReactor("list", "ingressclasses", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists.Add(1)
		return false, nil, nil
	})
	c := NewCache(fakeNetworking{classes.NetworkingV1()}, dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Start(ctx)
	for deadline := time.Now().Add(5 * time.Second); !c.informer.HasSynced(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the IngressClass informer did not sync in 5s")
		}
	}
	lookups := c.For(ctx)

	if _, found, err := lookups.IngressClass("alb"); found || err != nil {
		t.Fatalf("a class that does not exist: found %v, err %v", found, err)
	}
	if _, found, _ := lookups.IngressClass("alb"); found || gets.Load() != 1 {
		t.Errorf("asked again at once: found %v after %d GETs, want not found from memory after 1", found, gets.Load())
	}
	if def, err := lookups.DefaultIngressClass(); def != "" || err != nil {
		t.Fatalf("default class %q (err %v) in a cluster without classes", def, err)
	}

	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb-new", Annotations: map[string]string{policy.DefaultIngressClassAnnotation: "true"}},
		Spec: networkingv1.IngressClassSpec{Controller: policy.ALBController}}
	if err := classes.Tracker().Add(class); err != nil {
		t.Fatal(err)
	}
	if got, found, err := lookups.IngressClass("alb-new"); !found || err != nil || got.Spec.Controller != policy.ALBController {
		t.Errorf("a class created after the sync: %v, found %v, err %v; want it read from the API server", got, found, err)
	}
	listsBefore := lists.Load()
	if def, _ := lookups.DefaultIngressClass(); def != "" || lists.Load() != listsBefore {
		t.Errorf("default class %q after %d more lists: want none from memory within NotFoundTTL", def, lists.Load()-listsBefore)
	}
	c.now = func() time.Time { return time.Now().Add(6 * time.Second) } // NotFoundTTL later
	if def, err := lookups.DefaultIngressClass(); def != "alb-new" || err != nil {
		t.Errorf("default class %q (err %v) once the memory has expired, want alb-new from a list", def, err)
	}
}
