// Package framework starts what privateguard's end-to-end suite, `make demo` and
// `make bench` run against: a real kube-apiserver and etcd (through controller-runtime's
// envtest) with cert-manager's CRDs installed; real cert-manager (bin/cert-manager, its
// controllers and CA injector) issuing the chart's certificates; the chart installed,
// upgraded and uninstalled with the Helm SDK's actions, its webhook configurations pointed
// at the local webhook by a post-renderer; the real `privateguard serve` binary on
// 127.0.0.1 serving the certificate cert-manager wrote, kept in step with its Secret as a
// kubelet would; and real kubectl, so tests assert what a user sees.
//
// Everything listens on loopback, every wait is bounded, and Stop removes the processes
// and temporary directories it started.
package framework
