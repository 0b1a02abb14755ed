package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/singleflight"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	"github.com/privateguard/privateguard/internal/idlewatch"
)

// serviceAccountsResource is what the cache lists and watches.
var serviceAccountsResource = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}

// CacheOptions configure a Cache. The zero value gives the defaults.
type CacheOptions struct {
	// GetTimeout bounds a lookup that misses the cache: the direct GET, and any wait for
	// the client's rate limiter before it. Default 2s: well inside the API server's
	// default webhook timeout of 10s, so a slow API server makes the lookup fail (and the
	// pod be judged from its env) instead of the whole admission time out.
	GetTimeout time.Duration
	// NotFoundTTL is how long a service account found missing is remembered as missing
	// (unless the watch brings it in first). Default 5s: enough to absorb a controller
	// retrying pods of a service account not yet created, short enough that creating it
	// takes effect at once in practice.
	NotFoundTTL time.Duration
	// SyncGrace is how long Ready waits for the first sync before reporting ready
	// anyway: an unsynced cache still answers, through direct GETs. Default 30s.
	SyncGrace time.Duration
	// ListTimeout bounds each page of the list of every service account. Default 30s.
	ListTimeout time.Duration
	// WatchIdleTimeout restarts a watch that delivered nothing (not even a bookmark,
	// which the API server sends about every minute) for this long. Before the first sync
	// it is a tenth of this. Default 3m.
	WatchIdleTimeout time.Duration
	// Logger logs the cache's life. Default: discard.
	Logger logr.Logger
}

// Defaults of CacheOptions.
const (
	DefaultGetTimeout       = 2 * time.Second
	DefaultNotFoundTTL      = 5 * time.Second
	DefaultSyncGrace        = 30 * time.Second
	DefaultListTimeout      = 30 * time.Second
	DefaultWatchIdleTimeout = 3 * time.Minute
)

// reflectorBackoff retries a failed list or watch quickly: client-go's default grows to
// 30s with up to 100% jitter, which kept a replica unsynced for a minute after the API
// server had recovered.
var reflectorBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 4, Cap: 5 * time.Second}

// Cache is the ServiceAccounts of a running cluster. A reflector lists and watches the
// service accounts' metadata only (no secrets) and keeps, per service account, one entry:
// its namespace/name and whether it carries the IRSA annotation. Nothing else of the
// object is kept, so a cluster with 50,000 service accounts costs a few MiB. On a miss it
// asks the API server directly, because a service account created just before its pod
// may not have reached the cache yet; concurrent misses of one service account share one
// GET, and one found missing is remembered as such for NotFoundTTL.
type Cache struct {
	client  metadata.Interface
	opts    CacheOptions
	index   irsaIndex
	gets    singleflight.Group
	started atomic.Int64           // unix nanoseconds of Start
	listing atomic.Pointer[func()] // ends the eager collection of the list in flight
	now     func() time.Time
}

var _ ServiceAccounts = (*Cache)(nil)

// NewCache builds a Cache on a metadata client. Start runs its reflector.
func NewCache(client metadata.Interface, opts CacheOptions) *Cache {
	if opts.GetTimeout <= 0 {
		opts.GetTimeout = DefaultGetTimeout
	}
	if opts.NotFoundTTL <= 0 {
		opts.NotFoundTTL = DefaultNotFoundTTL
	}
	if opts.SyncGrace <= 0 {
		opts.SyncGrace = DefaultSyncGrace
	}
	if opts.ListTimeout <= 0 {
		opts.ListTimeout = DefaultListTimeout
	}
	if opts.WatchIdleTimeout <= 0 {
		opts.WatchIdleTimeout = DefaultWatchIdleTimeout
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	c := &Cache{client: client, opts: opts, now: time.Now,
		index: irsaIndex{entries: map[string]Facts{}, missing: map[string]time.Time{}}}
	c.index.replaced = c.replaced
	return c
}

// Start lists and watches service accounts until ctx is done. It returns nil then.
func (c *Cache) Start(ctx context.Context) error {
	c.started.Store(c.now().UnixNano())
	resource := c.client.Resource(serviceAccountsResource)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, _ metav1.ListOptions) (runtime.Object, error) {
			return c.list(ctx, resource)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			idle := c.opts.WatchIdleTimeout
			if !c.HasSynced() {
				idle /= 10
			}
			onIdle := func() {
				c.opts.Logger.Info("restarting a service-account watch that delivered nothing", "for", idle.String())
			}
			return idlewatch.Start(ctx, idle, onIdle, func(ctx context.Context) (watch.Interface, error) {
				return resource.Watch(ctx, opts)
			})
		},
	}
	// A list the reflector dropped (it stopped before handing the list to the index)
	// leaves the collector eager no longer than the cache runs.
	defer c.endList()
	backoff := reflectorBackoff
	r := cache.NewReflectorWithOptions(listOnly{lw}, &metav1.PartialObjectMetadata{}, &c.index,
		cache.ReflectorOptions{Name: "serviceaccounts", Backoff: &backoff})
	r.RunWithContext(ctx)
	return nil
}

// list is the reflector's list: listAccounts, with the collector running eagerly from
// its first page until the index has swapped the result in (replaced), or the list
// failed. Not before the first page: a list that waits on an API server that is away
// makes no garbage, and admission meanwhile is better off with the usual collector.
func (c *Cache) list(ctx context.Context, resource metadata.ResourceInterface) (runtime.Object, error) {
	c.endList() // a list before this one that never reached the index
	list, err := listAccounts(ctx, resource, c.opts.ListTimeout, func() {
		restore := collectEagerly()
		c.listing.Store(&restore)
	})
	if err != nil {
		c.endList()
		return nil, err
	}
	return list, nil
}

// endList gives the collector back its setting after a list, if one is in flight.
func (c *Cache) endList() {
	if restore := c.listing.Swap(nil); restore != nil {
		(*restore)()
	}
}

// replaced is called by the index once it holds a new list: the list's garbage (pages,
// and the accounts themselves now that the index has their keys) goes back to the
// system at once rather than when the runtime's scavenger gets to it, minutes later.
func (c *Cache) replaced(n int, first bool) {
	c.endList()
	debug.FreeOSMemory()
	if first {
		c.opts.Logger.Info("service-account cache synced", "serviceAccounts", n,
			"after", c.now().Sub(time.Unix(0, c.started.Load())).Round(time.Millisecond).String())
	}
}

// HasSynced reports whether the cache has listed every service account once.
func (c *Cache) HasSynced() bool { return c.index.synced.Load() }

// Ready is a readiness check: ready once synced, or SyncGrace after Start whatever the
// API server does, because lookups then go to the API server directly. A replica
// started during an API server brownout must not stay out of service for its length.
func (c *Cache) Ready(*http.Request) error {
	if c.HasSynced() {
		return nil
	}
	started := c.started.Load()
	if started == 0 {
		return errors.New("service-account cache not started yet")
	}
	if waited := c.now().Sub(time.Unix(0, started)); waited < c.opts.SyncGrace {
		return fmt.Errorf("service-account cache not synced yet (ready without it in %s)", (c.opts.SyncGrace - waited).Round(time.Second))
	}
	return nil
}

// IsIRSA reports whether the service account is IRSA, as Lookup finds it.
func (c *Cache) IsIRSA(ctx context.Context, namespace, name string) (bool, error) {
	f, err := c.Lookup(ctx, namespace, name)
	return f.IRSA, err
}

// Lookup answers from the cache, or on a miss from the API server.
func (c *Cache) Lookup(ctx context.Context, namespace, name string) (Facts, error) {
	key := namespace + "/" + name
	if f, found := c.index.get(key); found {
		return f, nil
	}
	if c.index.knownMissing(key, c.now()) {
		return Facts{}, nil
	}
	// The GET runs on its own budget, not the first caller's context: a caller that
	// gives up must not fail the others waiting on the same GET.
	result := c.gets.DoChan(key, func() (any, error) {
		getCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.GetTimeout)
		defer cancel()
		m, err := c.client.Resource(serviceAccountsResource).Namespace(namespace).Get(getCtx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			c.index.markMissing(key, c.now().Add(c.opts.NotFoundTTL))
			return Facts{}, nil
		}
		if err != nil {
			return Facts{}, newLookupError(namespace, name, err)
		}
		return factsOf(m.GetAnnotations()), nil
	})
	select {
	case r := <-result:
		if r.Err != nil {
			return Facts{}, r.Err
		}
		return r.Val.(Facts), nil
	case <-ctx.Done():
		return Facts{}, newLookupError(namespace, name, ctx.Err())
	}
}

// irsaIndex is the reflector's store: namespace/name → what its annotations say.
type irsaIndex struct {
	mu      sync.RWMutex
	entries map[string]Facts
	missing map[string]time.Time // namespace/name → found missing, remembered until
	synced  atomic.Bool
	// replaced, when set, is called after each Replace with the number of entries and
	// whether it was the first.
	replaced func(n int, first bool)
}

func (x *irsaIndex) get(key string) (f Facts, found bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	f, found = x.entries[key]
	return f, found
}

// knownMissing reports whether key was found missing and that is still fresh.
func (x *irsaIndex) knownMissing(key string, now time.Time) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	until, ok := x.missing[key]
	return ok && now.Before(until)
}

// markMissing remembers key as missing until the given time.
func (x *irsaIndex) markMissing(key string, until time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.missing == nil || len(x.missing) >= maxMissing {
		x.missing = map[string]time.Time{} // expired or not, a flood of names is forgotten
	}
	x.missing[key] = until
}

// maxMissing bounds the names remembered as missing.
const maxMissing = 10000

// entry is the key and value the index keeps for a service account.
func entry(obj any) (string, Facts, error) {
	switch obj := obj.(type) {
	case *account:
		return obj.key, obj.facts, nil
	case cache.DeletedFinalStateUnknown:
		return obj.Key, Facts{}, nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", Facts{}, fmt.Errorf("service-account cache: %w", err)
	}
	return m.GetNamespace() + "/" + m.GetName(), factsOf(m.GetAnnotations()), nil
}

// Add records a service account.
func (x *irsaIndex) Add(obj any) error {
	key, f, err := entry(obj)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.entries[key] = f
	delete(x.missing, key)
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
	entries := make(map[string]Facts, len(list))
	for _, obj := range list {
		key, f, err := entry(obj)
		if err != nil {
			return err
		}
		entries[key] = f
	}
	x.mu.Lock()
	x.entries = entries
	x.mu.Unlock()
	first := !x.synced.Swap(true)
	if x.replaced != nil {
		x.replaced(len(entries), first)
	}
	return nil
}

// Resync has nothing to do: the index is not a queue.
func (x *irsaIndex) Resync() error { return nil }
