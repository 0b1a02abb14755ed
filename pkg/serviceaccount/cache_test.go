package serviceaccount

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/metadata"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/privateguard/privateguard/pkg/policy"
)

func serviceAccount(namespace, name string, annotations map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: annotations},
	}
}

// testScheme knows PartialObjectMetadata, as the fake metadata client needs.
func testScheme() *runtime.Scheme {
	s := metadatafake.NewTestScheme()
	metav1.AddMetaToScheme(s)
	return s
}

// startCache runs a Cache on a fake metadata client until the test ends and waits for
// its first list.
func startCache(t *testing.T, client metadata.Interface) *Cache {
	t.Helper()
	c := NewCache(client, CacheOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !c.HasSynced() {
		if time.Now().After(deadline) {
			t.Fatal("the service-account cache did not sync in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

// countGets counts the direct GETs the client serves.
func countGets(client *metadatafake.FakeMetadataClient) *atomic.Int32 {
	var n atomic.Int32
	client.PrependReactor("get", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		n.Add(1)
		return false, nil, nil
	})
	return &n
}

func TestCacheIsIRSA(t *testing.T) {
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/app"}
	client := metadatafake.NewSimpleMetadataClient(testScheme(),
		serviceAccount("team-a", "irsa", role),
		serviceAccount("team-a", "plain", map[string]string{"other": "x"}),
	)
	gets := countGets(client)
	c := startCache(t, client)

	tests := []struct {
		name          string
		namespace, sa string
		want          bool
		wantDirectGet bool
	}{
		{name: "an annotated service account in the cache is IRSA", namespace: "team-a", sa: "irsa", want: true},
		{name: "a service account without the annotation is not IRSA", namespace: "team-a", sa: "plain", want: false},
		{name: "the same name in another namespace is looked up there and is missing", namespace: "team-b", sa: "irsa", want: false, wantDirectGet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := gets.Load()
			got, err := c.IsIRSA(context.Background(), tt.namespace, tt.sa)
			if err != nil {
				t.Fatalf("IsIRSA: %v", err)
			}
			if got != tt.want {
				t.Errorf("IsIRSA(%s/%s) = %v, want %v", tt.namespace, tt.sa, got, tt.want)
			}
			if direct := gets.Load() > before; direct != tt.wantDirectGet {
				t.Errorf("direct GET made = %v, want %v", direct, tt.wantDirectGet)
			}
		})
	}
}

func TestCacheMissAsksTheAPIServer(t *testing.T) {
	// The cache is never started: it stays empty, as it is in the moment between
	// a service account's creation and the watch event that brings it in.
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/app"}
	client := metadatafake.NewSimpleMetadataClient(testScheme(), serviceAccount("team-a", "new", role))
	gets := countGets(client)
	c := NewCache(client, CacheOptions{})

	got, err := c.IsIRSA(context.Background(), "team-a", "new")
	if err != nil {
		t.Fatalf("IsIRSA: %v", err)
	}
	if !got {
		t.Error("a service account created just before its pod is not seen as IRSA")
	}
	if gets.Load() != 1 {
		t.Errorf("direct GETs = %d, want 1", gets.Load())
	}
}

func TestCacheLookupErrorIsReturned(t *testing.T) {
	client := metadatafake.NewSimpleMetadataClient(testScheme())
	c := startCache(t, client)
	client.PrependReactor("get", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	_, err := c.IsIRSA(context.Background(), "team-a", "app")
	if err == nil {
		t.Fatal("IsIRSA with a failing API server returned no error")
	}
}

func TestIndexFollowsWatchEvents(t *testing.T) {
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/app"}
	x := irsaIndex{entries: map[string]Facts{}}
	steps := []struct {
		name    string
		apply   func() error
		key     string
		irsa    bool
		present bool
	}{
		{"a list replaces everything", func() error {
			return x.Replace([]any{serviceAccount("a", "app", nil), serviceAccount("a", "old", nil)}, "1")
		}, "a/app", false, true},
		{"an update that adds the role makes it IRSA", func() error { return x.Update(serviceAccount("a", "app", role)) }, "a/app", true, true},
		{"an added service account is found", func() error { return x.Add(serviceAccount("b", "new", role)) }, "b/new", true, true},
		{"a deleted one is gone", func() error { return x.Delete(serviceAccount("a", "app", role)) }, "a/app", false, false},
		{"a tombstone deletes by key", func() error {
			return x.Delete(cache.DeletedFinalStateUnknown{Key: "b/new", Obj: serviceAccount("b", "new", role)})
		}, "b/new", false, false},
		{"a new list forgets what it does not hold", func() error { return x.Replace(nil, "2") }, "a/old", false, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.apply(); err != nil {
				t.Fatal(err)
			}
			if f, present := x.get(s.key); f.IRSA != s.irsa || present != s.present {
				t.Errorf("%s: irsa %v present %v, want %v %v", s.key, f.IRSA, present, s.irsa, s.present)
			}
		})
	}
	if !x.synced.Load() {
		t.Error("the index is not synced after a list")
	}
}

func TestIndexKeepsTheRegionalOptOut(t *testing.T) {
	x := irsaIndex{entries: map[string]Facts{}}
	sa := serviceAccount("a", "global", map[string]string{
		policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/global", policy.STSRegionalEndpointsAnnotation: "false", "team": "x",
	})
	if err := x.Add(sa); err != nil {
		t.Fatal(err)
	}
	if f, _ := x.get("a/global"); !f.IRSA || !f.RegionalOptOut {
		t.Errorf("facts %+v, want IRSA and the regional opt-out", f)
	}
	empty := serviceAccount("a", "empty", map[string]string{policy.IRSARoleAnnotation: ""})
	if err := x.Add(empty); err != nil {
		t.Fatal(err)
	}
	if f, _ := x.get("a/empty"); f.IRSA {
		t.Error("an empty role ARN counts as IRSA; the Pod Identity Webhook ignores it")
	}
}
