package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newRegistry is a metrics registry with the Go runtime and process series.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serve listens on addr, calls listening with the bound address (addr may
// ask for port 0) and the URL scheme, serves h until ctx ends, then shuts
// down gracefully. With tc it serves HTTPS (HTTP/2 and HTTP/1.1); a plain
// HTTP request to it is answered 400 by the TLS server, never served.
func serve(ctx context.Context, addr string, tc *tls.Config, h http.Handler, log *slog.Logger, listening func(addr net.Addr, scheme string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, TLSConfig: tc,
		// A failed handshake (a certificate the client CA did not sign,
		// TLS 1.1) is the server's to log, not the request's: there is
		// none. Warn, so that a member who cannot connect can be told why.
		ErrorLog: slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	scheme := "http"
	if tc != nil {
		scheme = "https"
		go func() { served <- srv.ServeTLS(ln, "", "") }() // the certificate is in tc
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	listening(ln.Addr(), scheme)
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve %s: %w", addr, err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop serving %s: %w", addr, err)
	}
	return nil
}
