package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// healthServer serves /healthz (the process answers) and /readyz (it can take
// admission requests: the webhook port answers TLS, the service-account cache has
// synced), as a controller-runtime manager would, without needing one: a manager needs
// a Kubernetes configuration, which --service-accounts=false must not.
type healthServer struct {
	listener net.Listener
	server   *http.Server
}

// newHealthServer listens on addr at once, so that a taken port fails start-up.
func newHealthServer(addr string, ready map[string]healthz.Checker) (*healthServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health probes: %w", err)
	}
	live := &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}
	readyz := &healthz.Handler{Checks: ready}
	mux := http.NewServeMux()
	// healthz.Handler serves /<check> below its prefix too (/readyz/service-accounts).
	mux.Handle("/healthz", http.StripPrefix("/healthz", live))
	mux.Handle("/healthz/", http.StripPrefix("/healthz", live))
	mux.Handle("/readyz", http.StripPrefix("/readyz", readyz))
	mux.Handle("/readyz/", http.StripPrefix("/readyz", readyz))
	return &healthServer{
		listener: l,
		server:   &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
	}, nil
}

// Start serves until ctx is done.
func (h *healthServer) Start(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.server.Shutdown(shutdownCtx)
	}()
	if err := h.server.Serve(h.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health probes: %w", err)
	}
	<-done
	return nil
}
