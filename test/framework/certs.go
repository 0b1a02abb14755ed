package framework

import (
	"math/big"
	"sync/atomic"

	"github.com/privateguard/privateguard/internal/testcerts"
)

// CA is a certificate authority made for one run, for what runs the webhook without
// cert-manager (`make bench`): it signs serving certificates for 127.0.0.1. The e2e suite
// and the demo use the certificate cert-manager issues instead.
type CA struct{ *testcerts.CA }

// NewCA makes a CA valid for a day.
func NewCA() (*CA, error) {
	ca, err := testcerts.NewCA()
	if err != nil {
		return nil, err
	}
	return &CA{ca}, nil
}

// serial numbers the certificates of one run.
var serial atomic.Int64

// WriteServingCert writes tls.crt and tls.key for 127.0.0.1 into dir the way a kubelet
// updates a mounted Secret (testcerts.WriteVolume). It returns the certificate's serial
// number, so a test can tell which certificate a server presents.
func (ca *CA) WriteServingCert(dir string) (*big.Int, error) {
	n := serial.Add(1) + 1
	crt, key, err := ca.ServingCert(n)
	if err != nil {
		return nil, err
	}
	if err := testcerts.WriteVolume(dir, map[string][]byte{"tls.crt": crt, "tls.key": key}); err != nil {
		return nil, err
	}
	return big.NewInt(n), nil
}
