// Command cert-manager runs the parts of cert-manager that privateguard's chart relies on,
// in one process, against a kubeconfig: the controllers that take a Certificate from an
// Issuer to a Ready Secret (self-signed and CA issuers only) and the CA injector for
// validating and mutating webhook configurations. The end-to-end suite and `make demo`
// (SPEC §8) run it beside kube-apiserver and etcd, so the chart's TLS is issued, injected
// and renewed by real cert-manager code.
//
// It uses cert-manager's own packages, the way its integration tests do, because the
// module proxy does not serve the cmd/controller and cmd/cainjector binary modules. There
// is no leader election, no metrics server and no webhook: one copy runs per test API
// server, and cert-manager's CRDs are installed by the caller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	crapprover "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// The issuer types the Issuers controller can set up: the chart uses these two.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// controllers are the cert-manager controllers this program runs, by their registered
// names: Issuer readiness, the Certificate life cycle (trigger → key → request → issue →
// ready, old requests pruned), the approval cert-manager gives its own issuers, and the
// CA and self-signed signers.
var controllers = []string{
	issuers.ControllerName,
	trigger.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	issuing.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
	crapprover.ControllerName,
	crca.CRControllerName,
	crselfsigned.CRControllerName,
}

func main() {
	// Its own flag set: controller-runtime registers a --kubeconfig of its own on the
	// global one.
	flags := flag.NewFlagSet("cert-manager", flag.ExitOnError)
	kubeconfig := flags.String("kubeconfig", "", "kubeconfig of the API server to work against (required)")
	workers := flags.Int("workers", 2, "workers per controller")
	ownerRef := flags.Bool("enable-certificate-owner-ref", false,
		"make each Certificate the owner of its Secret, so the garbage collector deletes the Secret with the Certificate (cert-manager's flag of the same name)")
	klog.InitFlags(flags) // -v and friends; errors are logged at level 0
	flags.Parse(os.Args[1:])
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "cert-manager: --kubeconfig is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctrl.SetLogger(logf.Log)
	ctx = logf.NewContext(ctx, logf.Log)
	if err := run(ctx, *kubeconfig, *workers, *ownerRef); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager:", err)
		os.Exit(1)
	}
}

// run starts the controllers and the CA injector and returns when ctx ends or either
// fails.
func run(ctx context.Context, kubeconfig string, workers int, ownerRef bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(controllers)+1)

	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         kubeconfig,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		CertificateOptions: controllerpkg.CertificateOptions{
			EnableOwnerRef: ownerRef,
			// cert-manager's defaults: a failed request is retried after 1h, then longer.
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
	})
	if err != nil {
		return fmt.Errorf("controller context: %w", err)
	}
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	known := controllerpkg.Known()
	for _, name := range controllers {
		construct, ok := known[name]
		if !ok {
			return fmt.Errorf("controller %q is not registered", name)
		}
		c, err := construct(factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		go func() {
			if err := c.Run(workers, ctx); err != nil {
				errc <- fmt.Errorf("controller %s: %w", name, err)
			}
		}()
	}
	// The informers start once every controller has asked for its own.
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	defer shared.SharedInformerFactory.Shutdown()
	defer shared.KubeSharedInformerFactory.Shutdown()

	go func() {
		if err := runCAInjector(ctx, kubeconfig); err != nil {
			errc <- fmt.Errorf("ca injector: %w", err)
		}
	}()

	names := append([]string(nil), controllers...)
	sort.Strings(names)
	logf.Log.Info("running", "controllers", names, "cainjector", []string{
		cainjector.ValidatingWebhookConfigurationName, cainjector.MutatingWebhookConfigurationName})
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// runCAInjector fills the caBundle of validating and mutating webhook configurations
// annotated with cert-manager.io/inject-ca-from (or inject-ca-from-secret), as
// cert-manager's cainjector does, without leader election.
func runCAInjector(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "cert-manager-cainjector"
	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiext.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Cache:   cache.Options{ReaderFailOnMissingInformer: true},
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Secrets are read directly, never cached whole (their metadata is watched).
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.ValidatingWebhookConfigurationName: true,
			cainjector.MutatingWebhookConfigurationName:   true,
		},
	})
	if err != nil {
		return err
	}
	if err := mgr.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
