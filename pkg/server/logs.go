package server

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

// errorLogLimiter lets through one error line per message and cause per interval, and
// counts the rest into the next line's "suppressed". During an API server brownout every
// admission fails its service-account lookup the same way; one line every few seconds
// says so, and the metric (recorded before the log) counts them all.
type errorLogLimiter struct {
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	causes map[string]*causeState
}

type causeState struct {
	last       time.Time
	suppressed int
}

func newErrorLogLimiter(every time.Duration) *errorLogLimiter {
	return &errorLogLimiter{every: every, now: time.Now, causes: map[string]*causeState{}}
}

// allow reports whether a line for key may be written now, and how many were
// suppressed since the last one.
func (l *errorLogLimiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s, ok := l.causes[key]
	if !ok {
		if len(l.causes) > 1000 { // causes are few; never let odd errors grow the map
			clear(l.causes)
		}
		l.causes[key] = &causeState{last: now}
		return true, 0
	}
	if now.Sub(s.last) < l.every {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	return true, n
}

// errorCause names what an error is, for rate limiting: the lookup's cause when it is a
// service-account lookup error, else the error's type.
func errorCause(err error) string {
	var lookup *serviceaccount.LookupError
	if errors.As(err, &lookup) {
		return lookup.Cause
	}
	return fmt.Sprintf("%T", err)
}

// limitErrors returns log with its Error lines rate-limited by l. Info lines pass.
func limitErrors(log logr.Logger, l *errorLogLimiter) logr.Logger {
	sink := log.GetSink()
	if sink == nil {
		return log
	}
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		sink = cd.WithCallDepth(1) // the wrapper's own frame
	}
	return log.WithSink(&limitedSink{LogSink: sink, limiter: l})
}

type limitedSink struct {
	logr.LogSink
	limiter *errorLogLimiter
}

var _ logr.CallDepthLogSink = (*limitedSink)(nil)

func (s *limitedSink) Error(err error, msg string, kv ...any) {
	ok, suppressed := s.limiter.allow(msg + "\x00" + errorCause(err))
	if !ok {
		return
	}
	if suppressed > 0 {
		kv = append(kv, "suppressed", suppressed)
	}
	s.LogSink.Error(err, msg, kv...)
}

func (s *limitedSink) WithValues(kv ...any) logr.LogSink {
	return &limitedSink{LogSink: s.LogSink.WithValues(kv...), limiter: s.limiter}
}

func (s *limitedSink) WithName(name string) logr.LogSink {
	return &limitedSink{LogSink: s.LogSink.WithName(name), limiter: s.limiter}
}

// WithCallDepth keeps the caller's file and line right through the wrapper.
func (s *limitedSink) WithCallDepth(depth int) logr.LogSink {
	inner := s.LogSink
	if cd, ok := inner.(logr.CallDepthLogSink); ok {
		inner = cd.WithCallDepth(depth)
	}
	return &limitedSink{LogSink: inner, limiter: s.limiter}
}
