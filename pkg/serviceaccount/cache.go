package serviceaccount

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
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

// Cache is the ServiceAccounts of a running cluster. It keeps a metadata-only informer
// cache of every service account (name, namespace and the IRSA annotation alone: no
// secrets, no other annotations, small in memory) and answers from it. On a miss it asks
// the API server directly, because a service account created just before its pod may not
// have reached the cache yet.
type Cache struct {
	client     metadata.Interface
	informer   informers.GenericInformer
	getTimeout time.Duration
}

var _ ServiceAccounts = (*Cache)(nil)

// NewCache builds a Cache on a metadata client. Start runs its informer.
func NewCache(client metadata.Interface, opts CacheOptions) *Cache {
	if opts.GetTimeout <= 0 {
		opts.GetTimeout = DefaultGetTimeout
	}
	inf := metadatainformer.NewFilteredMetadataInformer(client, serviceAccountsResource, metav1.NamespaceAll, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, nil)
	// Keep only what IsIRSA reads; managedFields and other annotations would cost memory
	// in clusters with many service accounts. SetTransform fails only once started.
	_ = inf.Informer().SetTransform(trimServiceAccount)
	return &Cache{client: client, informer: inf, getTimeout: opts.GetTimeout}
}

// Start runs the informer until ctx is done. It returns nil then.
func (c *Cache) Start(ctx context.Context) error {
	c.informer.Informer().RunWithContext(ctx)
	return nil
}

// HasSynced reports whether the cache has listed every service account once.
func (c *Cache) HasSynced() bool { return c.informer.Informer().HasSynced() }

// IsIRSA answers from the cache, or on a miss from the API server.
func (c *Cache) IsIRSA(ctx context.Context, namespace, name string) (bool, error) {
	obj, found, err := c.informer.Informer().GetIndexer().GetByKey(namespace + "/" + name)
	if err == nil && found {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return hasRole(m), nil
		}
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

func hasRole(m *metav1.PartialObjectMetadata) bool {
	_, ok := m.Annotations[policy.IRSARoleAnnotation]
	return ok
}

// trimServiceAccount keeps what the cache needs of a service account.
func trimServiceAccount(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil // a tombstone or an unexpected type: leave it to the informer
	}
	trimmed := &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		},
	}
	if role, ok := m.Annotations[policy.IRSARoleAnnotation]; ok {
		trimmed.Annotations = map[string]string{policy.IRSARoleAnnotation: role}
	}
	return trimmed, nil
}
