// Package framework starts what privateguard's end-to-end suite, `make demo` and
// `make bench` run against: a real kube-apiserver and etcd (through controller-runtime's
// envtest), with cert-manager's CRDs installed; the real `privateguard serve` binary on
// 127.0.0.1 with a certificate made here; and the Helm chart rendered by the Helm SDK and
// applied to the API server, its webhook configurations pointed at the local webhook.
//
// Everything listens on loopback, every wait is bounded, and Stop removes the processes
// and temporary directories it started.
package framework
