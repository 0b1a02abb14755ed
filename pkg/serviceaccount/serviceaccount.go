// Package serviceaccount answers the one question the admission handlers ask the cluster:
// is a pod's service account an IRSA one (annotated eks.amazonaws.com/role-arn)? The
// policy engine decides from that fact and never calls the API server itself.
package serviceaccount

import (
	"context"

	"github.com/privateguard/privateguard/pkg/policy"
)

// ServiceAccounts tells whether a service account is set up for IAM roles for service
// accounts (IRSA).
type ServiceAccounts interface {
	// Lookup returns what the annotations of the service account namespace/name say, as
	// policy.ServiceAccountFacts reads them. A service account that does not exist is not
	// IRSA: (Facts{}, nil). An error means the answer is unknown.
	Lookup(ctx context.Context, namespace, name string) (Facts, error)
}

// Facts are what a service account's annotations say.
type Facts struct {
	// IRSA: a non-empty eks.amazonaws.com/role-arn.
	IRSA bool
	// RegionalOptOut: eks.amazonaws.com/sts-regional-endpoints: "false".
	RegionalOptOut bool
}

// factsOf reads a service account's annotations.
func factsOf(annotations map[string]string) Facts {
	irsa, optOut := policy.ServiceAccountFacts(annotations)
	return Facts{IRSA: irsa, RegionalOptOut: optOut}
}
