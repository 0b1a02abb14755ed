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

// createServiceAccounts creates n service accounts across 50 namespaces, one in ten
// annotated for IRSA, with 16 concurrent clients.
func createServiceAccounts(ctx context.Context, cp *framework.ControlPlane, n int) error {
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	const namespaces = 50
	for i := 0; i < namespaces; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("team-%02d", i)}}
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
				sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%06d", i)}}
				if i%10 == 0 {
					sa.Annotations = map[string]string{"eks.amazonaws.com/role-arn": fmt.Sprintf("arn:aws:iam::111122223333:role/app-%06d", i)}
				}
				if _, err := cs.CoreV1().ServiceAccounts(fmt.Sprintf("team-%02d", i%namespaces)).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("create service account %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
