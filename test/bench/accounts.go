package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/privateguard/privateguard/test/framework"
)

// fill creates namespaces prefix-00 … prefix-(namespaces-1), then n objects with 16
// concurrent clients: create makes object i in namespace ns. It returns the first error.
func fill(ctx context.Context, cp *framework.ControlPlane, prefix string, namespaces, n int,
	create func(ctx context.Context, cs kubernetes.Interface, ns string, i int) error) error {
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	nsName := func(i int) string { return fmt.Sprintf("%s-%02d", prefix, i) }
	for i := 0; i < namespaces; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := create(ctx, cs, nsName(i%namespaces), i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// createServiceAccounts creates n service accounts across 50 namespaces, one in ten
// annotated for IRSA.
func createServiceAccounts(ctx context.Context, cp *framework.ControlPlane, n int) error {
	return fill(ctx, cp, "team", 50, n, func(ctx context.Context, cs kubernetes.Interface, ns string, i int) error {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%06d", i)}}
		if i%10 == 0 {
			sa.Annotations = map[string]string{"eks.amazonaws.com/role-arn": fmt.Sprintf("arn:aws:iam::111122223333:role/app-%06d", i)}
		}
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service account %d: %w", i, err)
		}
		return nil
	})
}
