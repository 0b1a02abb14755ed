package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// LookupError is a failed service-account lookup: the answer is unknown. Its message is
// one short line (what failed, and why in a few words) because it is logged on the
// admission path, where an API server brownout makes every request fail the same way;
// the error it wraps keeps the details.
type LookupError struct {
	Namespace, Name string
	// Cause says why in a few words, the same for every lookup failing the same way:
	// "timeout", "api server unreachable", "api server answered 500 InternalError", ...
	Cause string
	Err   error
}

func newLookupError(namespace, name string, err error) *LookupError {
	return &LookupError{Namespace: namespace, Name: name, Cause: causeOf(err), Err: err}
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("look up service account %s/%s: %s", e.Namespace, e.Name, e.Cause)
}

func (e *LookupError) Unwrap() error { return e.Err }

// causeOf classifies a client error into a short, stable cause.
func causeOf(err error) string {
	var status apierrors.APIStatus
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &status):
		s := status.Status()
		return fmt.Sprintf("api server answered %d %s", s.Code, s.Reason)
	case errors.As(err, &netErr):
		if netErr.Timeout() {
			return "timeout"
		}
		return "api server unreachable"
	}
	return "error"
}
