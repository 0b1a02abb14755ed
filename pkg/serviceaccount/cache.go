package serviceaccount

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	"github.com/privateguard/privateguard/pkg/policy"
)

// serviceAccountsResource is what the cache lists and watches.
var serviceAccountsResource = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}

// CacheOptions configure a Cache. The zero value gives the defaults.
type CacheOptions struct {
	// GetTimeout bounds the direct GET made on a cache miss. Default 2s: well inside the
	// API server's default webhook timeout of 10s, so a slow API server makes the lookup
	// fail (and the pod be judged from its env) instead of the whole admission time out.
	GetTimeout time.Duration
}

// DefaultGetTimeout is CacheOptions.GetTimeout's default.
const DefaultGetTimeout = 2 * time.Second

// Cache is the ServiceAccounts of a running cluster. A reflector lists and watches the
// service accounts' metadata only (no secrets) and keeps, per service account, one entry:
// its namespace/name and whether it carries the IRSA annotation. Nothing else of the
// object is kept, so a cluster with 50,000 service accounts costs a few MiB. On a miss it
// asks the API server directly, because a service account created just before its pod
// may not have reached the cache yet.
type Cache struct {
	client     metadata.Interface
	getTimeout time.Duration
	index      irsaIndex
}

var _ ServiceAccounts = (*Cache)(nil)

// NewCache builds a Cache on a metadata client. Start runs its reflector.
func NewCache(client metadata.Interface, opts CacheOptions) *Cache {
	if opts.GetTimeout <= 0 {
		opts.GetTimeout = DefaultGetTimeout
	}
	return &Cache{client: client, getTimeout: opts.GetTimeout, index: irsaIndex{entries: map[string]bool{}}}
}

// Start lists and watches service accounts until ctx is done. It returns nil then.
func (c *Cache) Start(ctx context.Context) error {
	resource := c.client.Resource(serviceAccountsResource)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return resource.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return resource.Watch(ctx, opts)
		},
	}
	// The client says whether it supports streaming lists (fake clients do not).
	r := cache.NewReflectorWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, c.client),
		&metav1.PartialObjectMetadata{}, &c.index, cache.ReflectorOptions{Name: "serviceaccounts"})
	r.RunWithContext(ctx)
	return nil
}

// HasSynced reports whether the cache has listed every service account once.
func (c *Cache) HasSynced() bool { return c.index.synced.Load() }

// IsIRSA answers from the cache, or on a miss from the API server.
func (c *Cache) IsIRSA(ctx context.Context, namespace, name string) (bool, error) {
	if irsa, found := c.index.get(namespace + "/" + name); found {
		return irsa, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.getTimeout)
	defer cancel()
	m, err := c.client.Resource(serviceAccountsResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get service account %s/%s: %w", namespace, name, err)
	}
	return hasRole(m), nil
}

func hasRole(m metav1.Object) bool {
	_, ok := m.GetAnnotations()[policy.IRSARoleAnnotation]
	return ok
}

// irsaIndex is the reflector's store: namespace/name → has the IRSA annotation.
type irsaIndex struct {
	mu      sync.RWMutex
	entries map[string]bool
	synced  atomic.Bool
}

var _ cache.TransformingStore = (*irsaIndex)(nil)

// Transformer trims each service account as it arrives, so that the reflector's
// temporary store of a streaming list holds no more than the index needs: without it,
// the initial list of a large cluster briefly holds every managedFields entry.
func (x *irsaIndex) Transformer() cache.TransformFunc { return trim }

// trim keeps a service account's name, namespace, resource version and role annotation.
func trim(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil // a tombstone or an unexpected type: leave it to the reflector
	}
	trimmed := &metav1.PartialObjectMetadata{
		TypeMeta:   m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion},
	}
	if role, ok := m.Annotations[policy.IRSARoleAnnotation]; ok {
		trimmed.Annotations = map[string]string{policy.IRSARoleAnnotation: role}
	}
	return trimmed, nil
}

func (x *irsaIndex) get(key string) (irsa, found bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	irsa, found = x.entries[key]
	return irsa, found
}

// entry is the key and value the index keeps for a service account.
func entry(obj any) (string, bool, error) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tombstone.Key, false, nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", false, fmt.Errorf("service-account cache: %w", err)
	}
	return m.GetNamespace() + "/" + m.GetName(), hasRole(m), nil
}

// Add records a service account.
func (x *irsaIndex) Add(obj any) error {
	key, irsa, err := entry(obj)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.entries[key] = irsa
	return nil
}

// Update records a changed service account.
func (x *irsaIndex) Update(obj any) error { return x.Add(obj) }

// Delete forgets a service account.
func (x *irsaIndex) Delete(obj any) error {
	key, _, err := entry(obj)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.entries, key)
	return nil
}

// Replace swaps in the result of a full list.
func (x *irsaIndex) Replace(list []any, _ string) error {
	entries := make(map[string]bool, len(list))
	for _, obj := range list {
		key, irsa, err := entry(obj)
		if err != nil {
			return err
		}
		entries[key] = irsa
	}
	x.mu.Lock()
	x.entries = entries
	x.mu.Unlock()
	x.synced.Store(true)
	return nil
}

// Resync has nothing to do: the index is not a queue.
func (x *irsaIndex) Resync() error { return nil }
