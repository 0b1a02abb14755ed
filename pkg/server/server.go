// Package server runs `privateguard serve`: the admission webhook server (POST /mutate
// and /validate over TLS), the metrics endpoint, the health probes, the policy file
// watch and, unless turned off, the service-account cache.
//
// It uses controller-runtime's pieces — webhook.Server, certwatcher, the metrics server
// and healthz — but not a manager: a manager needs a Kubernetes configuration, and
// --service-accounts=false must start with none and make no connection. Run starts each
// piece as a goroutine of one errgroup instead; the first to fail stops the others.
//
// Shutdown (the context is cancelled, on SIGTERM) stops taking connections and lets
// in-flight admission requests finish (up to a minute, controller-runtime's bound).
package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/metadata"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	padmission "github.com/privateguard/privateguard/pkg/admission"
	"github.com/privateguard/privateguard/pkg/metrics"
	"github.com/privateguard/privateguard/pkg/policywatch"
	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

// The webhook endpoints on the TLS port.
const (
	MutatePath   = "/mutate"
	ValidatePath = "/validate"
)

// The files of the serving certificate in Options.CertDir.
const (
	CertName = "tls.crt"
	KeyName  = "tls.key"
)

// Run serves until ctx is done, then shuts down gracefully and returns nil. It returns an
// error at once when the options, the policy file, the certificate or the Kubernetes
// configuration are bad, or later when a server fails (a port taken).
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	log := o.Logger
	if log.GetSink() == nil {
		log = logf.Log.WithName("privateguard")
	}

	policies, err := policywatch.New(o.ConfigFile, policywatch.Options{Interval: o.ConfigPollInterval, Logger: log.WithName("policy")})
	if err != nil {
		return err
	}
	certs, err := certwatcher.New(filepath.Join(o.CertDir, CertName), filepath.Join(o.CertDir, KeyName))
	if err != nil {
		return fmt.Errorf("load the serving certificate from %s: %w", o.CertDir, err)
	}
	if o.CertPollInterval > 0 {
		certs = certs.WithWatchInterval(o.CertPollInterval)
	}

	var runnables []func(context.Context) error
	ready := map[string]healthz.Checker{}

	sas := o.ServiceAccountLookup
	var classes padmission.IngressClassLookup
	if sas == nil && o.ServiceAccounts {
		cfg, err := restConfig(o.Kubeconfig, o.Version)
		if err != nil {
			return err
		}
		client, err := metadata.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("kubernetes metadata client: %w", err)
		}
		cache := serviceaccount.NewCache(client, serviceaccount.CacheOptions{})
		sas = cache
		runnables = append(runnables, cache.Start, func(ctx context.Context) error {
			releaseListMemory(ctx, cache.HasSynced)
			return nil
		})
		ingressClasses, err := newIngressClassCache(cfg)
		if err != nil {
			return err
		}
		classes = ingressClasses
		runnables = append(runnables, ingressClasses.Start)
		ready["service-accounts"] = func(*http.Request) error {
			if !cache.HasSynced() {
				return fmt.Errorf("service-account cache not synced yet")
			}
			return nil
		}
	}

	hooks := webhook.NewServer(webhook.Options{
		Host:    o.Host,
		Port:    o.Port,
		CertDir: o.CertDir,
		TLSOpts: []func(*tls.Config){tlsSettings(o.EnableHTTP2, certs.GetCertificate)},
	})
	hooks.Register(MutatePath, admissionEndpoint(metrics.WebhookMutate,
		&padmission.Mutator{Sources: padmission.Sources{Policies: policies, ServiceAccounts: sas, IngressClasses: classes}}, log.WithName(metrics.WebhookMutate)))
	hooks.Register(ValidatePath, admissionEndpoint(metrics.WebhookValidate,
		&padmission.Validator{Sources: padmission.Sources{Policies: policies, ServiceAccounts: sas, IngressClasses: classes}}, log.WithName(metrics.WebhookValidate)))
	ready["webhook"] = hooks.StartedChecker()
	runnables = append(runnables, policies.Start, certs.Start, hooks.Start)

	if o.MetricsBindAddress != "0" {
		metricsServer, err := metricsserver.NewServer(metricsserver.Options{BindAddress: o.MetricsBindAddress}, nil, nil)
		if err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		runnables = append(runnables, metricsServer.Start)
	}
	if o.HealthProbeBindAddress != "0" {
		health, err := newHealthServer(o.HealthProbeBindAddress, ready)
		if err != nil {
			return err
		}
		runnables = append(runnables, health.Start)
	}

	log.Info("starting", "version", o.Version, "port", o.Port, "config", o.ConfigFile,
		"serviceAccounts", sas != nil, "region", policies.Current().Region())
	g, gctx := errgroup.WithContext(ctx)
	for _, run := range runnables {
		g.Go(func() error { return run(gctx) })
	}
	start := time.Now()
	err = g.Wait()
	log.Info("stopped", "after", time.Since(start).Round(time.Second).String())
	return err
}
