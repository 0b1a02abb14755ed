package server

import (
	"context"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"

	"github.com/privateguard/privateguard/pkg/backgroundaudit"
	"github.com/privateguard/privateguard/pkg/metrics"
)

// Client-side rate limit of the Lease's client: a renewal every 2 seconds. It is not the
// audit's client, so that a busy pass never delays a renewal and loses the Lease.
const (
	leaseClientQPS   = 2
	leaseClientBurst = 5
)

// newBackgroundAudit builds the background audit of o (o.BackgroundAuditInterval > 0):
// its own clients, with their own rate limits, and the Lease in
// o.BackgroundAuditNamespace, else $POD_NAMESPACE.
func newBackgroundAudit(o *Options, policies backgroundaudit.Policies, log logr.Logger) (func(context.Context) error, error) {
	namespace := o.BackgroundAuditNamespace
	if namespace == "" {
		namespace = os.Getenv("POD_NAMESPACE")
	}
	if namespace == "" {
		return nil, backgroundaudit.ErrNoLeaseNamespace
	}
	cfg, err := restConfig(o.Kubeconfig, o.Version)
	if err != nil {
		return nil, err
	}
	c, err := backgroundaudit.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	leaseCfg := rest.CopyConfig(cfg)
	leaseCfg.QPS, leaseCfg.Burst, leaseCfg.RateLimiter = leaseClientQPS, leaseClientBurst, nil
	leases, err := coordinationclient.NewForConfig(leaseCfg)
	if err != nil {
		return nil, fmt.Errorf("background audit lease client: %w", err)
	}
	auditor := backgroundaudit.New(c, policies, backgroundaudit.Options{
		Interval: o.BackgroundAuditInterval,
		Logger:   log.WithName("background-audit"),
		Recorder: metrics.BackgroundAuditRecorder{},
	})
	election := &backgroundaudit.Election{Leases: leases, Namespace: namespace}
	return func(ctx context.Context) error { return auditor.Start(ctx, election) }, nil
}
