// Package server runs `privateguard serve`: the admission webhook server (POST /mutate
// and /validate over TLS), the metrics endpoint, the health probes, the policy file
// watch, unless turned off the service-account cache, and when asked the background audit
// (pkg/backgroundaudit).
//
// It uses controller-runtime's pieces — the admission types, certwatcher, the metrics
// server and healthz — but not a manager: a manager needs a Kubernetes configuration, and
// --service-accounts=false must start with none and make no connection. Run starts each
// piece as a goroutine of one errgroup instead; the first to fail stops the others.
//
// The webhook port is served by its own http.Server (see webhookServer) with read and
// idle timeouts and, in front of the handlers, limits on what requests may hold in
// memory (see Limits).
//
// Shutdown (the context is cancelled, on SIGTERM) drains: /readyz fails at once while the
// webhook keeps serving for Options.ShutdownDelay, so that the Service stops sending
// requests here before the port closes; then the port closes, in-flight requests get
// Options.ShutdownTimeout to finish, and what is still open is cut.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/metadata"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

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
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
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
	certs.RegisterCallback(observeCertificate)

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
		cacheOpts := o.ServiceAccountCache
		if cacheOpts.Logger.GetSink() == nil {
			cacheOpts.Logger = log.WithName("service-accounts")
		}
		cache := serviceaccount.NewCache(client, cacheOpts)
		sas = cache
		runnables = append(runnables, cache.Start)
		ready["service-accounts"] = cache.Ready
		ingressClasses, err := newIngressClassCache(cfg)
		if err != nil {
			return err
		}
		classes = ingressClasses
		runnables = append(runnables, ingressClasses.Start)
	}
	if o.BackgroundAuditInterval > 0 {
		backgroundAudit, err := newBackgroundAudit(&o, policies, log)
		if err != nil {
			return err
		}
		runnables = append(runnables, backgroundAudit)
	}
	sources := padmission.Sources{Policies: policies, ServiceAccounts: sas, IngressClasses: classes}

	errorLogs := newErrorLogLimiter(errorLogInterval)
	limits := newLimiter(o.Limits)
	mux := http.NewServeMux()
	mux.Handle(MutatePath, limits.wrap(metrics.WebhookMutate, admissionEndpoint(metrics.WebhookMutate,
		&padmission.Mutator{Sources: sources}, log.WithName(metrics.WebhookMutate), errorLogs)))
	mux.Handle(ValidatePath, limits.wrap(metrics.WebhookValidate, admissionEndpoint(metrics.WebhookValidate,
		&padmission.Validator{Sources: sources}, log.WithName(metrics.WebhookValidate), errorLogs)))
	tlsConfig := &tls.Config{}
	tlsSettings(o.EnableHTTP2, certs.GetCertificate)(tlsConfig)
	hooks, err := newWebhookServer(net.JoinHostPort(o.Host, strconv.Itoa(o.Port)), mux, tlsConfig, o)
	if err != nil {
		return err
	}
	ready["webhook"] = hooks.ready
	var draining atomic.Bool
	ready["shutdown"] = func(*http.Request) error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}
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
	// Everything runs on until the drain below ends it, not when ctx ends: the webhook
	// keeps answering (with the policy watch and the lookups behind it) during the delay.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	g, gctx := errgroup.WithContext(runCtx)
	for _, run := range runnables {
		g.Go(func() error { return run(gctx) })
	}
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case <-ctx.Done():
		}
		draining.Store(true)
		hooks.drain()
		log.Info("shutting down: not ready, serving for the shutdown delay", "delay", o.ShutdownDelay.String())
		delay := time.NewTimer(o.ShutdownDelay)
		defer delay.Stop()
		select {
		case <-gctx.Done():
		case <-delay.C:
		}
		log.Info("closing the webhook port; in-flight requests finish", "timeout", o.ShutdownTimeout.String())
		stop()
		return nil
	})
	start := time.Now()
	err = g.Wait()
	log.Info("stopped", "after", time.Since(start).Round(time.Second).String())
	return err
}

// errorLogInterval is how often one cause of request errors is logged.
const errorLogInterval = 10 * time.Second
