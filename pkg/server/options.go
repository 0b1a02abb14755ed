package server

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

// Options configure `privateguard serve`. Start from DefaultOptions: each field documents
// its flag and its default there. Flags override; there is no other configuration source.
type Options struct {
	// ConfigFile is the policy file (--config). Required. It is watched and reloaded on
	// change; a bad file at start-up makes Run fail.
	ConfigFile string
	// CertDir holds the serving certificate tls.crt and its key tls.key (--cert-dir),
	// reloaded on rotation. Default /tmp/k8s-webhook-server/serving-certs,
	// controller-runtime's default.
	CertDir string
	// Host is the address the webhook server listens on (--host). Default "" (every
	// interface): in a pod every interface is the pod's own.
	Host string
	// Port of the webhook server, HTTPS (--port). Default 9443.
	Port int
	// MetricsBindAddress serves Prometheus metrics at /metrics, plain HTTP
	// (--metrics-bind-address). Default ":8080"; "0" turns it off.
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz, plain HTTP
	// (--health-probe-bind-address). Default ":8081"; "0" turns it off.
	HealthProbeBindAddress string
	// Kubeconfig is the kubeconfig file for service-account lookups (--kubeconfig).
	// Default "": the in-cluster configuration.
	Kubeconfig string
	// ServiceAccounts looks up each pod's service account to tell IRSA pods
	// (--service-accounts). Default true. False makes no Kubernetes connection at all:
	// IRSA is judged from the pod's env alone, and no kubeconfig is needed.
	ServiceAccounts bool
	// BackgroundAuditInterval runs the background audit every interval
	// (--background-audit-interval): one replica at a time judges the cluster and writes
	// OpenReports Reports (see pkg/backgroundaudit). Default 0: off. It needs a
	// Kubernetes connection, so not ServiceAccounts=false.
	BackgroundAuditInterval time.Duration
	// BackgroundAuditNamespace is the namespace of the background audit's Lease
	// (--background-audit-namespace). Default "": $POD_NAMESPACE.
	BackgroundAuditNamespace string
	// EnableHTTP2 offers HTTP/2 on the webhook port (--enable-http2). Default false: the
	// API server calls webhooks over HTTP/1.1 anyway, and HTTP/2 brings the rapid-reset
	// and stream-cancellation attacks (CVE-2023-44487, CVE-2023-39325) for no gain.
	EnableHTTP2 bool

	// ShutdownDelay is how long the webhook keeps serving after SIGTERM while /readyz
	// fails, so that the Service's endpoints move away before the port closes
	// (--shutdown-delay). Default 10s. In-flight requests then get ShutdownTimeout more:
	// the process is gone within the delay + 15s.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests once the port is closed;
	// connections still open then (a stalled client) are cut. Default 14s, leaving a
	// second of the 15 for the rest of the exit. No flag.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout is how long a client may take to send a request's headers
	// (--read-header-timeout). Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a client may take to send a whole request, headers and body
	// (--read-timeout). Default 30s: the API server never waits longer for an answer.
	ReadTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long (--idle-timeout).
	// Default 90s, the API server's own idle timeout for webhook connections.
	IdleTimeout time.Duration
	// Limits bound what admission requests may hold in memory at once. Default
	// DefaultLimits. No flags: they are sized with the chart's memory limit.
	Limits Limits

	// ConfigPollInterval is how often the policy file is read for changes. Default 2s.
	ConfigPollInterval time.Duration
	// CertPollInterval is how often the certificate is re-read, on top of the file
	// notifications that normally catch a rotation. Default 10s.
	CertPollInterval time.Duration
	// Logger logs the server's life and every request. Default: controller-runtime's
	// logger (pkg/log.Log).
	Logger logr.Logger
	// Version is reported in the start-up log line and the Kubernetes client's user agent.
	Version string
	// ServiceAccountLookup, when set, replaces the cache that ServiceAccounts would build:
	// for embedding and tests. Default nil.
	ServiceAccountLookup serviceaccount.ServiceAccounts
	// ServiceAccountCache tunes the cache that ServiceAccounts builds (budgets,
	// sync grace, watch restarts): for embedding and tests. The zero value gives the
	// cache's defaults.
	ServiceAccountCache serviceaccount.CacheOptions
}

// Defaults of Options.
const (
	DefaultCertDir                = "/tmp/k8s-webhook-server/serving-certs"
	DefaultPort                   = 9443
	DefaultMetricsBindAddress     = ":8080"
	DefaultHealthProbeBindAddress = ":8081"
	DefaultConfigPollInterval     = 2 * time.Second
	DefaultCertPollInterval       = 10 * time.Second
	DefaultShutdownDelay          = 10 * time.Second
	DefaultShutdownTimeout        = 14 * time.Second
	DefaultReadHeaderTimeout      = 10 * time.Second
	DefaultReadTimeout            = 30 * time.Second
	DefaultIdleTimeout            = 90 * time.Second
)

// DefaultOptions are the options of `privateguard serve` with no flag given.
func DefaultOptions() Options {
	return Options{
		CertDir:                DefaultCertDir,
		Port:                   DefaultPort,
		MetricsBindAddress:     DefaultMetricsBindAddress,
		HealthProbeBindAddress: DefaultHealthProbeBindAddress,
		ServiceAccounts:        true,
		ConfigPollInterval:     DefaultConfigPollInterval,
		CertPollInterval:       DefaultCertPollInterval,
		ShutdownDelay:          DefaultShutdownDelay,
		ShutdownTimeout:        DefaultShutdownTimeout,
		ReadHeaderTimeout:      DefaultReadHeaderTimeout,
		ReadTimeout:            DefaultReadTimeout,
		IdleTimeout:            DefaultIdleTimeout,
		Limits:                 DefaultLimits(),
	}
}

// BindFlags defines the flags of `privateguard serve` on fs, with o's values as defaults.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.ConfigFile, "config", o.ConfigFile,
		"policy file (YAML or JSON); watched and reloaded on change, a bad new file is rejected and the last good policy kept")
	fs.StringVar(&o.CertDir, "cert-dir", o.CertDir,
		"directory holding the serving certificate tls.crt and key tls.key; reloaded on rotation")
	fs.IntVar(&o.Port, "port", o.Port, "port of the webhook server (HTTPS): POST /mutate and /validate")
	fs.StringVar(&o.Host, "host", o.Host, "address the webhook server listens on; empty: every interface")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress,
		"address of the Prometheus metrics endpoint /metrics; 0 disables it")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress,
		"address of the /healthz and /readyz probes; 0 disables them")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig,
		"kubeconfig file for service-account lookups; empty: the in-cluster configuration")
	fs.BoolVar(&o.ServiceAccounts, "service-accounts", o.ServiceAccounts,
		"look up pods' service accounts (IRSA) and Ingresses' IngressClasses (ALB); false makes no Kubernetes connection: IRSA is judged from the pod alone and only the class name alb counts")
	fs.DurationVar(&o.BackgroundAuditInterval, "background-audit-interval", o.BackgroundAuditInterval,
		"judge the cluster every interval and write OpenReports Reports (one replica at a time, by a Lease); 0 disables it")
	fs.StringVar(&o.BackgroundAuditNamespace, "background-audit-namespace", o.BackgroundAuditNamespace,
		"namespace of the background audit's Lease; empty: $POD_NAMESPACE")
	fs.BoolVar(&o.EnableHTTP2, "enable-http2", o.EnableHTTP2,
		"offer HTTP/2 on the webhook port (off by default: CVE-2023-44487)")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay", o.ShutdownDelay,
		"after SIGTERM, keep serving this long with /readyz failing before closing the port; the process exits at most 15s later")
	fs.DurationVar(&o.ReadHeaderTimeout, "read-header-timeout", o.ReadHeaderTimeout,
		"time a client may take to send a request's headers")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", o.ReadTimeout,
		"time a client may take to send a whole request, headers and body")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout,
		"close keep-alive connections idle this long")
}

// ErrNoConfig is returned by Run without Options.ConfigFile.
var ErrNoConfig = errors.New("--config is required: the policy file")

// validate checks what Run cannot default.
func (o *Options) validate() error {
	if o.ConfigFile == "" {
		return ErrNoConfig
	}
	if o.Port < 1 || o.Port > 65535 {
		return fmt.Errorf("--port %d: must be between 1 and 65535", o.Port)
	}
	if o.CertDir == "" {
		return errors.New("--cert-dir is required: the directory of tls.crt and tls.key")
	}
	if o.BackgroundAuditInterval > 0 && !o.ServiceAccounts {
		return errors.New("--background-audit-interval needs a Kubernetes connection: it cannot be used with --service-accounts=false")
	}
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"--shutdown-delay", o.ShutdownDelay}, {"--read-header-timeout", o.ReadHeaderTimeout}, {"--read-timeout", o.ReadTimeout}, {"--idle-timeout", o.IdleTimeout}, {"--background-audit-interval", o.BackgroundAuditInterval}} {
		if d.value < 0 {
			return fmt.Errorf("%s %s: must not be negative", d.flag, d.value)
		}
	}
	return nil
}
