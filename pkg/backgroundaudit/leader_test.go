package backgroundaudit

import (
	"context"
	"errors"
	"testing"
	"time"

	kubefake "k8s.io/client-go/kubernetes/fake"
)

func TestOneReplicaAtATimeRunsTheAudit(t *testing.T) {
	leases := kubefake.NewClientset().CoordinationV1()
	type replica struct {
		a      *Auditor
		rec    *recorder
		cancel context.CancelFunc
		done   chan error
	}
	start := func(identity string) *replica {
		a, _, rec, _ := newAuditor(t, pod("shop", "storefront", publicImage))
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{a: a, rec: rec, cancel: cancel, done: make(chan error, 1)}
		go func() {
			r.done <- a.Start(ctx, &Election{
				Leases: leases, Namespace: "privateguard", Identity: identity,
				LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
			})
		}()
		return r
	}
	waitForPass := func(r *replica, name string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if n, _ := r.rec.count(); n > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s ran no pass within 10s", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	first := start("replica-1")
	waitForPass(first, "the first replica")
	second := start("replica-2")
	time.Sleep(3 * time.Second) // longer than the lease
	if n, _ := second.rec.count(); n != 0 {
		_, leading := first.rec.count()
		t.Fatalf("the second replica ran %d passes while the first held the lease (the first's leading: %v)", n, leading)
	}

	// The first stops (SIGTERM): it releases the lease, the second takes over.
	first.cancel()
	if err := <-first.done; err != nil {
		t.Fatalf("Start returned %v, want nil after the context ended", err)
	}
	if _, leading := first.rec.count(); len(leading) != 2 || !leading[0] || leading[1] {
		t.Errorf("the first replica recorded leading %v, want [true false]", leading)
	}
	waitForPass(second, "the second replica, once the first released the lease")
	second.cancel()
	<-second.done
}

func TestStartNeedsTheLeaseNamespace(t *testing.T) {
	a, _, _, _ := newAuditor(t)
	err := a.Start(context.Background(), &Election{Leases: kubefake.NewClientset().CoordinationV1()})
	if !errors.Is(err, ErrNoLeaseNamespace) {
		t.Errorf("Start without a namespace: %v, want ErrNoLeaseNamespace", err)
	}
}
