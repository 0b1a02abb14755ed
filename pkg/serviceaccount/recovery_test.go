package serviceaccount

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/privateguard/privateguard/pkg/policy"
)

func TestCacheMergesConcurrentMissesIntoOneGet(t *testing.T) {
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/app"}
	client := metadatafake.NewSimpleMetadataClient(testScheme(), serviceAccount("team-a", "new", role))
	release := make(chan struct{})
	var gets atomic.Int32
	client.PrependReactor("get", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		<-release
		return false, nil, nil
	})
	c := NewCache(client, CacheOptions{})

	const callers = 50
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if irsa, err := c.IsIRSA(context.Background(), "team-a", "new"); err != nil || !irsa {
				wrong.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // every caller is waiting on the GET
	close(release)
	wg.Wait()
	if n := gets.Load(); n != 1 {
		t.Errorf("%d concurrent lookups of one service account made %d GETs, want 1", callers, n)
	}
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d callers got a wrong answer or an error", n)
	}
}

func TestCacheCallerGivingUpFailsNoOther(t *testing.T) {
	client := metadatafake.NewSimpleMetadataClient(testScheme(), serviceAccount("team-a", "new", nil))
	release := make(chan struct{})
	client.PrependReactor("get", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		<-release
		return false, nil, nil
	})
	c := NewCache(client, CacheOptions{})
	impatient, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.IsIRSA(impatient, "team-a", "new"); first <- err }()
	time.Sleep(50 * time.Millisecond)
	second := make(chan error, 1)
	go func() { _, err := c.IsIRSA(context.Background(), "team-a", "new"); second <- err }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-first; err == nil {
		t.Error("the caller that gave up got no error")
	}
	close(release)
	if err := <-second; err != nil {
		t.Errorf("the caller sharing the GET failed with the first one: %v", err)
	}
}

func TestCacheRemembersMissingServiceAccountsBriefly(t *testing.T) {
	client := metadatafake.NewSimpleMetadataClient(testScheme())
	gets := countGets(client)
	c := NewCache(client, CacheOptions{NotFoundTTL: time.Minute})
	now := time.Now()
	c.now = func() time.Time { return now }

	for range 3 {
		if irsa, err := c.IsIRSA(context.Background(), "team-a", "ghost"); err != nil || irsa {
			t.Fatalf("IsIRSA of a missing service account = %v, %v; want false, nil", irsa, err)
		}
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("3 lookups of a missing service account made %d GETs, want 1", n)
	}
	now = now.Add(2 * time.Minute)
	_, _ = c.IsIRSA(context.Background(), "team-a", "ghost")
	if n := gets.Load(); n != 2 {
		t.Errorf("after the TTL: %d GETs, want 2", n)
	}
	role := map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/app"}
	if err := c.index.Add(serviceAccount("team-a", "ghost", role)); err != nil {
		t.Fatal(err)
	}
	if irsa, _ := c.IsIRSA(context.Background(), "team-a", "ghost"); !irsa {
		t.Error("a service account created after it was found missing is still missing")
	}
}

func TestCacheIsReadyWithinItsSyncGrace(t *testing.T) {
	client := metadatafake.NewSimpleMetadataClient(testScheme())
	client.PrependReactor("list", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	client.PrependWatchReactor("serviceaccounts", func(clienttesting.Action) (bool, watch.Interface, error) {
		return true, nil, errors.New("connection refused")
	})
	c := NewCache(client, CacheOptions{SyncGrace: 300 * time.Millisecond})
	if c.Ready(nil) == nil {
		t.Error("ready before it started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(50 * time.Millisecond)
	if c.Ready(nil) == nil {
		t.Error("ready at once while the API server refuses, want after the grace")
	}
	time.Sleep(400 * time.Millisecond)
	if err := c.Ready(nil); err != nil {
		t.Errorf("not ready after the sync grace: %v", err)
	}
}

func TestLookupErrorIsOneShortLine(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantCause string
	}{
		{"an internal error with a long body", apierrors.NewInternalError(errors.New(strings.Repeat("etcd is unhappy. ", 200))), "api server answered 500 InternalError"},
		{"a deadline", context.DeadlineExceeded, "timeout"},
		{"a wrapped deadline", errors.Join(errors.New("client rate limiter Wait returned an error"), context.DeadlineExceeded), "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newLookupError("team-a", "app", tt.err)
			if err.Cause != tt.wantCause {
				t.Errorf("cause %q, want %q", err.Cause, tt.wantCause)
			}
			if msg := err.Error(); len(msg) > 120 || strings.Contains(msg, "unhappy") {
				t.Errorf("message of %d bytes: %.200q, want one short line", len(msg), msg)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the client's error is not wrapped")
			}
		})
	}
}
