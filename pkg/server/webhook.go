package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// webhookServer serves the admission endpoints over TLS with its own http.Server rather
// than controller-runtime's webhook.Server, which sets no read or idle timeouts and
// shuts down the moment its context ends: a client trickling a body could hold a
// connection (and its buffer) forever, and a restart would refuse connections while the
// Service still sent them here.
type webhookServer struct {
	listener        net.Listener
	server          *http.Server
	shutdownTimeout time.Duration
	serving         atomic.Bool
}

// newWebhookServer listens on addr at once, so that a taken port fails start-up.
func newWebhookServer(addr string, handler http.Handler, tlsConfig *tls.Config, o Options) (*webhookServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook server: %w", err)
	}
	s := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		// The answer must be written before the API server gives up (30s at most); the
		// margin covers a request that waited in the queue.
		WriteTimeout:   o.ReadTimeout + 10*time.Second,
		IdleTimeout:    o.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
	}
	if !o.EnableHTTP2 {
		// A non-nil empty map keeps net/http from configuring HTTP/2 by itself.
		s.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	return &webhookServer{listener: l, server: s, shutdownTimeout: o.ShutdownTimeout}, nil
}

// drain makes every answer from now on close its connection, and closes idle ones, so
// that the API server's next calls open new connections, which the Service sends to
// other replicas once this one is out of its endpoints.
func (s *webhookServer) drain() { s.server.SetKeepAlivesEnabled(false) }

// Start serves until ctx is done, then stops accepting connections, waits up to the
// shutdown timeout for in-flight requests and cuts what is still open.
func (s *webhookServer) Start(ctx context.Context) error {
	errc := make(chan error, 1)
	s.serving.Store(true)
	go func() { errc <- s.server.ServeTLS(s.listener, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("webhook server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	if err := s.server.Shutdown(shutdownCtx); err != nil {
		_ = s.server.Close() // a client that never finishes its request
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webhook server: %w", err)
	}
	return nil
}

// ready checks that the webhook port answers a TLS handshake with the current
// certificate, as controller-runtime's StartedChecker does.
func (s *webhookServer) ready(*http.Request) error {
	if !s.serving.Load() {
		return errors.New("webhook server not started yet")
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", s.listener.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only the handshake is checked
	if err != nil {
		return fmt.Errorf("webhook server not reachable: %w", err)
	}
	return conn.Close()
}
