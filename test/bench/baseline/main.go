// Command baseline is an allow-all admission webhook on the same controller-runtime
// webhook server and TLS settings as privateguard serve: `make bench` measures
// privateguard against it, so the figures show what the policy costs on top of the
// decoding and serving every webhook pays.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func main() {
	port := flag.Int("port", 9443, "TLS port of /mutate and /validate")
	certDir := flag.String("cert-dir", "", "directory holding tls.crt and tls.key")
	health := flag.String("health-probe-bind-address", "127.0.0.1:8081", "address of /readyz")
	flag.Parse()

	srv := webhook.NewServer(webhook.Options{
		Host: "127.0.0.1", Port: *port, CertDir: *certDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS12
			c.NextProtos = []string{"http/1.1"}
		}},
	})
	// It decodes the pod, as any webhook that looks at pods must, and allows it.
	decoder := admission.NewDecoder(clientgoscheme.Scheme)
	allow := admission.HandlerFunc(func(_ context.Context, req admission.Request) admission.Response {
		var pod corev1.Pod
		if err := decoder.Decode(req, &pod); err != nil {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("decode pod: %w", err))
		}
		return admission.Allowed("")
	})
	srv.Register("/mutate", &admission.Webhook{Handler: allow})
	srv.Register("/validate", &admission.Webhook{Handler: allow})

	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		if err := http.ListenAndServe(*health, mux); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
