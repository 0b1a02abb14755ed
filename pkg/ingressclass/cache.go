// Package ingressclass looks up the cluster's IngressClasses and the AWS Load Balancer
// Controller's IngressClassParams for the admission webhook, so that
// alb-certificate-discovery knows which Ingresses the controller serves and which
// certificates their classes carry.
//
// IngressClasses come from an informer cache (a cluster has a handful), whose watch is
// restarted when it goes silent as the service accounts' is; until it has synced, and for IngressClassParams (read only for the ALB Ingresses that reference
// them), a direct read with a short memory. Every read is bounded by the request's
// context: a lookup that fails or runs out of time is an error, and the webhook then
// judges the Ingress by its class name (alb counts), as without lookups. Nothing here
// writes to the cluster.
package ingressclass

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	networkingclient "k8s.io/client-go/kubernetes/typed/networking/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/privateguard/privateguard/internal/idlewatch"
	"github.com/privateguard/privateguard/pkg/policy"
)

// paramsResource is the resource of policy.IngressClassParamsGVK.
var paramsResource = schema.GroupVersionResource{Group: policy.IngressClassParamsGVK.Group, Version: policy.IngressClassParamsGVK.Version, Resource: "ingressclassparams"}

// Options configure a Cache.
type Options struct {
	// ParamsTTL is how long an IngressClassParams read is remembered. Default 30s.
	ParamsTTL time.Duration
	// NotFoundTTL is how long an IngressClass or IngressClassParams found missing, or
	// no default IngressClass, is remembered. Default 5s: enough to absorb a burst of
	// Ingresses naming a class not yet created, short enough that creating it takes
	// effect at once in practice.
	NotFoundTTL time.Duration
	// Resync of the IngressClass informer. Default 10m.
	Resync time.Duration
	// WatchIdleTimeout restarts an IngressClass watch that delivered nothing, not even a
	// bookmark, for this long: an API server that hung would otherwise leave the
	// informer's classes stale until the process restarts. Default 3m.
	WatchIdleTimeout time.Duration
}

// Cache answers IngressClass lookups; Start runs its informer. It is safe for
// concurrent use.
type Cache struct {
	classes networkingclient.IngressClassInterface
	dynamic dynamic.Interface
	opts    Options

	informer cache.SharedIndexInformer
	lister   networkinglisters.IngressClassLister

	mu      sync.Mutex
	params  map[string]paramsEntry
	missing map[string]time.Time // class name (noDefault: no default class) → found missing at
	now     func() time.Time
}

// noDefault is the key of missing that remembers there was no default IngressClass.
const noDefault = "\x00default"

// maxRemembered bounds the params and the missing names remembered.
const maxRemembered = 1000

type paramsEntry struct {
	params *policy.IngressClassParams // nil: does not exist
	at     time.Time
}

// NewCache builds a cache over the IngressClasses client and the dynamic client of one
// cluster. It takes the networking client alone, not a whole clientset: building one
// links every API group's client into the server and costs its resident memory.
func NewCache(client networkingclient.IngressClassesGetter, dyn dynamic.Interface, opts Options) *Cache {
	if opts.ParamsTTL <= 0 {
		opts.ParamsTTL = 30 * time.Second
	}
	if opts.NotFoundTTL <= 0 {
		opts.NotFoundTTL = 5 * time.Second
	}
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Minute
	}
	if opts.WatchIdleTimeout <= 0 {
		opts.WatchIdleTimeout = 3 * time.Minute
	}
	classes := client.IngressClasses()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return classes.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return idlewatch.Start(ctx, opts.WatchIdleTimeout, func() {}, func(ctx context.Context) (watch.Interface, error) {
				return classes.Watch(ctx, o)
			})
		},
	}
	// As the generated informers do: the client says whether it can stream the initial
	// list (a fake cannot).
	informer := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client),
		&networkingv1.IngressClass{}, opts.Resync, cache.Indexers{})
	return &Cache{
		classes: classes, dynamic: dyn, opts: opts,
		informer: informer, lister: networkinglisters.NewIngressClassLister(informer.GetIndexer()),
		params: map[string]paramsEntry{}, missing: map[string]time.Time{}, now: time.Now,
	}
}

// Start runs the informer until ctx is done. It never fails: an API server that is
// away is retried by the informer, and lookups read directly meanwhile.
func (c *Cache) Start(ctx context.Context) error {
	c.informer.Run(ctx.Done())
	return nil
}

// For returns the lookups of one request, bounded by ctx.
func (c *Cache) For(ctx context.Context) policy.IngressClasses { return &request{c: c, ctx: ctx} }

type request struct {
	c   *Cache
	ctx context.Context
}

var _ policy.IngressClasses = (*request)(nil)

// IngressClass answers from the informer once it has synced, else, and for a class the
// informer does not hold (created just before its Ingress, as one kubectl apply does,
// and not yet brought by the watch), from the API server.
func (r *request) IngressClass(name string) (*networkingv1.IngressClass, bool, error) {
	if r.c.informer.HasSynced() {
		class, err := r.c.lister.Get(name)
		if err == nil {
			return class, true, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, false, err
		}
		if r.c.knownMissing(name) {
			return nil, false, nil
		}
	}
	class, err := r.c.classes.Get(r.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		r.c.markMissing(name)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get IngressClass %s: %w", name, err)
	}
	return class, true, nil
}

// DefaultIngressClass answers as IngressClass does: from the informer, and when it holds
// no default class, from a list of the API server's.
func (r *request) DefaultIngressClass() (string, error) {
	if r.c.informer.HasSynced() {
		classes, err := r.c.lister.List(labels.Everything())
		if err != nil {
			return "", err
		}
		def, err := defaultOf(classes)
		if def != "" || err != nil || r.c.knownMissing(noDefault) {
			return def, err
		}
	}
	list, err := r.c.classes.List(r.ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list IngressClasses: %w", err)
	}
	classes := make([]*networkingv1.IngressClass, len(list.Items))
	for i := range list.Items {
		classes[i] = &list.Items[i]
	}
	def, err := defaultOf(classes)
	if def == "" && err == nil {
		r.c.markMissing(noDefault)
	}
	return def, err
}

// defaultOf is the name of the default class among classes, "" if none.
func defaultOf(classes []*networkingv1.IngressClass) (string, error) {
	def := ""
	for _, class := range classes {
		if class.Annotations[policy.DefaultIngressClassAnnotation] == "true" {
			if def != "" {
				return "", fmt.Errorf("IngressClasses %s and %s are both the default", def, class.Name)
			}
			def = class.Name
		}
	}
	return def, nil
}

// knownMissing reports whether key was found missing within NotFoundTTL.
func (c *Cache) knownMissing(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.missing[key]
	return ok && c.now().Sub(at) < c.opts.NotFoundTTL
}

// markMissing remembers key as found missing now.
func (c *Cache) markMissing(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.missing) >= maxRemembered {
		clear(c.missing) // expired or not, a flood of names is forgotten
	}
	c.missing[key] = c.now()
}

func (r *request) IngressClassParams(name string) (*policy.IngressClassParams, bool, error) {
	c := r.c
	c.mu.Lock()
	e, ok := c.params[name]
	c.mu.Unlock()
	ttl := c.opts.ParamsTTL
	if e.params == nil {
		ttl = c.opts.NotFoundTTL
	}
	if ok && c.now().Sub(e.at) < ttl {
		return e.params, e.params != nil, nil
	}
	u, err := c.dynamic.Resource(paramsResource).Get(r.ctx, name, metav1.GetOptions{})
	var params *policy.IngressClassParams
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, false, fmt.Errorf("get IngressClassParams %s: %w", name, err)
	default:
		data, err := u.MarshalJSON()
		if err != nil {
			return nil, false, err
		}
		params = &policy.IngressClassParams{}
		if err := json.Unmarshal(data, params); err != nil {
			return nil, false, fmt.Errorf("read IngressClassParams %s: %w", name, err)
		}
	}
	c.mu.Lock()
	if len(c.params) >= maxRemembered {
		clear(c.params)
	}
	c.params[name] = paramsEntry{params: params, at: c.now()}
	c.mu.Unlock()
	return params, params != nil, nil
}
