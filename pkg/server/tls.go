package server

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/privateguard/privateguard/pkg/metrics"
)

// tlsSettings configures the webhook port: TLS 1.2 at least, the certificate from
// the watcher (so a rotation takes effect at the next handshake), and HTTP/1.1 only
// unless HTTP/2 is enabled.
func tlsSettings(enableHTTP2 bool, getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)) func(*tls.Config) {
	return func(c *tls.Config) {
		c.MinVersion = tls.VersionTLS12
		c.GetCertificate = getCertificate
		if enableHTTP2 {
			c.NextProtos = []string{"h2", "http/1.1"}
		} else {
			c.NextProtos = []string{"http/1.1"}
		}
	}
}

// observeCertificate sets the expiry metric of the serving certificate, at its loading
// and at each rotation.
func observeCertificate(cert tls.Certificate) {
	leaf := cert.Leaf
	if leaf == nil && len(cert.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	if leaf != nil {
		metrics.CertificateExpiry.Set(float64(leaf.NotAfter.Unix()))
	}
}
