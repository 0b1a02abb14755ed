package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/privateguard/privateguard/pkg/serviceaccount"
)

func TestErrorLinesAreRateLimitedPerCause(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{})
	limiter := newErrorLogLimiter(10 * time.Second)
	now := time.Now()
	limiter.now = func() time.Time { return now }
	log := limitErrors(base, limiter).WithValues("namespace", "shop")

	timeout := &serviceaccount.LookupError{Namespace: "shop", Name: "web", Cause: "timeout", Err: context.DeadlineExceeded}
	status := &serviceaccount.LookupError{Namespace: "shop", Name: "web", Cause: "api server answered 500 InternalError", Err: errors.New("x")}
	for range 100 {
		log.Error(timeout, "service account lookup failed")
		log.Error(status, "service account lookup failed")
	}
	log.Info("info lines are never limited")
	log.Info("info lines are never limited")
	if len(lines) != 4 {
		t.Fatalf("%d lines for 200 errors of 2 causes and 2 info lines, want 4:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	now = now.Add(11 * time.Second)
	log.Error(timeout, "service account lookup failed")
	if last := lines[len(lines)-1]; !strings.Contains(last, `"suppressed"=99`) {
		t.Errorf("the next line after the interval = %s, want it to count the 99 suppressed", last)
	}
}

// TestRateLimiterWaitsWithinTheBudget: with client-go's token bucket, a lookup whose
// place in the queue lies beyond its deadline fails at once ("would exceed context
// deadline"); here no wait fails before its context does.
func TestRateLimiterWaitsWithinTheBudget(t *testing.T) {
	for _, tt := range []struct {
		name      string
		limiter   flowcontrol.RateLimiter
		wantEarly bool
	}{
		{"client-go's token bucket fails waits early", flowcontrol.NewTokenBucketRateLimiter(50, 1), true},
		{"the waiting limiter never does", newWaitingRateLimiter(50, 1), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			var mu sync.Mutex
			early, ok := 0, 0
			var wg sync.WaitGroup
			for range 50 { // 1s of tokens for a 0.5s budget
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := tt.limiter.Wait(ctx)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case ctx.Err() == nil:
						early++
					}
				}()
			}
			wg.Wait()
			if (early > 0) != tt.wantEarly {
				t.Errorf("%d waits failed before the deadline (%d got a token), want early failures %v", early, ok, tt.wantEarly)
			}
		})
	}
}
