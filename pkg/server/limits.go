package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/privateguard/privateguard/pkg/metrics"
)

// Limits bound the memory admission requests can hold at once. A request costs several
// times its body while it is read, decoded, judged and answered, so the bound is on the
// bodies in flight: every request reserves its Content-Length (the maximum when the
// length is not announced) before a byte of its body is read, and gives it back when it
// is answered. Small requests, which is what the API server sends for nearly every pod,
// and large ones have pools of their own, so that a flood of large or stalled bodies
// never holds small ones up: small ones count against MaxRequests, large ones against
// MaxLargeRequests and share LargeBytes.
type Limits struct {
	// MaxBodyBytes is the largest body accepted. Default 7 MiB: controller-runtime's cap,
	// above Kubernetes' own 3 MiB limit on an object in etcd, so any real object fits.
	MaxBodyBytes int64
	// SmallBodyBytes is the largest body that is not "large". Default 128 KiB: a pod
	// with dozens of containers and long env lists is well below it.
	SmallBodyBytes int64
	// LargeBytes is the sum of the bodies of large requests in flight. Default 16 MiB:
	// two maximum-size reviews at once.
	LargeBytes int64
	// MaxRequests is the number of small requests in flight. Default 64.
	MaxRequests int64
	// MaxLargeRequests is the number of large requests in flight, whatever their size.
	// Default 16.
	MaxLargeRequests int64
	// QueueWait is how long a request waits for room before it is refused with 429.
	// Default 1s: a burst of large objects is served in turn, a client that holds its
	// share does not hold up the others for longer.
	QueueWait time.Duration
}

// DefaultLimits are the Limits of `privateguard serve`. Sized for the chart's memory
// limit (see its values.yaml): 16 MiB of large bodies plus 64 small ones (8 MiB at most)
// stay well below the GOMEMLIMIT it sets.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:     7 << 20,
		SmallBodyBytes:   128 << 10,
		LargeBytes:       16 << 20,
		MaxRequests:      64,
		MaxLargeRequests: 16,
		QueueWait:        time.Second,
	}
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.SmallBodyBytes <= 0 {
		l.SmallBodyBytes = d.SmallBodyBytes
	}
	if l.LargeBytes <= 0 {
		l.LargeBytes = d.LargeBytes
	}
	if l.LargeBytes < l.MaxBodyBytes {
		l.LargeBytes = l.MaxBodyBytes // a maximum-size body must be able to pass alone
	}
	if l.MaxRequests <= 0 {
		l.MaxRequests = d.MaxRequests
	}
	if l.MaxLargeRequests <= 0 {
		l.MaxLargeRequests = d.MaxLargeRequests
	}
	if l.QueueWait <= 0 {
		l.QueueWait = d.QueueWait
	}
	return l
}

// limiter enforces Limits in front of the admission endpoints.
type limiter struct {
	limits        Limits
	requests      *semaphore.Weighted // small requests
	largeRequests *semaphore.Weighted
	largeBytes    *semaphore.Weighted
}

func newLimiter(l Limits) *limiter {
	l = l.withDefaults()
	return &limiter{limits: l, requests: semaphore.NewWeighted(l.MaxRequests),
		largeRequests: semaphore.NewWeighted(l.MaxLargeRequests), largeBytes: semaphore.NewWeighted(l.LargeBytes)}
}

// wrap refuses what would exceed the limits before its body is read: 413 for a body
// announced larger than MaxBodyBytes, 429 when there is no room within QueueWait. The
// API server treats either as the webhook failing (the failure policy decides), which is
// what a flood deserves; a well-behaved request waits its turn instead. A body that does
// not announce its length is cut at MaxBodyBytes as it streams in.
func (l *limiter) wrap(webhookName string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > l.limits.MaxBodyBytes {
			refused(webhookName, metrics.RefusedTooLarge)
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("request body of %d bytes is too large; the limit is %d bytes", r.ContentLength, l.limits.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		size := r.ContentLength
		if size < 0 {
			size = l.limits.MaxBodyBytes
		}
		ctx, cancel := context.WithTimeout(r.Context(), l.limits.QueueWait)
		defer cancel()
		if size > l.limits.SmallBodyBytes {
			if err := l.largeRequests.Acquire(ctx, 1); err != nil {
				l.busy(w, webhookName)
				return
			}
			defer l.largeRequests.Release(1)
			if err := l.largeBytes.Acquire(ctx, size); err != nil {
				l.busy(w, webhookName)
				return
			}
			defer l.largeBytes.Release(size)
		} else {
			if err := l.requests.Acquire(ctx, 1); err != nil {
				l.busy(w, webhookName)
				return
			}
			defer l.requests.Release(1)
		}
		if r.Body != nil && r.Body != http.NoBody { // the handler tells an empty body by NoBody
			r.Body = &closeOnReadError{ReadCloser: http.MaxBytesReader(w, r.Body, size), w: w}
		}
		next.ServeHTTP(w, r)
	})
}

// busy answers 429 and closes the connection: its unread body is not worth draining.
func (l *limiter) busy(w http.ResponseWriter, webhookName string) {
	refused(webhookName, metrics.RefusedBusy)
	w.Header().Set("Connection", "close")
	w.Header().Set("Retry-After", "1")
	http.Error(w, "too many admission requests in flight; retry", http.StatusTooManyRequests)
}

// refused counts a request refused before its body was read, also as an admission
// error of kind and operation "other", like every other request the handler never saw.
func refused(webhookName, reason string) {
	metrics.RequestsRefused.WithLabelValues(webhookName, reason).Inc()
	metrics.AdmissionRequests.WithLabelValues(webhookName, metrics.OtherLabel, metrics.OtherLabel, metrics.ResultError).Inc()
}

// closeOnReadError makes the answer to a request whose body could not be read (the read
// timeout, a body over its announced size) close the connection: otherwise net/http
// keeps it, and reads what the client trickles on as the next request.
type closeOnReadError struct {
	io.ReadCloser
	w http.ResponseWriter
}

func (b *closeOnReadError) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.w.Header().Set("Connection", "close")
	}
	return n, err
}
