package server

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/dynamic"
	networkingclient "k8s.io/client-go/kubernetes/typed/networking/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/privateguard/privateguard/pkg/ingressclass"
)

// Client-side rate limit of the Kubernetes client. Lookups are one list and watch, plus
// a GET per cache miss: a rollout of many pods with new service accounts is a burst of
// misses (concurrent misses of one service account share a GET). API Priority and
// Fairness protects the API server; this only keeps a runaway replica polite.
const (
	clientQPS   = 100
	clientBurst = 200
)

// restConfig is the Kubernetes client configuration: the kubeconfig file if given, else
// the in-cluster one.
func restConfig(kubeconfig, version string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration (give --kubeconfig, or --service-accounts=false to run without a cluster): %w", err)
	}
	cfg.UserAgent = "privateguard/" + version
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	cfg.RateLimiter = newWaitingRateLimiter(clientQPS, clientBurst)
	return cfg, nil
}

// waitingRateLimiter is a token bucket whose Wait waits for a token for as long as the
// caller's context allows. client-go's own refuses at once ("would exceed context
// deadline") when the queue ahead is longer than the deadline, so in a burst a lookup
// failed with most of its 2 seconds unspent, though tokens came back every 10ms.
type waitingRateLimiter struct {
	limiter *rate.Limiter
	qps     float32
}

// newIngressClassCache builds the IngressClass lookups of the validating webhook: the
// typed client for IngressClasses, the dynamic one for the AWS Load Balancer Controller's
// IngressClassParams (a CRD the cluster may not have).
func newIngressClassCache(cfg *rest.Config) (*ingressclass.Cache, error) {
	client, err := networkingclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes networking client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	return ingressclass.NewCache(client, dyn, ingressclass.Options{}), nil
}

var _ flowcontrol.RateLimiter = (*waitingRateLimiter)(nil)

func newWaitingRateLimiter(qps float32, burst int) *waitingRateLimiter {
	return &waitingRateLimiter{limiter: rate.NewLimiter(rate.Limit(qps), burst), qps: qps}
}

// Wait reserves the next token and waits for it until ctx is done, giving it back if
// ctx ends first.
func (w *waitingRateLimiter) Wait(ctx context.Context) error {
	r := w.limiter.Reserve()
	delay := r.Delay()
	if delay == 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

func (w *waitingRateLimiter) TryAccept() bool { return w.limiter.Allow() }
func (w *waitingRateLimiter) Accept()         { _ = w.limiter.Wait(context.Background()) }
func (w *waitingRateLimiter) Stop()           {}
func (w *waitingRateLimiter) QPS() float32    { return w.qps }
