package server

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig is the Kubernetes client configuration: the kubeconfig file if given, else
// the in-cluster one.
func restConfig(kubeconfig, version string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration (give --kubeconfig, or --service-accounts=false to run without a cluster): %w", err)
	}
	cfg.UserAgent = "privateguard/" + version
	// Lookups are one list and watch, plus a GET per cache miss.
	cfg.QPS, cfg.Burst = 20, 40
	return cfg, nil
}
