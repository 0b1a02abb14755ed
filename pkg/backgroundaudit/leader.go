package backgroundaudit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// DefaultLeaseName is the name of the Lease that elects the replica running the audit.
const DefaultLeaseName = "privateguard-background-audit"

// The Lease's timing, client-go's usual: a replica that dies without releasing the Lease
// (a node lost) is replaced within LeaseDuration.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Election says which Lease elects the replica running the audit.
type Election struct {
	// Leases is the client of the Lease's namespace.
	Leases coordinationv1client.LeasesGetter
	// Namespace and Name of the Lease. Name defaults to DefaultLeaseName.
	Namespace, Name string
	// Identity of this replica in the Lease. Default: the host name (the pod's name)
	// and a random suffix, so that a restarted pod is a new holder.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod default to DefaultLeaseDuration,
	// DefaultRenewDeadline and DefaultRetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// ErrNoLeaseNamespace is returned by Start without the Lease's namespace.
var ErrNoLeaseNamespace = errors.New("the background audit's Lease needs a namespace: " +
	"give --background-audit-namespace or set POD_NAMESPACE")

// Start runs a pass every Interval while this replica holds the Lease, until ctx is
// done; then it releases the Lease. Without election (nil), every call runs passes: for
// tests and single-replica embedding. Start returns an error only for bad options: a pass
// that fails is logged and recorded, never a reason for the server to stop.
func (a *Auditor) Start(ctx context.Context, election *Election) error {
	if a.opts.Interval <= 0 {
		return errors.New("the background audit needs an interval above zero")
	}
	if election == nil {
		a.lead(ctx)
		return nil
	}
	config, err := a.electionConfig(election)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		var mu sync.Mutex
		var leading chan struct{} // closed when the passes of this term have stopped
		config.Callbacks = leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				done := make(chan struct{})
				mu.Lock()
				leading = done
				mu.Unlock()
				defer close(done)
				a.opts.Logger.Info("background audit: this replica holds the lease", "lease", election.Namespace+"/"+election.Name)
				if a.opts.Recorder != nil {
					a.opts.Recorder.ObserveLeading(true)
				}
				a.lead(ctx)
			},
			OnStoppedLeading: func() {
				if a.opts.Recorder != nil {
					a.opts.Recorder.ObserveLeading(false)
				}
			},
		}
		elector, err := leaderelection.NewLeaderElector(*config)
		if err != nil {
			return err
		}
		// Run returns when the lease is lost (or ctx is done); the pass in progress
		// stops with the context it was given. Wait for it, then stand again.
		elector.Run(ctx)
		mu.Lock()
		done := leading
		mu.Unlock()
		if done != nil {
			<-done
		}
		if ctx.Err() == nil {
			a.opts.Logger.Info("background audit: lost the lease, standing again")
		}
	}
	return nil
}

// electionConfig is the leader election of election, with its defaults.
func (a *Auditor) electionConfig(e *Election) (*leaderelection.LeaderElectionConfig, error) {
	if e.Namespace == "" {
		return nil, ErrNoLeaseNamespace
	}
	if e.Name == "" {
		e.Name = DefaultLeaseName
	}
	if e.Identity == "" {
		host, _ := os.Hostname()
		suffix := make([]byte, 4)
		_, _ = rand.Read(suffix)
		e.Identity = host + "_" + hex.EncodeToString(suffix)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&e.LeaseDuration, DefaultLeaseDuration)
	def(&e.RenewDeadline, DefaultRenewDeadline)
	def(&e.RetryPeriod, DefaultRetryPeriod)
	return &leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
			Client:     e.Leases,
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
		},
		LeaseDuration:   e.LeaseDuration,
		RenewDeadline:   e.RenewDeadline,
		RetryPeriod:     e.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            "privateguard-background-audit",
	}, nil
}

// lead runs a pass at once, then one every Interval, until ctx is done.
func (a *Auditor) lead(ctx context.Context) {
	ticker := a.opts.Clock.NewTicker(a.opts.Interval)
	defer ticker.Stop()
	for {
		_ = a.RunPass(ctx) // logged and recorded
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}
