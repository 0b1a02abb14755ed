package server

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/privateguard/privateguard/pkg/ingressclass"
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
	// Lookups are one list and watch, plus a GET per cache miss.
	cfg.QPS, cfg.Burst = 20, 40
	return cfg, nil
}

// releaseListMemory waits for the service-account cache's first sync, then returns the
// memory of the initial list to the system. That list is the server's one large
// allocation (tens of MiB in a cluster with 50,000 service accounts) and is garbage once
// the cache holds its few bytes per account; without this the process would keep it
// until the runtime's next forced collection and its scavenger get to it, minutes later.
func releaseListMemory(ctx context.Context, synced func() bool) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !synced() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	debug.FreeOSMemory()
}

// newIngressClassCache builds the IngressClass lookups of the validating webhook: the
// typed client for IngressClasses, the dynamic one for the AWS Load Balancer Controller's
// IngressClassParams (a CRD the cluster may not have).
func newIngressClassCache(cfg *rest.Config) (*ingressclass.Cache, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	return ingressclass.NewCache(client, dyn, ingressclass.Options{}), nil
}
