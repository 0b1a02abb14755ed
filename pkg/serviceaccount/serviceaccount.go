// Package serviceaccount answers the one question the admission handlers ask the cluster:
// is a pod's service account an IRSA one (annotated eks.amazonaws.com/role-arn)? The
// policy engine decides from that fact and never calls the API server itself.
package serviceaccount

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// ServiceAccounts tells whether a service account is set up for IAM roles for service
// accounts (IRSA).
type ServiceAccounts interface {
	// IsIRSA reports whether the service account namespace/name carries the
	// eks.amazonaws.com/role-arn annotation. A service account that does not exist is not
	// IRSA: (false, nil). An error means the answer is unknown.
	IsIRSA(ctx context.Context, namespace, name string) (bool, error)
}

// DefaultName is the service account a pod runs as when it names none.
const DefaultName = "default"

// NameOf is the service account a pod spec runs as: spec.serviceAccountName, else default.
func NameOf(spec *corev1.PodSpec) string {
	if spec.ServiceAccountName != "" {
		return spec.ServiceAccountName
	}
	return DefaultName
}
